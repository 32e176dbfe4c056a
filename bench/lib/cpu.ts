import fs from 'node:fs';

/**
 * Where the machine's CPU went during a bench window, from /proc (Linux; elsewhere the split says it is not
 * available): our Node processes by name, the local stack's services (Kafka, the registry, PostgreSQL,
 * FerretDB) and whatever else ran (on a shared machine, other people's work).
 *
 * Processes are read every second and their deltas summed, because many live shorter than the window:
 * PostgreSQL backends come and go with the pools' idle timeout, and one read at each end of a 5-minute
 * window missed 180 of the 196 CPU seconds PostgreSQL spent in it. What a process spends between its last
 * reading and its exit (at most a second) is still missed.
 */
export interface CpuSplit {
  /** Wall seconds of the window times the machine's cores. */
  coreSeconds: number;
  /** Share of all cores busy during the window. */
  busy: number;
  /** CPU seconds per category, largest first. */
  rows: Array<{ category: string; seconds: number }>;
}

/** Linux USER_HZ: 100 on every architecture Node runs on (sysconf(_SC_CLK_TCK) is not exposed to JS). */
const HZ = 100;

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function categoryOf(pid: number, ours: Map<number, string>): string | undefined {
  const mine = ours.get(pid);
  if (mine) return mine;
  const comm = read(`/proc/${pid}/comm`)?.trim();
  if (comm === undefined) return undefined;
  const args = read(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ') ?? '';
  if (comm === 'java')
    return args.includes('kafka.Kafka') ? 'Kafka (java)' : args.includes('apicurio') ? 'schema registry (java)' : 'other java';
  if (comm === 'postgres') return 'PostgreSQL';
  if (comm === 'ferretdb') return 'FerretDB';
  if (comm === 'node' || comm.startsWith('node')) return 'other node processes';
  return 'everything else';
}

/** CPU ticks (user + system) of a process, from /proc/<pid>/stat. */
function ticksOf(pid: number): number | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return undefined;
  // Fields after "(comm) ": state is index 0, utime 11, stime 12.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function machineTicks(): { all: number; idle: number } | undefined {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line) return undefined;
  const cpu = line.trim().split(/\s+/).slice(1).map(Number);
  return { all: cpu.reduce((a, b) => a + b, 0), idle: (cpu[3] ?? 0) + (cpu[4] ?? 0) };
}

/** Reads every process each `everyMs` from `start()` until `stop()`; `ours` names our own processes by pid. */
export class CpuWatch {
  private readonly last = new Map<number, { category: string; ticks: number }>();
  private readonly spent = new Map<string, number>();
  private machine0: { all: number; idle: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ours: Map<number, string>,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.machine0 = machineTicks();
    if (!this.machine0) return;
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.everyMs);
    this.timer.unref();
  }

  stop(): CpuSplit {
    if (this.timer) clearInterval(this.timer);
    const m1 = machineTicks();
    if (!this.machine0 || !m1) return { coreSeconds: 0, busy: 0, rows: [] };
    this.sample(false);
    const all = m1.all - this.machine0.all;
    return {
      coreSeconds: all / HZ,
      busy: all > 0 ? 1 - (m1.idle - this.machine0.idle) / all : 0,
      rows: [...this.spent].map(([category, t]) => ({ category, seconds: t / HZ })).sort((x, y) => y.seconds - x.seconds),
    };
  }

  /** The first reading only sets each process's baseline; later ones add what it spent since (all of it, if new). */
  private sample(baseline: boolean): void {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const pid = Number(d);
      const ticks = ticksOf(pid);
      if (ticks === undefined) continue;
      const seen = this.last.get(pid);
      const category = seen?.category ?? categoryOf(pid, this.ours);
      if (!category) continue;
      if (!baseline) {
        const delta = ticks - (seen?.ticks ?? 0);
        if (delta > 0) this.spent.set(category, (this.spent.get(category) ?? 0) + delta);
      }
      this.last.set(pid, { category, ticks });
    }
  }
}

/** "processor grades 12.3 s (20 %), PostgreSQL 8.1 s (13 %), …" with shares of all cores' time. */
export function formatCpuSplit(s: CpuSplit): string {
  if (!s.coreSeconds) return 'CPU split not available (no /proc)';
  const pct = (x: number): string => `${Math.round((100 * x) / s.coreSeconds)} %`;
  const rows = s.rows.filter((r) => r.seconds >= 0.05).map((r) => `${r.category} ${r.seconds.toFixed(1)} s (${pct(r.seconds)})`);
  return `machine ${Math.round(100 * s.busy)} % busy over ${s.coreSeconds.toFixed(0)} core-seconds: ${rows.join(', ')}`;
}
