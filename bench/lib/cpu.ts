import fs from 'node:fs';

/**
 * Where the machine's CPU went during a bench window, from /proc (Linux; elsewhere the snapshots are
 * empty and the split says so): our Node processes by name, the local stack's services (Kafka, the
 * registry, PostgreSQL, FerretDB) and whatever else ran (on a shared machine, other people's work).
 */
export interface CpuSnapshot {
  /** CPU ticks (user + system) per process id, with the category it was counted in. */
  procs: Map<number, { category: string; ticks: number }>;
  /** All and idle ticks of the whole machine (every core). */
  machine: { all: number; idle: number };
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

/** One reading of every process; `ours` names our own processes by pid (the bench, each processor worker). */
export function cpuSnapshot(ours: Map<number, string>): CpuSnapshot {
  const procs = new Map<number, { category: string; ticks: number }>();
  const stat = read('/proc/stat');
  if (!stat) return { procs, machine: { all: 0, idle: 0 } };
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    const s = read(`/proc/${pid}/stat`);
    const category = s && categoryOf(pid, ours);
    if (!s || !category) continue;
    // Fields after "(comm) ": state is index 0, utime 11, stime 12.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    procs.set(pid, { category, ticks: Number(f[11]) + Number(f[12]) });
  }
  const cpu = stat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { procs, machine: { all: cpu.reduce((a, b) => a + b, 0), idle: (cpu[3] ?? 0) + (cpu[4] ?? 0) } };
}

export interface CpuSplit {
  /** Wall seconds of the window times the machine's cores. */
  coreSeconds: number;
  /** Share of all cores busy during the window. */
  busy: number;
  /** CPU seconds per category, largest first (processes that ended inside the window are not counted). */
  rows: Array<{ category: string; seconds: number }>;
}

export function cpuSplit(before: CpuSnapshot, after: CpuSnapshot): CpuSplit {
  const by = new Map<string, number>();
  for (const [pid, a] of after.procs) {
    const b = before.procs.get(pid);
    // A process started inside the window counts from its start (its ticks began at 0).
    const ticks = a.ticks - (b?.ticks ?? 0);
    if (ticks > 0) by.set(a.category, (by.get(a.category) ?? 0) + ticks);
  }
  const all = after.machine.all - before.machine.all;
  return {
    coreSeconds: all / HZ,
    busy: all > 0 ? 1 - (after.machine.idle - before.machine.idle) / all : 0,
    rows: [...by].map(([category, t]) => ({ category, seconds: t / HZ })).sort((x, y) => y.seconds - x.seconds),
  };
}

/** "node:bench 12.3 s (20 %), PostgreSQL 8.1 s (13 %), …" with shares of all cores' time. */
export function formatCpuSplit(s: CpuSplit): string {
  if (!s.coreSeconds) return 'CPU split not available (no /proc)';
  const pct = (x: number): string => `${Math.round((100 * x) / s.coreSeconds)} %`;
  const rows = s.rows.filter((r) => r.seconds >= 0.05).map((r) => `${r.category} ${r.seconds.toFixed(1)} s (${pct(r.seconds)})`);
  return `machine ${Math.round(100 * s.busy)} % busy over ${s.coreSeconds.toFixed(0)} core-seconds: ${rows.join(', ')}`;
}
