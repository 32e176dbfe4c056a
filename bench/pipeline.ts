import path from 'node:path';
import { parseCli, runCli, UsageError } from '../lib/cli';
import { systemClock } from '../lib/clock';
import { loadConfig, type Config } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { SchoolGenerator } from '../scripts/school';
import type { SchoolEvent } from '../schemas/generated/events';
import { groupLag } from '../scripts/lag';
import { DOMAIN_TOPICS, topicCatalog } from '../topics/catalog';
import { isolatedGroups, PROCESSOR_NAMES, TestPipeline } from '../test/support/pipeline';
import { Workers } from '../test/support/workers';
import { CpuWatch, formatCpuSplit } from './lib/cpu';
import { pipelineEventSample } from './lib/event-sample';
import { kafkaPerf } from './lib/kafka-perf';
import { record } from './lib/report';
import { fmt, pipelineSize } from './lib/setup';

/**
 * `npm run bench:pipeline [-- options]`: a generated school (default 2,000+ students in 80 sections,
 * 150 teachers, a term of daily attendance and grades: about 1,000,000 events) offered to all six
 * processors (isolated topics, groups, stores) at up to a rate, then waited for until every processor
 * has caught up. Prints records/s per processor, events/s end to end, the maximum consumer lag sampled
 * each second, and where the machine's CPU went meanwhile. Target on this machine: >= 10,000 events/s
 * with lag under 1,000.
 *
 * Options (a flag wins over its environment variable):
 *   --processes / --in-process   BENCH_PIPELINE_PROCESSES=1|0   each processor in its own Node process, as
 *                                production runs them (default), or all six in the bench's own process
 *   --weeks N                    BENCH_PIPELINE_WEEKS           weeks of grades and attendance offered (20)
 *   --sections N                 BENCH_PIPELINE_SECTIONS        sections of 26 students (80)
 *   --rate N                     BENCH_PIPELINE_RATE            offered events/s at most (10,000); 0 = as fast as possible
 *   --seconds N                  BENCH_PIPELINE_SECONDS         stop offering after N seconds (0 = all weeks): a steady run,
 *                                reported under its own figure names (`npm run bench:pipeline-steady`: 5,000/s for 60 s)
 *   --yardstick                  BENCH_PIPELINE_YARDSTICK=1     then run kafka-producer-perf-test and
 *                                kafka-consumer-perf-test on the same record count and size, side by side
 *                                (`npm run bench` always does, with the same sizing)
 *   --help
 */
const HELP = `usage: npm run bench:pipeline -- [--processes | --in-process] [--weeks N] [--sections N] [--rate N] [--seconds N] [--yardstick]

  --processes        each processor in its own Node process (default; BENCH_PIPELINE_PROCESSES=1)
  --in-process       all six processors in the bench's own process (BENCH_PIPELINE_PROCESSES=0)
  --weeks N          weeks of grades and attendance offered (BENCH_PIPELINE_WEEKS, default 20: ~1,000,000 events at 80 sections)
  --sections N       sections of 26 students (BENCH_PIPELINE_SECTIONS, default 80)
  --rate N           offered events/s at most (BENCH_PIPELINE_RATE, default 10,000; 0 = as fast as possible)
  --seconds N        stop offering after N seconds (BENCH_PIPELINE_SECONDS, default 0 = all weeks): a steady run
  --yardstick        then Kafka's own producer and consumer perf tools on the same record count and size
                     (BENCH_PIPELINE_YARDSTICK=1; npm run bench always runs them)
  --help             this text

Worker logs (--processes) go to $STACK_DIR/logs/bench/.
`;

interface Options {
  processes: boolean;
  yardstick: boolean;
  /** The environment with the size flags applied, for pipelineSize (and the yardstick's sample). */
  env: NodeJS.ProcessEnv;
}

