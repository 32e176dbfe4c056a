import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Processors of an isolated run (a TestPipeline's topics, groups, schemas and database), each in its
 * own child process (`worker.ts <run> <name>`), that can be killed and started again: the chaos suite
 * kills them with -9, bench:pipeline runs one process per processor as production does.
 * Each worker's stderr goes to `<logDir>/<run>-<name>.log`, not the caller's output.
 */
export class Workers {
  private readonly procs = new Map<string, ChildProcess>();
  constructor(
    private readonly run: string,
    private readonly names: readonly string[],
    private readonly logDir: string,
  ) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  /** Process ids of the running workers by processor name (e.g. for CPU sampling). */
  get pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.procs].map(([name, c]) => [name, c.pid]));
  }

  async startAll(): Promise<void> {
    await Promise.all(this.names.map((n) => this.start(n)));
  }

  start(name: string): Promise<void> {
    // Worker logs (kafkajs complains loudly during broker restarts) go to a file per worker, not the report.
    const log = fs.openSync(path.join(this.logDir, `${this.run}-${name}.log`), 'a');
    const child = spawn(process.execPath, [...profilingFlags(), '--import', 'tsx', path.join(__dirname, 'worker.ts'), this.run, name], {
      stdio: ['ignore', 'pipe', log],
      env: { ...process.env, LOG_LEVEL: 'error' },
    });
    fs.closeSync(log);
    this.procs.set(name, child);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${name} did not start within 120 s`)), 120_000);
      child.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker ${name} exited with ${code} before it started`));
      });
    }).then(() => void child.removeAllListeners('exit'));
  }

  /** kill -9 and start again after a short pause; returns the victim. */
  async killOne(rand: () => number): Promise<string> {
    const name = this.names[Math.floor(rand() * this.names.length)]!;
    this.procs.get(name)?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500 + rand() * 1500));
    await this.start(name);
    return name;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 30_000).unref();
          }),
      ),
    );
  }
}

/**
 * Node's profiling flags this process runs with (`--cpu-prof`, `--cpu-prof-dir=…`, `--heap-prof…`), passed on to the
 * workers, so `node --cpu-prof --cpu-prof-dir=/tmp/p --import tsx bench/pipeline.ts` profiles every processor
 * (NODE_OPTIONS refuses --cpu-prof). Each writes its profile when it stops gracefully, not when killed with -9.
 */
function profilingFlags(): string[] {
  return process.execArgv.filter((a) => /^--(cpu|heap)-prof/.test(a));
}
