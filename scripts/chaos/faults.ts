import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type Fault = 'kill -9 processor' | 'restart kafka' | 'restart postgres' | 'restart ferretdb' | 'poison record';

/**
 * The order faults are injected in: every kind early (so a short run still has each), then
 * mostly processor kills and poison records. Pure, so a run is reproducible from its seed.
 */
export function faultPlan(count: number): Fault[] {
  const must: Fault[] = [
    'kill -9 processor',
    'poison record',
    'restart kafka',
    'kill -9 processor',
    'restart postgres',
    'poison record',
    'restart ferretdb',
    'kill -9 processor',
  ];
  const rest: Fault[] = ['kill -9 processor', 'poison record', 'kill -9 processor'];
  return Array.from({ length: Math.max(count, must.length) }, (_, i) => must[i] ?? rest[i % rest.length]!);
}

/** The processors of a chaos run, each a child process that can be killed and started again. */
export class Workers {
  private readonly procs = new Map<string, ChildProcess>();
  constructor(
    private readonly run: string,
    private readonly names: string[],
    private readonly logDir: string,
  ) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  async startAll(): Promise<void> {
    await Promise.all(this.names.map((n) => this.start(n)));
  }

  start(name: string): Promise<void> {
    // Worker logs (kafkajs complains loudly during broker restarts) go to a file per worker, not the report.
    const log = fs.openSync(path.join(this.logDir, `${this.run}-${name}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker.ts'), this.run, name], {
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