function options(argv: string[]): Options {
  const { values } = parseCli({
    name: 'bench:pipeline',
    help: HELP,
    argv,
    options: {
      processes: { type: 'boolean' },
      'in-process': { type: 'boolean' },
      weeks: { type: 'string' },
      sections: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      yardstick: { type: 'boolean' },
    },
  });
  if (values.processes && values['in-process']) throw new UsageError('--processes and --in-process exclude each other');
  const env = { ...process.env };
  for (const [flag, name] of [
    ['weeks', 'BENCH_PIPELINE_WEEKS'],
    ['sections', 'BENCH_PIPELINE_SECTIONS'],
    ['rate', 'BENCH_PIPELINE_RATE'],
    ['seconds', 'BENCH_PIPELINE_SECONDS'],
  ] as const) {
    const v = values[flag];
    if (v !== undefined) env[name] = v;
  }
  const { size, rate, seconds } = pipelineSize(env);
  if (![size.weeks, size.sections].every((n) => Number.isInteger(n) && n > 0) || !(rate >= 0) || !(seconds >= 0))
    throw new UsageError('--weeks and --sections must be positive integers, --rate and --seconds numbers >= 0');
  const flag = (v: boolean | undefined, name: string, dflt: boolean): boolean =>
    v ?? (env[name] === undefined || env[name] === '' ? dflt : !['0', 'false', 'no'].includes(env[name].toLowerCase()));
  return {
    processes: values['in-process'] ? false : flag(values.processes, 'BENCH_PIPELINE_PROCESSES', true),
    yardstick: flag(values.yardstick, 'BENCH_PIPELINE_YARDSTICK', false),
    env,
  };
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const { size, rate, seconds: offerSeconds } = pipelineSize(opts.env);
  const { weeks, sections } = size;
  // A steady run (bounded offer) reports under its own names, beside the as-fast-as-possible run in one report.
  const label = offerSeconds > 0 ? `pipeline steady ${fmt(rate)}/s for ${offerSeconds} s` : 'pipeline';
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  const mode = opts.processes ? 'one process per processor' : 'all processors in the bench process';
  // Processes: the run's processors are all "elsewhere" for the TestPipeline (topics, schemas, producer only).
  const p = new TestPipeline(config, opts.processes ? PROCESSOR_NAMES : []);
  const workers = opts.processes ? new Workers(p.run, PROCESSOR_NAMES, path.resolve(config.stack.dir, 'logs', 'bench')) : undefined;
  const groups = isolatedGroups(config, p.run, PROCESSOR_NAMES);
  const admin = createKafka(config).admin();
  let offered = 0;
  let seconds = 0;
  await p.start();
  try {
    await workers?.startAll();
    await admin.connect();
    const lags = (): Promise<Record<string, number>> => groupLag(admin, groups);
    const school = new SchoolGenerator(p.run, size, systemClock);
    const batches: SchoolEvent[][] = [school.setup(), school.enrollments()];
    // The setup must be projected before the sagas read it (other topics are not ordered against them).
    const t0 = Date.now();
    await p.publishMany(batches[0]!);
    await drain(lags);
    await p.publishMany(batches[1]!);
    await drain(lags);
    process.stdout.write(
      `${mode}: setup and ${fmt(school.enrollmentIds.length)} sagas projected in ${((Date.now() - t0) / 1000).toFixed(0)} s; offering ${weeks} weeks ${rate > 0 ? `at ${fmt(rate)} events/s` : 'as fast as possible'}…\n`,
    );
    const before = await consumed(admin, groups);
    const ours = new Map<number, string>([[process.pid, opts.processes ? 'bench (producer, lag sampling)' : 'bench + all processors']]);
    for (const [name, pid] of Object.entries(workers?.pids ?? {})) if (pid) ours.set(pid, `processor ${name}`);
    const cpuWatch = new CpuWatch(ours);
    cpuWatch.start();
    const start = Date.now();
    // Each group's lag every second, from the first offered event until all have caught up: when a group was
    // last seen behind is its own catch-up time, which shows which processor is the ceiling.
    const watch = new LagWatch(lags);
    let offering = true;
    const sampling = (async () => {
      while (offering) {
        await sleep(1000);
        if (offering) await watch.sample();
      }
    })();
    const more = (): boolean => offerSeconds === 0 || Date.now() - start < offerSeconds * 1000;
    for (let w = 0; w < weeks && more(); w++) {
      const events = school.week(w);
      for (let i = 0; i < events.length && more(); i += 1000) {
        const due = start + (offered / (rate || Infinity)) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        await p.publisher.publish(...events.slice(i, i + 1000));
        offered += Math.min(1000, events.length - i);
      }
      process.stdout.write(`  week ${w + 1}/${weeks}: ${fmt(offered)} offered, lag ${fmt(watch.lastMax)} (sampled)\n`);
    }
    const offerEnd = Date.now();
    offering = false;
    await sampling;
    await drain(lags, watch);
    seconds = (Date.now() - start) / 1000;
    const cpu = cpuWatch.stop();
    const after = await consumed(admin, groups);
    process.stdout.write(
      `\npipeline benchmark (${mode}): ${fmt(offered)} events offered in ${((offerEnd - start) / 1000).toFixed(0)} s, all processors caught up after ${seconds.toFixed(0)} s\n`,
    );
    process.stdout.write(`CPU meanwhile: ${formatCpuSplit(cpu)}\n`);
    process.stdout.write('| figure | value | target | met |\n|---|---|---|---|\n');
    const note = `${fmt(offered)} events (${offerSeconds > 0 ? `${offerSeconds} s of ${weeks} weeks` : `${weeks} weeks`}, ${sections} sections) offered ${rate > 0 ? `at up to ${fmt(rate)}/s` : 'as fast as possible'}, ${mode}`;
    for (const { name } of groups) {
      const n = (after[name] ?? 0) - (before[name] ?? 0);
      if (n === 0) {
        process.stdout.write(`| ${name}: records consumed/s | none to consume in the offered weeks | - | - |\n`);
        continue;
      }
      // Over its own catch-up time (sampled each second; never before the offer ended), so the slowest stands out.
      const caughtUp = (Math.max(watch.lastBehind[name] ?? offerEnd, offerEnd) - start) / 1000 + 1;
      const perSecond = n / caughtUp;
      process.stdout.write(
        `| ${name}: records consumed/s (${fmt(n)} records, caught up after about ${caughtUp.toFixed(0)} s) | ${fmt(perSecond)} | - | - |\n`,
      );
      record({ figure: `${label} ${name}: records consumed/s`, value: perSecond, unit: 'records/s', better: 'higher', note });
    }
    process.stdout.write(
      `| end to end: offered events/s until every processor caught up | ${fmt(offered / seconds)} | 10,000 | ${offered / seconds >= 10000 ? 'yes' : 'no'} |\n`,
    );
    process.stdout.write(
      `| max consumer lag sampled (one group, records) | ${fmt(watch.maxLag)} | < 1,000 | ${watch.maxLag < 1000 ? 'yes' : 'no'} |\n`,
    );
    record({
      figure: `${label} end to end: events/s until every processor caught up`,
      value: offered / seconds,
      unit: 'events/s',
      target: 10000,
      better: 'higher',
      yardstick: offerSeconds > 0 ? undefined : 'kafka',
      note,
    });
    record({ figure: `${label} max consumer lag sampled`, value: watch.maxLag, unit: 'records', target: 1000, better: 'lower', note });
  } finally {
    await workers?.stopAll();
    await admin.disconnect();
    await p.stop();
  }
  if (opts.yardstick) await yardstick(config, opts.env, offered / seconds);
}

