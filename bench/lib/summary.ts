import type { KafkaPerf } from './kafka-perf';
import type { RssResult } from './rss';
import type { BenchFigure } from './report';

/** One bench script's run, as bench/all.ts saw it. */
export interface BenchRun {
  script: string;
  ok: boolean;
  seconds: number;
  error?: string;
  figures: BenchFigure[];
}

/** One line of the report's table; `share` (of target, 1 = just met) feeds the chart. */
export interface Row {
  figure: string;
  ours: string;
  yardstick: string;
  ratio: string;
  target: string;
  met: string;
  share?: number;
  vsKafka?: number;
}

export function num(v: number): string {
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en');
  return v.toFixed(1);
}

/** Ratios: percent below 10×, "n×" above (a no-op runtime can outrun the tool that measures Kafka). */
const pct = (r: number): string => (r >= 10 ? `${r.toFixed(0)}×` : `${r >= 0.1 ? (r * 100).toFixed(0) : (r * 100).toFixed(1)} %`);

/** The raw figure a bench figure is compared with: the slower of the two tools unless it names one. */
export function yardstickOf(which: BenchFigure['yardstick'], perf: KafkaPerf): { value: number; label: string } {
  if (which === 'kafka-producer') return { value: perf.producer, label: 'producer' };
  if (which === 'kafka-consumer') return { value: perf.consumer, label: 'consumer' };
  return perf.producer <= perf.consumer ? { value: perf.producer, label: 'producer' } : { value: perf.consumer, label: 'consumer' };
}

function figureRow(f: BenchFigure, perf: KafkaPerf | undefined): Row {
  const y = f.yardstick && perf ? yardstickOf(f.yardstick, perf) : undefined;
  const share = f.target === undefined ? undefined : f.better === 'higher' ? f.value / f.target : f.target / Math.max(f.value, 1e-9);
  return {
    figure: f.figure,
    ours: `${num(f.value)} ${f.unit}`,
    yardstick: y ? `${num(y.value)} records/s (Kafka ${y.label})` : '-',
    ratio: y ? pct(f.value / y.value) : '-',
    target: f.target === undefined ? '-' : `${f.better === 'lower' ? '< ' : '≥ '}${num(f.target)} ${f.unit}`,
    met: f.met === undefined ? '-' : f.met ? 'yes' : 'no',
    share,
    vsKafka: y ? f.value / y.value : undefined,
  };
}

export function buildRows(runs: BenchRun[], perf: KafkaPerf | undefined, perfError: string | undefined, rss: RssResult[]): Row[] {
  const rows: Row[] = [];
  for (const run of runs) {
    rows.push(...run.figures.map((f) => figureRow(f, perf)));
    if (!run.ok) {
      const why = (run.error ?? 'failed').replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 160);
      rows.push({
        figure: `${run.script}`,
        ours: `FAILED after ${run.seconds.toFixed(0)} s: ${why}`,
        yardstick: '-',
        ratio: '-',
        target: '-',
        met: 'no',
      });
    }
  }
  if (perf) {
    const shape = `${num(perf.records)} records × ${perf.recordSize} B, ${perf.partitions} partitions, acks=all, idempotent`;
    rows.push({
      figure: `kafka-producer-perf-test (${shape})`,
      ours: `${num(perf.producer)} records/s`,
      yardstick: '-',
      ratio: '-',
      target: '-',
      met: '-',
    });
    rows.push({
      figure: `kafka-consumer-perf-test (same topic, fetch rate)`,
      ours: `${num(perf.consumer)} records/s`,
      yardstick: '-',
      ratio: '-',
      target: '-',
      met: '-',
    });
  } else {
    rows.push({
      figure: 'Kafka perf tests (yardstick)',
      ours: `FAILED: ${perfError ?? 'not run'}`,
      yardstick: '-',
      ratio: '-',
      target: '-',
      met: 'no',
    });
  }
  for (const r of rss) {
    rows.push({
      figure: `RSS of processor ${r.name} (own process, steady)`,
      ours: r.mib === undefined ? `FAILED: ${r.error}` : `${r.mib.toFixed(1)} MiB`,
      yardstick: '-',
      ratio: '-',
      target: '-',
      met: r.mib === undefined ? 'no' : '-',
    });
  }
  return rows;
}

export function markdownTable(rows: Row[]): string {
  const head = '| figure | ours | yardstick | ratio | target | met |\n|---|---|---|---|---|---|\n';
  return head + rows.map((r) => `| ${r.figure} | ${r.ours} | ${r.yardstick} | ${r.ratio} | ${r.target} | ${r.met} |`).join('\n') + '\n';
}

/** The sentence on top of the report: how far the whole pipeline is from the bare broker. */
export function headline(runs: BenchRun[], perf: KafkaPerf | undefined): string {
  const e2e = runs.flatMap((r) => r.figures).find((f) => f.yardstick === 'kafka');
  if (!e2e || !perf)
    return `Headline ratio not available: ${!e2e ? 'bench:pipeline recorded no end-to-end figure' : 'the Kafka perf tests failed'}.`;
  const y = yardstickOf('kafka', perf);
  return (
    `**Headline: our pipeline moves ${num(e2e.value)} events/s end to end (bench:pipeline), ${pct(e2e.value / y.value)} of the raw broker's ` +
    `${num(y.value)} records/s**: the slower of kafka-producer-perf-test (${num(perf.producer)}/s) and kafka-consumer-perf-test ` +
    `(${num(perf.consumer)}/s), i.e. the ${y.label}, with the same ${num(perf.records)} records of ${perf.recordSize} bytes on ${perf.partitions} partitions.`
  );
}
