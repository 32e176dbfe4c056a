import { PROCESSOR_NAMES } from '../../processors/all';
import type { Db, MongoClient } from 'mongodb';
import type pg from 'pg';
import type { Admin, Producer } from 'kafkajs';
import type { Config } from '../../lib/config';
import { createKafka, withKafkaAdmin } from '../../lib/clients/kafka';
import { groupLag } from '../../scripts/lag';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { systemClock } from '../../lib/clock';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { createProcessors } from '../../processors/all';
import { PG_MIGRATIONS, PROCESSOR_MANIFEST } from '../../processors/manifest';
import { appliedIds } from '../../processors/runtime/bookkeeping';
import { ProcessorHost } from '../../processors/runtime/host';
import { projectionDb, projectionSchema } from '../../processors/runtime/names';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import { EVENT_DEFINITIONS, type EventPayloads, type EventType, type SchoolEvent } from '../../schemas/generated/events';
import { topicCatalog, type TopicSpec } from '../../topics/catalog';
import { applyTopics } from '../../topics/provision';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { eventually, randomName } from './index';
import { committedOffsets, endOffsets, partitionKey, type PartitionOffsets } from './kafka';

export { PROCESSOR_NAMES };

/** The consumer group of a processor in an isolated run. */
const groupOf = (run: string, processor: string): string => `${run}-${processor}`;

/** An isolated run's copy of a catalog topic. */
const topicOf = (run: string, topic: string): string => `${run}.${topic}`;

/**
 * The consumer group and topics (the run's copies) of each named processor of an isolated run, wherever the
 * processors run (this process or workers of their own), for lag and offset queries.
 */
export function isolatedGroups(
  config: Config,
  run: string,
  names: readonly string[],
): Array<{ name: string; groupId: string; topics: string[] }> {
  return PROCESSOR_MANIFEST.filter((d) => names.includes(d.name)).map((d) => ({
    name: d.name,
    groupId: groupOf(run, d.name),
    topics: d.topics.map((t) => topicOf(run, t)),
  }));
}

/** A host for some processors of an isolated run: its prefixed topics, groups, schemas and database (tests, chaos workers). */
export function isolatedHost(
  config: Config,
  run: string,
  names: readonly string[],
  logger: ReturnType<typeof createLogger>,
  opsPort = 0,
): ProcessorHost {
  const defs = createProcessors(config, logger).filter((d) => names.includes(d.name));
  const host = new ProcessorHost(defs, config, logger, {
    opsPort,
    groupId: (d) => groupOf(run, d.name),
    pgSchema: (d) => projectionSchema(d.name, run),
    mongoDb: () => projectionDb(config, run),
    topicName: (t) => topicOf(run, t),
  });
  return host;
}

/**
 * The whole pipeline in this process, isolated for one test run: every processor with
 * own copy of the topic catalog (prefixed), consumer groups, Postgres schemas and Mongo
 * database, so runs never see each other's events.
 */
export class TestPipeline {
  host!: ProcessorHost;
  pool!: pg.Pool;
  mongo!: MongoClient;
  producer!: Producer;
  publisher!: EventPublisher;
  private topics: TopicSpec[] = [];

  constructor(
    readonly config: Config,
    /** Processors left out (a saga that needs them stalls: deadline tests; all of them: processors run elsewhere). */
    private readonly without: readonly string[] = [],
    readonly run = randomName('e2e').replace(/-/g, '_'),
  ) {}

  schema(name: string): string {
    return projectionSchema(name, this.run);
  }

  get db(): Db {
    return this.mongo.db(projectionDb(this.config, this.run));
  }

  /** This run's copy of a catalog topic. */
  topic(name: string): string {
    return topicOf(this.run, name);
  }

