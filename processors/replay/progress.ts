import type { Offsets } from './offsets';

export interface PartitionProgress {
  partition: string;
  done: number;
  total: number;
}
export interface Progress {
  partitions: PartitionProgress[];
  done: number;
  total: number;
  ratePerSec: number;
  etaSec: number | undefined;
}

/** Records applied vs to apply, per partition and in total, from stored positions (pure). */
export function progressOf(start: Offsets, target: Offsets, positions: Offsets, elapsedSec: number): Progress {
  const partitions = [...target].map(([p, end]) => {
    const s = start.get(p) ?? 0;
    const at = Math.min(end, Math.max(s, positions.get(p) ?? s));
    return { partition: p, done: at - s, total: Math.max(0, end - s) };
  });
  const done = partitions.reduce((a, p) => a + p.done, 0);
  const total = partitions.reduce((a, p) => a + p.total, 0);
  const ratePerSec = elapsedSec > 0 ? done / elapsedSec : 0;
  return { partitions, done, total, ratePerSec, etaSec: ratePerSec > 0 ? (total - done) / ratePerSec : undefined };
}

export const caughtUp = (target: Offsets, positions: Offsets, start: Offsets): boolean =>
  [...target].every(([p, end]) => end <= (start.get(p) ?? 0) || (positions.get(p) ?? 0) >= end);

/** One line (logs) or a bar (TTY). */
export function renderProgress(name: string, p: Progress, tty: boolean): string {
  const pct = p.total ? (100 * p.done) / p.total : 100;
  const eta = p.etaSec === undefined ? '?' : `${Math.ceil(p.etaSec)} s`;
  const head = `${name}: ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} (${pct.toFixed(1)} %), ${Math.round(p.ratePerSec).toLocaleString('en')} records/s, ETA ${eta}`;
  if (!tty) return `${head}; ${p.partitions.map((x) => `${x.partition} ${x.done}/${x.total}`).join(', ')}`;
  const width = 30;
  const filled = Math.round((pct / 100) * width);
  const parts = p.partitions
    .map((x) => `${x.partition.split(':').pop()}:${x.total ? Math.floor((100 * x.done) / x.total) : 100}%`)
    .join(' ');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${head} | ${parts}`;
}

/**
 * What a CLI prints while copying or rebuilding: a bar redrawn in place on a TTY, else one line every five
 * seconds (logs). `end` finishes the bar's line.
 */
export function progressPrinter(name: string, out: NodeJS.WriteStream = process.stderr): { print: (p: Progress) => void; end: () => void } {
  let last = 0;
  return {
    print: (p) => {
      if (out.isTTY) out.write(`\r${renderProgress(name, p, true)}\u001b[K`);
      else if (Date.now() - last > 5000) {
        last = Date.now();
        out.write(`${renderProgress(name, p, false)}\n`);
      }
    },
    end: () => {
      if (out.isTTY) out.write('\n');
    },
  };
}
