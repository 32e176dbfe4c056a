import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Resident memory of each processor run as production runs it: its own process, started by
 * processors/run.ts <name> against the local stack's live topics. The process is node itself
 * (tsx loaded with --import), not an npx/tsx wrapper, so /proc/<pid> is the processor's own.
 */
export interface RssResult {
  name: string;
  /** Max VmRSS of the last samples, MiB; undefined when the processor did not start. */
  mib?: number;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function vmRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves when the child logs "processors started" (runtime/host.ts), rejects if it exits first. */
function started(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`not started after ${timeoutMs} ms: ${tail.slice(-300)}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      if (tail.includes('processors started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before starting: ${tail.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts every processor at once (separate processes; METRICS_PORT=0 so their ops ports never
 * collide), lets them settle, samples VmRSS every second and keeps the max of the last samples.
 */
export async function processorRss(
  root: string,
  names: string[],
  opts = { settleMs: 10_000, samples: 10, everyMs: 1000 },
): Promise<RssResult[]> {
  const env = { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'info' };
  const runs = names.map((name) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'processors/run.ts'), name], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { name, child, ready: started(child, 120_000) };
  });
  try {
    return await Promise.all(
      runs.map(async ({ name, child, ready }): Promise<RssResult> => {
        try {
          await ready;
          await sleep(opts.settleMs);
          const samples: number[] = [];
          for (let i = 0; i < opts.samples; i++) {
            const kib = vmRssKiB(child.pid!);
            if (kib === undefined) throw new Error('exited while being sampled');
            samples.push(kib);
            await sleep(opts.everyMs);
          }
          return { name, mib: Math.max(...samples.slice(-5)) / 1024 };
        } catch (e) {
          return { name, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
  } finally {
    await Promise.all(runs.map((r) => stop(r.child)));
  }
}