  async start(): Promise<void> {
    const kafka = createKafka(this.config);
    const admin = kafka.admin();
    await admin.connect();
    this.topics = topicCatalog(this.config).map((t) => ({ ...t, name: this.topic(t.name) }));
    await applyTopics(admin, this.topics);
    await admin.disconnect();
    this.pool = createPgPool(this.config);
    for (const [name, dir] of Object.entries(PG_MIGRATIONS)) await migrate(this.pool, this.schema(name), dir);
    this.mongo = createMongoClient(this.config);
    await this.mongo.connect();
    this.producer = createEventProducer(kafka);
    await this.producer.connect();
    this.publisher = new EventPublisher(this.producer, new EventCodec(createSchemaRegistry(this.config)), (e) =>
      this.topic(EVENT_DEFINITIONS[e.eventType].topic),
    );
    await this.startHost();
  }

  private async startHost(): Promise<void> {
    const names = PROCESSOR_NAMES.filter((n) => !this.without.includes(n));
    if (!names.length) return; // the processors run in other processes (chaos)
    const host = isolatedHost(this.config, this.run, names, createLogger(this.config, 'e2e'));
    this.host = host;
    await host.start();
    // On a fresh broker the first group joins wait for __consumer_offsets to be created and loaded; a test's
    // own deadlines should measure the pipeline, not that one-off start-up.
    await eventually(
      () => Promise.resolve(host.runners.every((r) => r.ready) ? true : undefined),
      'every processor joined its group',
      120_000,
    );
  }

  /** Stops every processor (gracefully, mid-work) and starts them again on the same groups and stores. */
  async restart(): Promise<void> {
    await this.host.stop();
    await this.startHost();
  }

  async stop(): Promise<void> {
    await this.host?.stop();
    await this.deleteAll();
  }

