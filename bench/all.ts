import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { up } from '../deploy/local/stack';
import { PROCESSOR_NAMES } from '../processors/manifest';
import { registerAll } from '../schemas/register';
import { DOMAIN_TOPICS, topicCatalog } from '../topics/catalog';
import { applyTopics } from '../topics/provision';
import { svgChart } from './lib/chart';
import { pipelineEventSample } from './lib/event-sample';
import { kafkaPerf, type KafkaPerf } from './lib/kafka-perf';
import { describeMachine } from './lib/machine';
import { readFigures } from './lib/report';
import { processorRss } from './lib/rss';
import { buildRows, headline, markdownTable, type BenchRun } from './lib/summary';

/**
 * `npm run bench`: every `bench:*` script of package.json (found at run time, so new benches join
 * without editing this file), one after the other, then Kafka's own perf tools as the yardstick and
 * each processor's memory, into bench/results/<date>.md (+ .svg). The pipeline and replay run at
 * their default sizes (about 1,000,000 events each); the whole run takes about half an hour on a
 * 2-core machine. A variable already set in the environment wins over these.
 */
const SIZING: Record<string, Record<string, string>> = {
  // Issue 17's sizing: 100/s for 60 s (6,000 sagas), then 200/s beside it.
  'bench:saga': { BENCH_SAGA_RATES: '100,200', BENCH_SAGA_SECONDS: '60' },
  // The Mongo phase replays what FerretDB takes in this time (its rate is the figure), not the whole 1M.
  'bench:replay': { BENCH_REPLAY_MONGO_SECONDS: '300' },
};
/** A bench that hangs must not eat the others' time: it is killed and reported failed. */
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 420);
/** The 1M-event runs take longer than the others' bound. */
const TIMEOUTS: Record<string, number> = { 'bench:pipeline': 1800, 'bench:replay': 1200, 'bench:saga': 1500 };

const root = path.resolve(__dirname, '..');
/** Ctrl-C: the running bench (its own process group) is interrupted and no further bench starts. */
let interrupted = false;
const say = (m: string): void => void process.stdout.write(`${m}\n`);

function sizedEnv(script: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...(SIZING[script] ?? {}), ...process.env, ...extra };
}

function benchScripts(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return Object.keys(pkg.scripts ?? {}).filter((s) => s.startsWith('bench:'));
}

/** Runs one bench in its own process group (so a timeout kills npm, tsx and node alike). */
function runBench(script: string, resultsFile: string): Promise<BenchRun> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], {
      cwd: root,
      env: sizedEnv(script, { BENCH_RESULTS_FILE: resultsFile }),
      stdio: ['ignore', 'inherit', 'pipe'],
      detached: true,
    });
    let errTail = '';
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      errTail = (errTail + d.toString()).slice(-2000);
    });
    let timedOut = false;
    const bound = TIMEOUTS[script] ?? TIMEOUT_S;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGTERM');
    }, bound * 1000);
    const onInt = (): void => {
      interrupted = true;
      process.kill(-child.pid!, 'SIGINT');
    };
    process.once('SIGINT', onInt);
    child.on('close', (code) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onInt);
      const seconds = (Date.now() - t0) / 1000;
      const lastErr = errTail.split('\n').filter((l) => l.trim() && !l.includes('npm warn'));
      const error = timedOut ? `timed out after ${bound} s` : `exit ${code}: ${lastErr.slice(-1)[0] ?? ''}`;
      resolve({
        script,
        ok: code === 0 && !timedOut,
        seconds,
        error: code === 0 && !timedOut ? undefined : error,
        figures: readFigures(resultsFile),
      });
    });
  });
}

async function prepare(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await up(config); // idempotent: starts only what does not answer
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await applyTopics(admin, topicCatalog(config)); // the live topics the processors' memory run needs
  } finally {
    await admin.disconnect();
  }
  await registerAll(config.registry.url);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  say('== stack, topics, schemas');
  await prepare();
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));

  const runs: BenchRun[] = [];
  for (const script of benchScripts()) {
    say(`\n== ${script}`);
    const run = await runBench(script, path.join(tmp, `${script.replace(':', '-')}.jsonl`));
    say(`== ${script}: ${run.ok ? 'ok' : `FAILED (${run.error})`} in ${run.seconds.toFixed(0)} s`);
    runs.push(run);
    if (interrupted) process.exit(130);
  }

  say('\n== yardstick: kafka-producer-perf-test and kafka-consumer-perf-test');
  let perf: KafkaPerf | undefined;
  let perfError: string | undefined;
  try {
    const sample = await pipelineEventSample(config, sizedEnv('bench:pipeline', {}));
    const partitions = topicCatalog(config).find((t) => t.name === DOMAIN_TOPICS[0])!.partitions;
    say(
      `${sample.count} records of ${Math.round(sample.recordBytes)} bytes (value ${Math.round(sample.valueBytes)} + key + headers), ${partitions} partitions`,
    );
    perf = await kafkaPerf(config, partitions, sample.count, Math.round(sample.recordBytes));
    say(`producer ${Math.round(perf.producer)} records/s, consumer ${Math.round(perf.consumer)} records/s`);
  } catch (e) {
    perfError = e instanceof Error ? e.message.split('\n')[0] : String(e);
    say(`yardstick failed: ${perfError}`);
  }

  say('\n== memory: each processor in its own process');
  const names = [...PROCESSOR_NAMES];
  const rss = await processorRss(root, names);

  const rows = buildRows(runs, perf, perfError, rss);
  const minutes = (Date.now() - t0) / 60000;
  const m = describeMachine();
  const table = markdownTable(rows);
  const top = headline(runs, perf);
  const md = [
    `# Benchmark report ${date}`,
    '',
    top,
    '',
    `![ours against targets and against Kafka](${date}.svg)`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB RAM; ${m.os}; Node ${m.node}; ${m.java}; ${m.kafka}.`,
    `Run: \`npm run bench\`, ${minutes.toFixed(1)} minutes; sizes: ${Object.entries(SIZING)
      .map(
        ([s, env]) =>
          `${s} ${Object.entries(env)
            .map(([k, v]) => `${k}=${process.env[k] ?? v}`)
            .join(' ')}`,
      )
      .join('; ')}; other benches at their defaults. The local stack shares this machine with the benches (2 cores).`,
    '',
    table,
    'Notes: the yardstick is Kafka 3.9 `ProducerPerformance`/`ConsumerPerformance` (kafka-tools jar of the local stack) on a fresh topic,',
    "same partition count, record count and mean record size (value + key + headers) as bench:pipeline's events; it sends unkeyed values without headers.",
    'The consumer figure is fetch.nMsg.sec (group join excluded). Processor RSS: `processors/run.ts <name>` under tsx (the loader adds some memory over `node dist/…`),',
    'live topics, idle after start-up, max of the last 5 of 10 one-second samples.',
    '',
  ].join('\n');
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${date}.md`), md);
  fs.writeFileSync(path.join(dir, `${date}.svg`), svgChart(rows, `school-events benchmarks ${date}`));
  fs.rmSync(tmp, { recursive: true, force: true });

  say(`\n${top}\n\n${table}`);
  say(`report: bench/results/${date}.md (${minutes.toFixed(1)} minutes)`);
  const failed = runs.filter((r) => !r.ok).map((r) => r.script);
  if (!perf) failed.push('yardstick');
  failed.push(...rss.filter((r) => r.mib === undefined).map((r) => `rss ${r.name}`));
  if (failed.length) {
    process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
