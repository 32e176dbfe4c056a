import fs from 'node:fs';

/**
 * The results protocol every bench speaks, so `npm run bench` (bench/all.ts) can collect
 * figures without parsing each bench's markdown. A bench keeps printing its own table and
 * also calls record() once per figure it prints:
 *
 *   record({ figure: 'no-op handler events/s', value: 52_000, unit: 'events/s', target: 50_000, better: 'higher' });
 *
 * When BENCH_RESULTS_FILE is set, record() appends the figure as one JSON line to that file;
 * otherwise it does nothing (a bench run by hand only prints). `met` is computed from target
 * and `better` (higher: value >= target, lower: value < target) unless the bench passes its own
 * rule. `yardstick` names the raw Kafka figure of the same run this one is compared with.
 */
export interface BenchFigure {
  figure: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  target?: number;
  /** The bench's own verdict when its rule is not a plain comparison with target (e.g. a tolerance). */
  met?: boolean;
  /** Compare with the slower of kafka-producer-perf-test and kafka-consumer-perf-test, or one of them. */
  yardstick?: 'kafka' | 'kafka-producer' | 'kafka-consumer';
  note?: string;
}

export function metOf(f: BenchFigure): boolean | undefined {
  if (f.met !== undefined) return f.met;
  if (f.target === undefined) return undefined;
  return f.better === 'higher' ? f.value >= f.target : f.value < f.target;
}

export function record(f: BenchFigure): void {
  const file = process.env.BENCH_RESULTS_FILE;
  if (!file) return;
  // appendFileSync: one whole line per call, so a bench that dies midway leaves the figures it had.
  fs.appendFileSync(file, `${JSON.stringify({ ...f, met: metOf(f) })}\n`);
}

/** Reads back what record() wrote; a line that does not parse is skipped (a bench killed mid-write). */
export function readFigures(file: string): BenchFigure[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as BenchFigure];
      } catch {
        return [];
      }
    });
}
