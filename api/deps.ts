import type { MongoClient } from 'mongodb';
import type pg from 'pg';
import type { Producer } from 'kafkajs';
import type { Clock } from '../lib/clock';
import type { Config } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { createMongoClient } from '../lib/clients/mongo';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import type { Logger } from '../lib/logger';
import { migrate } from '../lib/migrate';
import { academicQueries } from '../processors/academic/queries';
import { PROCESSOR_MANIFEST } from '../processors/manifest';
import { LiveDatabases } from '../processors/runtime/mongo-live';
import { createTracing, type Tracing } from '../lib/tracing';
import { assignmentsQueries } from '../processors/assignments/queries';
import { attendanceQueries } from '../processors/attendance/queries';
import { gradesQueries } from '../processors/grades/queries';
import { notificationsQueries } from '../processors/notifications/queries';
import { usersQueries } from '../processors/users/queries';
import { EventCodec, type CodecOptions } from '../schemas/codec';
import { codecKeys, type CodecKeys } from '../schemas/codec-keys';
import { ERASURE_TOPIC, ErasureWatch } from '../schemas/erasure-watch';
import { CoalescingPublisher, createEventProducer, EventPublisher } from '../schemas/publisher';
import type { JwtKeys } from './auth/jwt';
import type { Relations } from './auth/authorize';
import { DependencyGuard } from './http/guard';
import type { Locator } from './locator';
import { OpsService } from './ops/service';
import { TraceReader } from './ops/traces';
import { ReferenceCache } from './commands/checks/reference-cache';
import { EventStatusReader } from './status';
import { API_SCHEMA, CommandLog, IdempotencyStore } from './stores';
import path from 'node:path';

export const API_MIGRATIONS = path.join(__dirname, 'migrations');

/** Everything a request handler may use; built once at the entry point (or by a test). */
export interface ApiDeps {
  config: Config;
  /** Spans per request (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: Tracing;
  logger: Logger;
  clock: Clock;
  keys: JwtKeys;
  codec: EventCodec;
  publisher: Pick<EventPublisher, 'publish'>;
  guard: DependencyGuard;
  idempotency: IdempotencyStore;
  commands: CommandLog;
  status: EventStatusReader;
  /** The operator console's reads and redrives (admin-only endpoints). */
  ops: OpsService;
  /** Traces from the tracing backend's query API (the console's saga trace). */
  traces: TraceReader;
  /** Sections and years the command rules found, kept API_REFERENCE_CACHE_MS to allow a command (a refusal re-reads them: api/commands/checks). */
  reference: ReferenceCache;
  relations: Relations;
  /** Personal data keys (issue 21): erasing one deletes it for good (PgDataKeyStore.erase). */
  privacy: { erase(subject: string): Promise<boolean> };
  q: ReturnType<typeof createQueries>;
  /** Liveness of the connections, for /ready. */
  ready(): Promise<Record<string, boolean>>;
}

function createQueries(pool: pg.Pool, live: LiveDatabases, at: Locator) {
  return {
    users: usersQueries(() => live.db('users')),
    academic: academicQueries(pool, at.pgSchema('academic')),
    assignments: assignmentsQueries(pool, at.pgSchema('assignments')),
    grades: gradesQueries(pool, at.pgSchema('grades')),
    attendance: attendanceQueries(pool, at.pgSchema('attendance')),
    notifications: notificationsQueries(() => live.db('notifications')),
  };
}

export interface ApiResources {
  deps: ApiDeps;
  close(): Promise<void>;
}

