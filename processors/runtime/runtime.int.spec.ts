import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createKafka } from '../../lib/clients/kafka';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { createLogger } from '../../lib/logger';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { SchoolEvent } from '../../schemas/generated/events';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { dlqTopic, parkedTopic } from '../../topics/catalog';
import { eventually, randomName, testConfig } from '../../test/support';
import { readAll, topicSize } from '../../test/support/kafka';
import { IsolatedPostgres } from '../../test/support/postgres';
import { classify } from './errors';
import { ProcessorHost } from './host';
import { mongoPositions } from './mongo-bookkeeping';
import { pgPositions } from './pg-bookkeeping';
import { MongoStore } from './mongo-store';
import type { ProcessorDefinition } from './types';
import { createCounterTable, mongoCounter, mongoFoldCounter, pgCounter } from './testing/counter';

const ROOT = path.resolve(__dirname, '../..');
const clock = systemClock;

/** n tardiness events over `students` students; minutes are 1..9 so totals are easy to predict. */
function tardies(n: number, students = 20, from = 0): Array<SchoolEvent<'tardiness.recorded'>> {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return buildEvent(
      'tardiness.recorded',
      {
        tardinessId: `TRD-${i}`,
        studentUserId: `USR-${i % students}`,
        sectionId: 'SEC-2025-5A',
        date: '2025-03-18',
        minutesLate: (i % 9) + 1,
        recordedBy: 'USR-T-1',
      },
      { sourceService: 'it', clock },
    );
  });
}
const expectedTotal = (events: Array<SchoolEvent<'tardiness.recorded'>>): number => events.reduce((s, e) => s + e.payload.minutesLate, 0);