  /** Deletes this run's topics, schemas and database (also for runs whose processors ran in other processes). */
  async deleteAll(): Promise<void> {
    const admin = createKafka(this.config).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: this.topics.map((t) => t.name) });
    await admin.disconnect();
    for (const name of Object.keys(PG_MIGRATIONS)) await this.pool.query(`drop schema if exists "${this.schema(name)}" cascade`);
    await this.mongo?.db(projectionDb(this.config, this.run)).dropDatabase();
    await this.close();
  }

  /** Closes this run's connections and leaves its topics, schemas and database in place (a kept chaos run). */
  async close(): Promise<void> {
    await this.producer?.disconnect();
    await this.pool?.end();
    await this.mongo?.close();
  }

  /** Each running processor's consumer group and this run's copies of the topics it reads. */
  groups(): Array<{ groupId: string; topics: string[] }> {
    return (this.host?.runners ?? []).map((r) => ({
      groupId: groupOf(this.run, r.def.name),
      topics: r.def.topics.map((t) => this.topic(t)),
    }));
  }

  private withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    return withKafkaAdmin(createKafka(this.config), use);
  }

  /**
   * Waits until every group that reads a record's topic has committed past it: the processor applied the
   * record, or found it a duplicate, and published what it emitted (the runtime commits after both).
   */
  async consumedPast(records: Array<{ topic: string; partition: number; offset: string }>, timeoutMs = 60000): Promise<void> {
    await this.withAdmin((admin) =>
      eventually(
        async () => {
          for (const g of this.groups()) {
            const mine = records.filter((r) => g.topics.includes(r.topic));
            if (!mine.length) continue;
            const committed = await committedOffsets(admin, g.groupId, [...new Set(mine.map((r) => r.topic))]);
            if (mine.some((r) => (committed.get(partitionKey(r.topic, r.partition)) ?? 0) <= Number(r.offset))) return undefined;
          }
          return true;
        },
        `every group to consume past ${records.length} records`,
        timeoutMs,
        200,
      ),
    );
  }

  /**
   * Waits until the pipeline is idle: every group has committed up to the end of every topic it reads, twice
   * in a row with the same end offsets (nothing was emitted in between). Then no event is in flight: whatever
   * a processor emits is published before it commits the record that caused it.
   */
  async settled(timeoutMs = 90000): Promise<void> {
    let previous: PartitionOffsets | undefined;
    await this.withAdmin((admin) =>
      eventually(
        async () => {
          const groups = this.groups();
          const ends = await endOffsets(admin, [...new Set(groups.flatMap((g) => g.topics))]);
          const lag = await groupLag(
            admin,
            groups.map((g) => ({ name: g.groupId, ...g })),
          );
          const caughtUp = Object.values(lag).every((l) => l === 0);
          const stable = caughtUp && previous !== undefined && [...ends].every(([k, end]) => previous!.get(k) === end);
          previous = caughtUp ? ends : undefined;
          return stable ? true : undefined;
        },
        'every processor to catch up with every topic it reads',
        timeoutMs,
        300,
      ),
    );
  }

  /**
   * Waits until a Postgres processor has applied its saga outcomes of a type for an enrollment (`count` of
   * them: a transfer repeats steps 4 and 5): academic recorded them in the saga timeline, and the processor
   * their eventIds as applied. Returns those eventIds.
   */
  async outcomesApplied(processor: string, enrollmentId: string, eventType: EventType, count = 1): Promise<string[]> {
    return eventually(
      async () => {
        const ids = (
          await this.pool.query<{ event_id: string }>(
            `select event_id from "${this.schema('academic')}".saga_timeline where enrollment_id = $1 and event_type = $2`,
            [enrollmentId, eventType],
          )
        ).rows.map((r) => r.event_id);
        if (ids.length !== count) return undefined;
        const done = await appliedIds(
          { store: 'postgres', pool: this.pool, schema: this.schema(processor) },
          groupOf(this.run, processor),
          ids,
        );
        return done.size === count ? ids : undefined;
      },
      `${processor} to apply ${count} × ${eventType} of ${enrollmentId}`,
      60000,
    );
  }

  /**
   * Waits until academic has read a section. A section is on academic-events and the sagas that seat in it are
   * on enrollment-events: publish order across two topics is no read order, and a saga validated before academic
   * reads its section fails with SECTION_NOT_FOUND (seen in CI when a fresh broker's first fetch of a run's new
   * topics was slow, over 30 s). Tests that seed a section directly wait for it before they enroll.
   */
  async sectionKnown(sectionId: string, timeoutMs = 90_000): Promise<void> {
    await this.rowsKnown('academic', 'sections where id = $1', [sectionId], 1, `academic to read section ${sectionId}`, timeoutMs);
  }

  /**
   * Waits until assignments has applied `count` schedules of a section: it parks a schedule until its teacher's
   * creation and its course (other topics) are read, and the API reads a section's school days from its schedules.
   */
  async schedulesKnown(sectionId: string, count: number, timeoutMs = 90_000): Promise<void> {
    const what = `assignments to apply ${count} schedules of section ${sectionId}`;
    await this.rowsKnown('assignments', 'schedules where section_id = $1', [sectionId], count, what, timeoutMs);
  }

  /** Waits until `processor`'s projection holds at least `count` rows of `from` (a table and its condition). */
  private async rowsKnown(
    processor: string,
    from: string,
    values: unknown[],
    count: number,
    what: string,
    timeoutMs: number,
  ): Promise<void> {
    await eventually(
      async () =>
        (await this.pool.query<{ n: number }>(`select count(*)::int n from "${this.schema(processor)}".${from}`, values)).rows[0]!.n >=
        count
          ? true
          : undefined,
      what,
      timeoutMs,
    );
  }

  async publish<T extends EventType>(
    type: T,
    payload: EventPayloads[T],
    correlationId?: string,
    causationId?: string,
  ): Promise<SchoolEvent<T>> {
    const e = buildEvent(type, payload, {
      sourceService: 'e2e',
      clock: systemClock,
      correlationId,
      causationId,
      metadata: { triggeredBy: 'USR-ADMIN-001' },
    });
    await this.publisher.publish(e as SchoolEvent);
    return e;
  }

  async publishMany(events: SchoolEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 500) await this.publisher.publish(...events.slice(i, i + 500));
  }

  async enrollment(id: string): Promise<EnrollmentRow | undefined> {
    const r = await this.pool.query<EnrollmentRow>(`select * from "${this.schema('academic')}".enrollments where enrollment_id = $1`, [id]);
    return r.rows[0];
  }
}

export interface EnrollmentRow {
  enrollment_id: string;
  status: string;
  current_step: string;
  failed_step: string | null;
  failure_reason: string | null;
  seat_held: boolean;
  active: boolean;
  compensated: string[];
  warnings: string[];
}