/** Connects to Kafka, the registry, PostgreSQL and Mongo, migrates the API's own schema. */
export async function createApiDeps(config: Config, logger: Logger, clock: Clock, keys: JwtKeys, at: Locator): Promise<ApiResources> {
  // The ops timeout bounds reading dead-letter topics from Kafka; the ops endpoints' own SQL is tiny.
  const storeTimeouts = Object.entries(config.api.timeouts).filter(([dep]) => dep !== 'ops');
  const pool = createPgPool(config, { statement_timeout: Math.max(...storeTimeouts.map(([, ms]) => ms)) }, logger);
  const mongo: MongoClient = createMongoClient(config, { serverSelectionTimeoutMS: 5000 });
  const kafka = createKafka(config, logger);
  const producer: Producer = createEventProducer(kafka);
  let dataKeys: CodecKeys;
  try {
    await mongo.connect();
    await producer.connect();
    await migrate(pool, at.pgSchema(API_SCHEMA), API_MIGRATIONS);
    dataKeys = await codecKeys(config, pool); // personal fields encrypted in the events the API publishes
  } catch (e) {
    await Promise.allSettled([pool.end(), mongo.close(), producer.disconnect()]);
    throw e;
  }
  const codecOptions: CodecOptions = dataKeys;
  // Another instance's (or the CLI's) erasure evicts the key from this one's cache too; started in the background.
  const erasureWatch = ErasureWatch.inBackground({
    kafka,
    forget: (subject) => dataKeys.store.forget(subject),
    logger,
    topic: at.topicName(ERASURE_TOPIC),
    groupPrefix: config.kafka.clientId,
  });
  const db = mongo.db(at.mongoDb);
  const codec = new EventCodec(createSchemaRegistry(config), codecOptions);
  const guard = new DependencyGuard(config);
  // Each Mongo projection is read from its live version (a rebuild's switch reaches the API within MONGO_LIVE_CHECK_MS).
  const live = new LiveDatabases(mongo, at.mongoDb, config.mongo.liveCheckMs);
  const q = createQueries(pool, live, at);
  const apiSchema = at.pgSchema(API_SCHEMA);
  const reference = new ReferenceCache(config.api.referenceCacheMs);
  const relations: Relations = {
    // Links only grow, so a child seen linked stays linked; anything else is read fresh (ReferenceCache.holds).
    isChildOf: (parent, student) =>
      reference.holds(`children:${parent}`, student, async () => (await guard.run('auth', () => q.users.user(parent)))?.children ?? []),
    sectionsTaughtBy: async (teacher) =>
      (await guard.run('auth', () => q.assignments.teacherCourses(teacher))).map((a) => String(a.sectionId)),
    activeSectionsOf: async (student) =>
      (await guard.run('auth', () => q.academic.enrollmentsOfStudent(student)))
        .filter((e) => e.active === true)
        .map((e) => String(e.sectionId)),
  };
  const tracing = createTracing(config, 'school-events-api');
  // The processors as data: the API reads their names, stores and types, and builds none of them.
  const defs = PROCESSOR_MANIFEST;
  const deps: ApiDeps = {
    config,
    tracing,
    logger,
    clock,
    keys,
    codec,
    publisher: new CoalescingPublisher(new EventPublisher(producer, codec, (e) => at.topic(e.eventType))),
    guard,
    idempotency: new IdempotencyStore(pool, config.api.idempotencyTtlMs, apiSchema),
    commands: new CommandLog(pool, apiSchema),
    status: new EventStatusReader(pool, live, defs, at),
    ops: new OpsService(kafka, producer, pool, codec, defs, at, config),
    traces: new TraceReader(config.tracing.queryUrl, config.tracing.serviceName),
    reference,
    relations,
    privacy: { erase: (subject) => dataKeys.store.erase(subject) },
    q,
    async ready() {
      const [pg, mg] = await Promise.allSettled([pool.query('select 1'), db.command({ ping: 1 })]);
      return { postgres: pg.status === 'fulfilled', mongo: mg.status === 'fulfilled' };
    },
  };
  return {
    deps,
    async close() {
      await erasureWatch.stop();
      await Promise.allSettled([producer.disconnect(), pool.end(), mongo.close(), tracing.shutdown()]);
    },
  };
}
