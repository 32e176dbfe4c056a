import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { createMongoClient } from '../lib/clients/mongo';
import { createPgPool } from '../lib/clients/pg';
import { createLogger } from '../lib/logger';
import { ProcessorHost } from '../processors/runtime/host';
import { createCounterTable, mongoCounter, mongoFoldCounter, pgCounter, pgFoldCounter } from '../processors/runtime/testing/counter';
import type { ProcessorDefinition } from '../processors/runtime/types';
import { createEventProducer } from '../schemas/publisher';
import { record } from './lib/report';
import { startService } from '../deploy/local/stack';
import { JAEGER_OTLP_PORT } from '../deploy/local/services';
import { deleteTopics, fmt, freshTopic, produceAll, tardinessStream } from './lib/setup';

/**
 * `npm run bench:runtime`: events/s through the shared runtime on 6 partitions, with a
 * no-op handler, a Postgres counter applied per event and the same counter folded per chunk
 * (one statement per chunk), the folded counter again with tracing on (a span per event exported to the local
 * Jaeger: the cost of tracing), and a Mongo (FerretDB) counter. The stream is
 * produced first; the clock runs from the first applied record to the last, so group
 * join time is excluded (it is printed separately).
 */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const logger = createLogger(config, 'bench');
  const kafka = createKafka(config);
  const counts = {
    noop: Number(process.env.BENCH_NOOP_N ?? 300_000),
    postgres: Number(process.env.BENCH_PG_N ?? 200_000),
    fold: Number(process.env.BENCH_FOLD_N ?? 300_000),
    mongo: Number(process.env.BENCH_MONGO_N ?? 30_000),
  };
  const topic = `bench-runtime-${randomUUID().slice(0, 8)}`;
  const n = Math.max(counts.noop, counts.postgres, counts.fold, counts.mongo);
  await freshTopic(kafka, topic, 6);
  const producer = createEventProducer(kafka);
  await producer.connect();
  process.stdout.write(`producing ${fmt(n)} events to ${topic} (6 partitions)…\n`);
  // Every event carries a trace context, BENCH_TRACE_SAMPLED (default 1) of them sampled: the rows below run with
  // tracing off (no exporter) except the one that exports a span per sampled event (and one per chunk) to Jaeger,
  // so their difference is what tracing costs.
  const sampled = Number(process.env.BENCH_TRACE_SAMPLED ?? 1);
  const produceRate = await produceAll(config, producer, topic, tardinessStream(n, 2000, sampled));
  await producer.disconnect();

  // The traced row exports to the local stack's Jaeger (started, and built the first time, if missing).
  const tracingEndpoint = config.tracing.endpoint || `http://127.0.0.1:${JAEGER_OTLP_PORT}`;
  if (!config.tracing.endpoint) await startService(config, 'jaeger');
  const schema = `bench_${randomUUID().slice(0, 8)}`;
  const mongoDb = `bench_${randomUUID().slice(0, 8)}`;
  const pool = createPgPool(config);
  await createCounterTable(pool, schema);
  const noop: ProcessorDefinition = {
    name: `bench-noop-${randomUUID()}`,
    topics: [topic],
    handles: ['tardiness.recorded'],
    store: 'none',
    project: () => Promise.resolve([]),
  };
  const rows: Array<[string, number, number, number, number, number | undefined]> = [];
  for (const [label, def, limit, target] of [
    ['no-op handler', noop, counts.noop, 50_000],
    ['Postgres projection', pgCounter(`bench-pg-${randomUUID()}`, topic, 0, false), counts.postgres, undefined],
    ['Postgres projection, load → fold → flush', pgFoldCounter(`bench-fold-${randomUUID()}`, topic), counts.fold, 50_000],
    // The same counter merged by one writer per instance (what the six processors declare): no lock contention to
    // save here, so this shows what merging costs an uncontended processor.
    [
      'Postgres projection, load → fold → flush, one writer per instance',
      { ...pgFoldCounter(`bench-fold-one-${randomUUID()}`, topic), writer: 'instance' },
      counts.fold,
      undefined,
    ],
    [
      `Postgres projection, load → fold → flush, tracing on (OTLP/HTTP to Jaeger, ${Math.round(sampled * 100)} % of events sampled)`,
      pgFoldCounter(`bench-fold-traced-${randomUUID()}`, topic),
      counts.fold,
      undefined,
    ],
    ['Mongo projection (FerretDB)', mongoCounter(`bench-mongo-${randomUUID()}`, topic), counts.mongo, undefined],
    [
      'Mongo projection (FerretDB), load → fold → flush',
      mongoFoldCounter(`bench-mongo-fold-${randomUUID()}`, topic),
      counts.mongo,
      undefined,
    ],
    [
      'Mongo projection (FerretDB), load → fold → flush, one writer per instance',
      { ...mongoFoldCounter(`bench-mongo-fold-one-${randomUUID()}`, topic), writer: 'instance' },
      counts.mongo,
      undefined,
    ],
  ] as Array<[string, ProcessorDefinition, number, number | undefined]>) {
    const traced = label.includes('tracing on');
    const hostConfig = traced
      ? { ...config, tracing: { ...config.tracing, endpoint: tracingEndpoint, serviceName: 'bench-runtime' } }
      : config;
    const host = new ProcessorHost([def], hostConfig, logger, { opsPort: 0, pgSchema: () => schema, mongoDb: () => mongoDb });
    const t0 = performance.now();
    await host.start();
    let first = 0;
    let done = 0;
    for (;;) {
      done = (await host.metrics.events.get()).values.reduce((s, v) => s + v.value, 0);
      if (done > 0 && !first) first = performance.now();
      if (done >= limit) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const t1 = performance.now();
    await host.stop();
    rows.push([label, done, (first - t0) / 1000, done / ((t1 - first) / 1000), done / ((t1 - t0) / 1000), target]);
    process.stdout.write(`${label}: ${fmt(done)} events\n`);
  }
  await pool.query(`drop schema "${schema}" cascade`);
  await pool.end();
  const mongo = createMongoClient(config);
  await mongo.db(mongoDb).dropDatabase();
  await mongo.close();
  await deleteTopics(kafka, [topic]);

  process.stdout.write(`\nruntime benchmark (6 partitions, batch ${config.runtime.batchSize}, producer ${fmt(produceRate)} events/s)\n`);
  process.stdout.write(
    '| figure | events | start-up s | events/s (steady) | events/s (incl. start-up) | target | met |\n|---|---|---|---|---|---|---|\n',
  );
  for (const [label, count, startup, rate, overall, target] of rows) {
    const met = target ? (rate >= target ? 'yes' : 'no') : '-';
    process.stdout.write(
      `| ${label} | ${fmt(count)} | ${startup.toFixed(1)} | ${fmt(rate)} | ${fmt(overall)} | ${target ? fmt(target) : 'report'} | ${met} |\n`,
    );
    const note = `${fmt(count)} events, 6 partitions, group join and start-up ${startup.toFixed(1)} s`;
    // The no-op handler is the runtime's own ceiling: compare it with Kafka's raw consumer.
    const yardstick = label === 'no-op handler' ? 'kafka-consumer' : undefined;
    record({ figure: `runtime ${label}: events/s (steady)`, value: rate, unit: 'events/s', target, better: 'higher', yardstick, note });
    record({ figure: `runtime ${label}: events/s (incl. start-up)`, value: overall, unit: 'events/s', better: 'higher', note });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:runtime: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