describe('processor runtime (real Kafka, registry, PostgreSQL, FerretDB)', function () {
  this.timeout(180000);
  const config = testConfig({
    RUNTIME_RETRY_INITIAL_MS: '200',
    RUNTIME_RETRY_MAX_MS: '1000',
    BREAKER_OPEN_MS: '2000',
    RUNTIME_BATCH_SIZE: '100',
  });
  const logger = createLogger(config, 'it');
  const kafka = createKafka(config);
  const codec = new EventCodec(createSchemaRegistry(config));
  let admin: Admin;
  let producer: Producer;
  let pool: pg.Pool;
  let mongo: MongoClient;
  const topics: string[] = [];
  const schemas: string[] = [];
  const mongoDbs: string[] = [];
  const hosts: ProcessorHost[] = [];
  const children: ChildProcess[] = [];
  const isolated: IsolatedPostgres[] = [];

  async function newTopic(partitions = 6): Promise<string> {
    const topic = randomName('it-rt');
    topics.push(topic, dlqTopic(topic), parkedTopic(topic));
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: partitions },
        { topic: dlqTopic(topic), numPartitions: 1 },
        { topic: parkedTopic(topic), numPartitions: 1 },
      ],
    });
    return topic;
  }
  async function publish(topic: string, events: SchoolEvent[]): Promise<void> {
    const publisher = new EventPublisher(producer, codec, () => topic);
    for (let i = 0; i < events.length; i += 1000) await retryTransient(() => publisher.publish(...events.slice(i, i + 1000)));
  }
  /** The test's own producer side rides out a store restart the way a real client would. */
  async function retryTransient<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= 10 || classify(e) !== 'transient') throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  async function pgTotals(schema: string, on = pool): Promise<{ total: number; events: number }> {
    const r = await on.query<{ total: string | null; events: string | null }>(
      `select sum(total) total, sum(events) events from "${schema}".counters`,
    );
    return { total: Number(r.rows[0]?.total ?? 0), events: Number(r.rows[0]?.events ?? 0) };
  }
  async function mongoTotals(db: string): Promise<{ total: number; events: number }> {
    const docs = await mongo.db(db).collection<{ total: number; events: number }>('counters').find().toArray();
    return { total: docs.reduce((s, d) => s + d.total, 0), events: docs.reduce((s, d) => s + d.events, 0) };
  }
  async function startHost(defs: ProcessorDefinition[], schema?: string, db?: string, cfg = config): Promise<ProcessorHost> {
    const host = new ProcessorHost(defs, cfg, logger, {
      opsPort: 0,
      pgSchema: () => schema ?? 'public',
      mongoDb: () => db ?? config.mongo.db,
    });
    hosts.push(host);
    await host.start();
    return host;
  }
  function spawnCounter(env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'testing/counter-main.ts')], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', RUNTIME_BATCH_SIZE: '50', SHUTDOWN_TIMEOUT_MS: '15000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  }

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = createEventProducer(kafka);
    await producer.connect();
    pool = createPgPool(config);
    mongo = createMongoClient(config);
    await mongo.connect();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });
  after(async () => {
    await producer.disconnect();
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: topics.filter((t) => existing.has(t)) });
    await admin.disconnect();
    for (const s of schemas) await pool.query(`drop schema if exists "${s}" cascade`);
    await pool.end();
    for (const d of mongoDbs) await mongo.db(d).dropDatabase();
    await mongo.close();
    for (const pg of isolated) await pg.destroy();
  });

  function pgSetup(): { schema: string; name: string } {
    const schema = randomName('it_rt').replace(/-/g, '_');
    schemas.push(schema);
    return { schema, name: randomName('it-counter') };
  }
  function mongoSetup(): { db: string; name: string } {
    const db = randomName('it_rt').replace(/-/g, '_');
    mongoDbs.push(db);
    return { db, name: randomName('it-counter') };
  }

  it('kill -9 mid-batch, then restart: the Postgres, Mongo and folded Mongo counters are exact', async () => {
    const topic = await newTopic();
    const events = tardies(3000);
    await publish(topic, events);
    const p = pgSetup();
    const m = mongoSetup();
    const f = mongoSetup();
    await createCounterTable(pool, p.schema);
    const envs: Array<Record<string, string>> = [
      { COUNTER_STORE: 'pg', COUNTER_TOPIC: topic, COUNTER_NAME: p.name, COUNTER_SCHEMA: p.schema, COUNTER_SLOW_MS: '1' },
      { COUNTER_STORE: 'mongo', COUNTER_TOPIC: topic, COUNTER_NAME: m.name, COUNTER_MONGO_DB: m.db, COUNTER_SLOW_MS: '1' },
      { COUNTER_STORE: 'mongo-fold', COUNTER_TOPIC: topic, COUNTER_NAME: f.name, COUNTER_MONGO_DB: f.db, COUNTER_SLOW_MS: '1' },
    ];
    const totals = [() => pgTotals(p.schema), () => mongoTotals(m.db), () => mongoTotals(f.db)];
    // Kill each as soon as it has applied part of the stream, i.e. somewhere inside a batch; the counter read once
    // it is dead must show work partly applied: some, not all. One at a time, each started when its turn comes
    // (started together, the fast folded one could finish while the others were being killed).
    for (const [i, env] of envs.entries()) {
      const child = spawnCounter(env);
      await eventually(async () => ((await totals[i]!()).events > 300 ? true : undefined), `${envs[i]!.COUNTER_STORE} progress`, 60000, 50);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      expect(child.exitCode, 'still running when killed').to.equal(null);
      child.kill('SIGKILL');
      expect(await exited).to.equal('SIGKILL');
      const partial = (await totals[i]!()).events;
      expect(partial, `${envs[i]!.COUNTER_STORE} applied when killed`).to.be.within(1, events.length - 1);
    }
    envs.map((e) => spawnCounter({ ...e, COUNTER_SLOW_MS: '0' }));
    const want = { total: expectedTotal(events), events: events.length };
    await eventually(async () => ((await pgTotals(p.schema)).events >= events.length ? true : undefined), 'pg to finish', 90000);
    await eventually(async () => ((await mongoTotals(m.db)).events >= events.length ? true : undefined), 'mongo to finish', 90000);
    await eventually(async () => ((await mongoTotals(f.db)).events >= events.length ? true : undefined), 'mongo fold to finish', 90000);
    expect(await pgTotals(p.schema)).to.deep.equal(want);
    expect(await mongoTotals(m.db)).to.deep.equal(want);
    expect(await mongoTotals(f.db)).to.deep.equal(want);
  });

  it('kill -9 between the commit and the outbox send: after a restart every derived event is published exactly once', async () => {
    const topic = await newTopic(3);
    // The derived events' topic does not exist yet: every send fails after its chunk committed, so the
    // window between commit and send stays open until the kill (no timing luck, no hook in the product).
    const out = randomName('it-rt-out');
    topics.push(out);
    const events = tardies(600);
    await publish(topic, events);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    const env = { COUNTER_STORE: 'pg', COUNTER_TOPIC: topic, COUNTER_NAME: p.name, COUNTER_SCHEMA: p.schema, COUNTER_DERIVE_TO: out };
    const outboxRows = async (): Promise<number> =>
      Number((await pool.query<{ n: string }>(`select count(*) n from "${p.schema}".runtime_outbox`)).rows[0]?.n);
    const first = spawnCounter(env);
    const committed = await eventually(
      async () => {
        const applied = (await pgTotals(p.schema)).events;
        return applied > 0 && (await outboxRows()) === applied ? applied : undefined;
      },
      'chunks committed with their derived events in the outbox',
      60000,
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    first.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    expect(await outboxRows(), 'committed and unsent when killed').to.equal((await pgTotals(p.schema)).events);
    expect(committed).to.be.within(1, events.length - 1);

    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: out, numPartitions: 3 }] });
    spawnCounter(env);
    await eventually(async () => ((await pgTotals(p.schema)).events >= events.length ? true : undefined), 'the restart to finish', 90000);
    await eventually(async () => ((await outboxRows()) === 0 ? true : undefined), 'the outbox to empty', 30000);
    const records = await readAll(kafka, out, events.length);
    expect(records.map((r) => r.headers?.eventType?.toString())).to.satisfy((ts: string[]) =>
      ts.every((t) => t === 'attendance.pattern.alert'),
    );
    const derived = await Promise.all(records.map(async (r) => (await codec.decode(r.value!)).event));
    // One derived event per input, each caused by it, and nothing on the topic twice.
    expect(derived.map((e) => e.causationId).sort()).to.deep.equal(events.map((e) => e.eventId).sort());
    expect(new Set(derived.map((e) => e.eventId)).size).to.equal(events.length);
    expect(await topicSize(kafka, out)).to.equal(events.length);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: expectedTotal(events), events: events.length });
  });

  it('applies an event published twice (same eventId, new offset) once', async () => {
    const topic = await newTopic(1);
    const events = tardies(50);
    await publish(topic, [...events, ...events.slice(0, 20), ...tardies(10, 20, 50)]);
    const p = pgSetup();
    const m = mongoSetup();
    await createCounterTable(pool, p.schema);
    const pgHost = await startHost([pgCounter(p.name, topic)], p.schema);
    await startHost([mongoCounter(m.name, topic)], undefined, m.db);
    const all = [...events, ...tardies(10, 20, 50)];
    const want = { total: expectedTotal(all), events: all.length };
    await eventually(async () => ((await pgTotals(p.schema)).events >= all.length ? true : undefined), 'pg', 30000);
    await eventually(async () => ((await mongoTotals(m.db)).events >= all.length ? true : undefined), 'mongo', 30000);
    // The last record is after the duplicates, so everything before it has been handled too.
    expect(await pgTotals(p.schema)).to.deep.equal(want);
    expect(await mongoTotals(m.db)).to.deep.equal(want);
    // The ops endpoints tell the same story.
    const base = `http://127.0.0.1:${pgHost.port}`;
    expect((await fetch(`${base}/health`)).status).to.equal(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.deep.include({ status: 'ready' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).to.include(
      `school_events_records_handled_total{processor="${p.name}",event_type="tardiness.recorded",outcome="applied"} ${all.length}`,
    );
    expect(metrics).to.include(
      `school_events_records_handled_total{processor="${p.name}",event_type="tardiness.recorded",outcome="duplicate"} 20`,
    );
    expect(metrics).to.match(new RegExp(`school_events_consumer_lag_records\\{processor="${p.name}",topic="${topic}",partition="0"\\} 0`));
    expect(metrics).to.include('school_events_circuit_state');
    // A second start would double the consumers (and the per-document locks) of every processor: refused.
    const second = await pgHost.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(second)).to.include('called twice');
  });

  it('a run of records it does not handle: counted, not a store write per chunk, and the last position is stored', async () => {
    const topic = await newTopic(1);
    const marks = Array.from({ length: 3000 }, () =>
      buildEvent('attendance.marked', EXAMPLE_PAYLOADS['attendance.marked'], { sourceService: 'it', clock }),
    );
    await publish(topic, marks);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    const host = await startHost([pgCounter(p.name, topic)], p.schema);
    const stored = async () => (await pgPositions(pool, p.schema, p.name)).find((x) => x.topic === topic)?.next;
    await eventually(async () => ((await stored()) === marks.length ? true : undefined), 'the last position stored', 30000);
    const ignored = (await host.metrics.events.get()).values.filter((v) => v.labels.outcome === 'ignored');
    expect(ignored.reduce((s, v) => s + v.value, 0)).to.equal(marks.length);
    // 30 chunks of 100 records; the store is called for the first, then at most once a second, and for the last.
    const chunks = (await host.metrics.latency.get()).values.find(
      (v) => v.metricName === 'school_events_chunk_duration_seconds_count',
    )?.value;
    expect(chunks).to.be.within(2, 10);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: 0, events: 0 });
  });

  it('a fold flushing hundreds of new documents into new collections at once: exact, and the server stays up', async () => {
    // FerretDB v1 hung once on this shape (400 parallel upserts creating the same new collections); the store now
    // creates collections first and bounds its parallelism. The hang did not recur on demand, so this checks
    // exactness and liveness of the shape, not the fix itself.
    const topic = await newTopic(1);
    const events = tardies(400, 400);
    await publish(topic, events);
    const m = mongoSetup();
    await startHost([mongoFoldCounter(m.name, topic)], undefined, m.db, testConfig({ RUNTIME_BATCH_SIZE: '500' }));
    await eventually(async () => ((await mongoTotals(m.db)).events >= events.length ? true : undefined), 'fold', 30000);
    expect(await mongoTotals(m.db)).to.deep.equal({ total: expectedTotal(events), events: events.length });
  });

  it('effects run after the projection for each applied event once, and never in a rebuild', async () => {
    const topic = await newTopic(2);
    const events = tardies(60);
    await publish(topic, [...events, ...events.slice(0, 15)]);
    const live = mongoSetup();
    const rebuilt = mongoSetup();
    const ran: Array<{ eventId: string; projected: boolean }> = [];
    const withEffect = (name: string, db: string): ProcessorDefinition => ({
      ...mongoCounter(name, topic),
      async effect(event, guarded) {
        // The effect sees what the chunk projected: the counter already holds this event's student.
        const doc = await guarded.db
          .collection<{ _id: string }>('counters')
          .findOne({ _id: (event as SchoolEvent<'tardiness.recorded'>).payload.studentUserId });
        ran.push({ eventId: event.eventId, projected: doc !== null && guarded.db.databaseName === db });
        return [];
      },
    });
    // Positions are stored after a chunk's effects: once they cover every record (duplicates too), every effect has run.
    const consumed = async (m: { db: string; name: string }): Promise<true | undefined> =>
      (await mongoPositions(mongo.db(m.db), m.name)).reduce((n, p) => n + p.next, 0) >= events.length + 15 ? true : undefined;
    await startHost([withEffect(live.name, live.db)], undefined, live.db);
    await eventually(() => consumed(live), 'live', 30000);
    expect(ran.map((r) => r.eventId).sort()).to.deep.equal(events.map((e) => e.eventId).sort()); // once each, duplicates skipped
    expect(ran.every((r) => r.projected)).to.equal(true);
    const host = new ProcessorHost([withEffect(rebuilt.name, rebuilt.db)], config, logger, {
      opsPort: 0,
      mongoDb: () => rebuilt.db,
      replaying: true,
    });
    hosts.push(host);
    await host.start();
    await eventually(() => consumed(rebuilt), 'rebuild', 30000);
    expect(await mongoTotals(rebuilt.db)).to.deep.equal(await mongoTotals(live.db));
    expect(ran).to.have.length(events.length); // the rebuild projected everything and sent nothing
  });

  it('one writer merging the chunks of six partitions: poison in some of them dead-letters exactly the poison', async () => {
    const topic = await newTopic(6);
    const events = tardies(1200, 50);
    const poison = [17, 480, 1001].map((i) => events[i]!);
    for (const e of poison) e.payload.minutesLate = -1;
    await publish(topic, events);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    await startHost([pgCounter(p.name, topic)], p.schema, undefined, testConfig({ RUNTIME_BATCH_SIZE: '100', RUNTIME_WRITER: 'instance' }));
    const good = events.filter((e) => !poison.includes(e));
    await eventually(async () => ((await pgTotals(p.schema)).events >= good.length ? true : undefined), 'good records', 60000);
    const dead = await readAll(kafka, dlqTopic(topic), poison.length);
    expect(dead.map((d) => d.headers?.['dlq.eventId']?.toString()).sort()).to.deep.equal(poison.map((e) => e.eventId).sort());
    expect(await topicSize(kafka, dlqTopic(topic))).to.equal(poison.length);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: expectedTotal(good), events: good.length });
  });

  it('dead-letters poison records with every header and processes the records after them', async () => {
    const topic = await newTopic(1);
    const before = tardies(5);
    const after = tardies(5, 20, 5);
    const invalid = tardies(1, 20, 10)[0]!;
    invalid.payload.minutesLate = -3;
    await publish(topic, before);
    await producer.send({
      topic,
      messages: [
        { key: 'garbage', value: Buffer.from('not avro at all'), headers: { origin: 'test' } },
        { key: 'unknown-id', value: Buffer.from([0, 0x7f, 0, 0, 1, 2, 3, 4]) },
      ],
    });
    await publish(topic, [invalid, ...after]);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    await startHost([pgCounter(p.name, topic)], p.schema);
    const good = [...before, ...after];
    await eventually(async () => ((await pgTotals(p.schema)).events >= good.length ? true : undefined), 'good records', 30000);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: expectedTotal(good), events: good.length });
    const dead = await readAll(kafka, dlqTopic(topic), 3);
    const h = (i: number, k: string): string | undefined => dead[i]?.headers?.[k]?.toString();
    expect(dead.map((d) => d.key?.toString())).to.deep.equal(['garbage', 'unknown-id', invalid.aggregateId]);
    expect(dead[0]?.value?.toString()).to.equal('not avro at all');
    expect(h(0, 'origin')).to.equal('test');
    expect([h(0, 'dlq.error.class'), h(1, 'dlq.error.class'), h(2, 'dlq.error.class')]).to.deep.equal([
      'WireFormatError',
      'UnknownSchemaIdError',
      'RuleViolationError',
    ]);
    expect(h(1, 'dlq.schema.id')).to.equal(String(0x7f000001));
    expect(h(2, 'dlq.eventId')).to.equal(invalid.eventId);
    expect(h(2, 'dlq.eventType')).to.equal('tardiness.recorded');
    expect(h(2, 'dlq.correlationId')).to.equal(invalid.correlationId);
    for (let i = 0; i < 3; i++) {
      expect(h(i, 'dlq.source.topic')).to.equal(topic);
      expect(h(i, 'dlq.source.partition')).to.equal('0');
      expect(h(i, 'dlq.source.offset')).to.equal(String(5 + i));
      expect(h(i, 'dlq.consumer.group')).to.equal(p.name);
      expect(Number(h(i, 'dlq.attempts'))).to.be.at.least(1);
      expect(h(i, 'dlq.error.message')).to.be.a('string').and.not.empty;
      expect(h(i, 'dlq.error.stack')).to.be.a('string').and.not.empty;
      expect(Date.parse(h(i, 'dlq.source.timestamp') ?? '')).to.be.a('number').and.not.NaN;
      expect(Date.parse(h(i, 'dlq.moved.at') ?? '')).to.be.a('number').and.not.NaN;
    }
  });

  it('two instances share the partitions after a rebalance and totals stay exact', async () => {
    const topic = await newTopic(6);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    const firstHalf = tardies(2000);
    await publish(topic, firstHalf);
    const a = await startHost([pgCounter(p.name, topic, 1)], p.schema);
    await eventually(async () => ((await pgTotals(p.schema)).events > 200 ? true : undefined), 'first instance progress', 30000);
    const b = await startHost([pgCounter(p.name, topic, 1)], p.schema);
    const secondHalf = tardies(2000, 20, 2000);
    await publish(topic, secondHalf);
    const all = [...firstHalf, ...secondHalf];
    await eventually(async () => ((await pgTotals(p.schema)).events >= all.length ? true : undefined), 'all records', 120000);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: expectedTotal(all), events: all.length });
    const applied = async (h: ProcessorHost): Promise<number> =>
      (await h.metrics.events.get()).values.filter((v) => v.labels.outcome === 'applied').reduce((s, v) => s + v.value, 0);
    expect(await applied(a)).to.be.above(0);
    expect(await applied(b)).to.be.above(0);
    // Each instance's lag series are its own partitions only: those that moved away in the rebalance are gone.
    const partitions = async (h: ProcessorHost): Promise<string[]> =>
      (await h.metrics.lag.get()).values.filter((v) => v.labels.topic === topic).map((v) => String(v.labels.partition));
    const [pa, pb] = [await partitions(a), await partitions(b)];
    expect(pa.length, `a holds ${pa.join(',')}`).to.be.within(1, 5);
    expect([...pa, ...pb].sort()).to.deep.equal(['0', '1', '2', '3', '4', '5']);
  });

  it('PostgreSQL stopped for 20 s under load: the circuit opens, nothing is skipped, everything is applied once', async () => {
    // A PostgreSQL of this test's own, so stopping it never disturbs the shared stack (or tests running beside this one).
    const server = new IsolatedPostgres(config);
    isolated.push(server);
    const pgConfig = await server.start();
    let pgPool = createPgPool(pgConfig);
    const topic = await newTopic(6);
    const p = pgSetup();
    await createCounterTable(pgPool, p.schema);
    const first = tardies(3000);
    await publish(topic, first);
    const host = await startHost([pgCounter(p.name, topic, 1)], p.schema, undefined, pgConfig);
    await eventually(async () => ((await pgTotals(p.schema, pgPool)).events > 300 ? true : undefined), 'progress before the outage', 30000);
    await pgPool.end();
    expect(await server.stop()).to.equal(true);
    const outageStart = Date.now();
    try {
      const during = tardies(1000, 20, 3000);
      // The lag, as a scrape reads it: the broker's end offsets against the stuck positions.
      const lag = async (): Promise<number> =>
        (await host.metrics.lag.get()).values.filter((v) => v.labels.processor === p.name).reduce((n, v) => n + v.value, 0);
      await publish(topic, during.slice(0, 500)); // load continues while the store is down
      await eventually(() => Promise.resolve(host.runners[0]!.circuit === 'open' ? true : undefined), 'the circuit to open', 20000);
      const states = (await host.metrics.circuit.get()).values.filter((v) => v.labels.processor === p.name);
      expect(Object.fromEntries(states.map((v) => [v.labels.state, v.value]))).to.deep.equal({ closed: 0, half_open: 0, open: 1 });
      const stuck = await lag();
      expect(stuck, 'lag while stuck').to.be.at.least(500);
      await publish(topic, during.slice(500));
      expect(await lag(), 'lag grows at the next scrape while stuck').to.equal(stuck + 500);
      await new Promise((r) => setTimeout(r, Math.max(0, 20000 - (Date.now() - outageStart))));
    } finally {
      await server.start();
    }
    pgPool = createPgPool(pgConfig);
    try {
      const all = [...first, ...tardies(1000, 20, 3000)];
      await eventually(
        async () => ((await pgTotals(p.schema, pgPool)).events >= all.length ? true : undefined),
        'everything after the restart',
        120000,
      );
      expect(await pgTotals(p.schema, pgPool)).to.deep.equal({ total: expectedTotal(all), events: all.length });
      const positions = await pgPool.query<{ n: string }>(`select sum(next_offset) n from "${p.schema}".runtime_positions`);
      expect(Number(positions.rows[0]?.n)).to.equal(all.length);
      expect(host.runners[0]!.circuit).to.equal('closed');
    } finally {
      await pgPool.end();
    }
  });

  it('one partition through an outage: its one chunk in flight probes the circuit and consumption resumes', async () => {
    // With a single chunk in flight, half-open gets one successful call, fewer than it needs to close
    // (BREAKER_HALF_OPEN_CALLS, 3): consumption must resume on that probe, or nothing is left to probe with.
    const server = new IsolatedPostgres(config);
    isolated.push(server);
    const pgConfig = await server.start();
    let pgPool = createPgPool(pgConfig);
    const topic = await newTopic(1);
    const p = pgSetup();
    await createCounterTable(pgPool, p.schema);
    const before = tardies(100);
    await publish(topic, before);
    const host = await startHost([pgCounter(p.name, topic, 1)], p.schema, undefined, pgConfig);
    await eventually(async () => ((await pgTotals(p.schema, pgPool)).events === 100 ? true : undefined), 'the first 100', 30000);
    await pgPool.end();
    expect(await server.stop()).to.equal(true);
    const during = tardies(100, 20, 100);
    try {
      await publish(topic, during);
      await eventually(() => Promise.resolve(host.runners[0]!.circuit === 'open' ? true : undefined), 'the circuit to open', 20000);
    } finally {
      await server.start();
    }
    pgPool = createPgPool(pgConfig);
    try {
      const after = tardies(100, 20, 200);
      await publish(topic, after);
      const all = [...before, ...during, ...after];
      await eventually(
        async () => ((await pgTotals(p.schema, pgPool)).events >= all.length ? true : undefined),
        'everything published during and after the outage',
        60000,
      );
      expect(await pgTotals(p.schema, pgPool)).to.deep.equal({ total: expectedTotal(all), events: all.length });
      // Closed only after BREAKER_HALF_OPEN_CALLS successful calls, which an idle processor may not have made yet.
      expect(host.runners[0]!.circuit).to.not.equal('open');
    } finally {
      await pgPool.end();
    }
  });

  it('SIGTERM under load exits 0 within the bound, with the applied work and its positions stored', async () => {
    const topic = await newTopic(6);
    const p = pgSetup();
    await createCounterTable(pool, p.schema);
    const events = tardies(3000);
    await publish(topic, events);
    const env = { COUNTER_STORE: 'pg', COUNTER_TOPIC: topic, COUNTER_NAME: p.name, COUNTER_SCHEMA: p.schema, COUNTER_SLOW_MS: '2' };
    const child = spawnCounter(env);
    await eventually(async () => ((await pgTotals(p.schema)).events > 200 ? true : undefined), 'progress', 60000, 50);
    const t0 = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    const elapsed = Date.now() - t0;
    expect(code).to.equal(0);
    expect(elapsed).to.be.below(15000); // the configured bound (SHUTDOWN_TIMEOUT_MS), not a speed target
    const applied = (await pgTotals(p.schema)).events;
    expect(applied).to.be.below(events.length);
    const positions = await pool.query<{ n: string }>(`select sum(next_offset) n from "${p.schema}".runtime_positions`);
    expect(Number(positions.rows[0]?.n)).to.equal(applied);
    const committed = await admin.fetchOffsets({ groupId: p.name, topics: [topic] });
    const kafkaCommitted = committed[0]!.partitions.reduce((s, x) => s + Math.max(0, Number(x.offset)), 0);
    expect(kafkaCommitted).to.equal(applied);
    spawnCounter({ ...env, COUNTER_SLOW_MS: '0' });
    await eventually(async () => ((await pgTotals(p.schema)).events >= events.length ? true : undefined), 'the rest after restart', 60000);
    expect(await pgTotals(p.schema)).to.deep.equal({ total: expectedTotal(events), events: events.length });
  });

  it('guarded Mongo updates of one document from many partitions at once lose nothing on FerretDB', async () => {
    // FerretDB v1 loses concurrent read-modify-write updates of one document; the store serialises them.
    const m = mongoSetup();
    const db = mongo.db(m.db);
    const store = new MongoStore(pool, db, mongoCounter(m.name, 'unused'));
    await store.init();
    const chunks = Array.from({ length: 6 }, (_, partition) =>
      Array.from({ length: 50 }, (_, i) => ({
        position: { topic: 't', partition, offset: i },
        event: tardies(1, 1, partition * 50 + i)[0]!,
      })),
    );
    const ctx = (position: { topic: string; partition: number; offset: number }) => ({
      processor: m.name,
      clock,
      logger,
      position,
      replaying: false,
    });
    await Promise.all(chunks.map((records) => store.applyChunk(records, ctx, undefined)));
    const doc = await db.collection<{ _id: string; events: number }>('counters').findOne({ _id: 'USR-0' });
    expect(doc?.events).to.equal(300);
  });
});