/** Kafka's own perf tools on the same record count and mean record size as the offered events (as `npm run bench` does). */
async function yardstick(config: Config, env: NodeJS.ProcessEnv, ours: number): Promise<void> {
  const sample = await pipelineEventSample(config, env);
  const partitions = topicCatalog(config).find((t) => t.name === DOMAIN_TOPICS[0])!.partitions;
  const perf = await kafkaPerf(config, partitions, sample.count, Math.round(sample.recordBytes));
  const pct = (x: number): string => `${((100 * ours) / x).toFixed(1)} %`;
  process.stdout.write(
    `\nyardstick on the same ${fmt(perf.records)} records of ${perf.recordSize} bytes, ${perf.partitions} partitions:\n` +
      `| figure | records/s | ours end to end as a share |\n|---|---|---|\n` +
      `| kafka-consumer-perf-test (fetch.nMsg.sec) | ${fmt(perf.consumer)} | ${pct(perf.consumer)} |\n` +
      `| kafka-producer-perf-test | ${fmt(perf.producer)} | ${pct(perf.producer)} |\n`,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Admin = ReturnType<ReturnType<typeof createKafka>['admin']>;
type Groups = ReturnType<typeof isolatedGroups>;

/** Per processor: its group's committed offsets summed over its topics. */
async function consumed(admin: Admin, groups: Groups): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of groups) {
    const offsets = await admin.fetchOffsets({ groupId: g.groupId, topics: g.topics });
    out[g.name] = offsets.flatMap((t) => t.partitions).reduce((s, x) => s + Math.max(0, Number(x.offset)), 0);
  }
  return out;
}

/** Lag samples: the largest seen, the latest, and when each group was last seen behind. */
class LagWatch {
  maxLag = 0;
  lastMax = 0;
  readonly lastBehind: Record<string, number> = {};
  constructor(private readonly lags: () => Promise<Record<string, number>>) {}

  /** Samples every group once; returns the largest lag of any one group. */
  async sample(): Promise<number> {
    const now = await this.lags();
    for (const [name, lag] of Object.entries(now)) if (lag > 0) this.lastBehind[name] = Date.now();
    this.lastMax = Math.max(0, ...Object.values(now));
    this.maxLag = Math.max(this.maxLag, this.lastMax);
    return this.lastMax;
  }
}

/** Samples every second until every group has caught up twice in a row. */
async function drain(lags: () => Promise<Record<string, number>>, watch = new LagWatch(lags)): Promise<void> {
  let quiet = 0;
  while (quiet < 2) {
    await sleep(1000);
    quiet = (await watch.sample()) === 0 ? quiet + 1 : 0;
  }
}

runCli('bench:pipeline', main);
