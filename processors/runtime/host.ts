import type http from 'node:http';
import type { Db, MongoClient } from 'mongodb';
import type pg from 'pg';
import type { Admin, Producer } from 'kafkajs';
import { systemClock, type Clock } from '../../lib/clock';
import type { Config } from '../../lib/config';
import { createKafka } from '../../lib/clients/kafka';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import type { Logger } from '../../lib/logger';
import { EventCodec } from '../../schemas/codec';
import { codecKeys } from '../../schemas/codec-keys';
import { ERASURE_TOPIC, ErasureWatch } from '../../schemas/erasure-watch';
import { EVENT_DEFINITIONS, type SchoolEvent } from '../../schemas/generated/events';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { startOpsServer } from './http';
import { endOffsetsOnce } from './end-offsets';
import { HeartbeatWriter } from './heartbeat';
import { RuntimeMetrics } from './metrics';
import { registerMongoGauges, registerStoreGauges } from './store-gauges';
import { MongoStore } from './mongo-store';
import { projectionDb, projectionSchema } from './names';
import { LiveDatabases } from './mongo-live';
import { createTracing, type Tracing } from '../../lib/tracing';
import { PostgresStore } from './postgres-store';
import { ProcessorRunner } from './runner';
import { StatelessStore } from './stateless-store';
import type { RuntimeStore } from './store';
import type { ProcessorDefinition } from './types';

export interface HostOptions {
  /** Port for /metrics, /health, /ready; 0 picks a free one. */
  opsPort?: number;
  clock?: Clock;
  /** Postgres schema of each processor's projection (default proj_<name>). */
  pgSchema?: (def: ProcessorDefinition) => string;
  /** Mongo database of each processor's projection (default config.mongo.db). */
  mongoDb?: (def: ProcessorDefinition) => string;
  groupId?: (def: ProcessorDefinition) => string;
  /** Group recorded with applied events and positions in the store (default: the consumer group). A rebuild
   * records under the live name so the live processor continues seamlessly after the switch. */
  storeGroup?: (def: ProcessorDefinition) => string;
  replaying?: boolean;
  /** Exclusive upper offset per physical topic partition (rebuild as of a moment). */
  stopAt?: (topic: string, partition: number) => number | undefined;
  /** Physical topic of a catalog topic name; tests isolate a run with a prefix. */
  topicName?: (topic: string) => string;
}

/**
 * Runs one or more processors in this process: builds every dependency once from the
 * validated config, starts the consumers and the ops HTTP server, and stops it all
 * gracefully within the configured bound.
 */
export class ProcessorHost {
  readonly metrics = new RuntimeMetrics();
  readonly runners: ProcessorRunner[] = [];
  private server: http.Server | undefined;
  private pool: pg.Pool | undefined;
  private mongo: MongoClient | undefined;
  private stopping = false;
  private started = false;
  private publisher: EventPublisher | undefined;
  private readonly tasks: Array<{ start(): void; stop(): Promise<void> }> = [];
  private readonly kafka;
  /** The tasks' producer (saga deadlines); each processor has its own (see start). */
  private readonly producer;
  private readonly producers: Producer[] = [];
  private admin: Admin | undefined;
  private readonly tracing: Tracing;
  /** Evicts erased people's keys from this process's cache (live hosts; started in the background). */
  private erasureWatch: ErasureWatch | undefined;

  constructor(
    private readonly defs: ProcessorDefinition[],
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly opts: HostOptions = {},
  ) {
    this.kafka = createKafka(config, logger);
    this.producer = createEventProducer(this.kafka);
    // A rebuild sends no spans: it applies what live applied (and traced) before.
    this.tracing = opts.replaying
      ? createTracing({ tracing: { endpoint: '', serviceName: '' } }, '')
      : createTracing(config, `school-events-${defs.length === 1 ? defs[0]!.name : 'processors'}`);
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  private storeFor(def: ProcessorDefinition): RuntimeStore {
    switch (def.store) {
      case 'postgres': {
        this.pool ??= createPgPool(this.config, {}, this.logger);
        const schema = this.opts.pgSchema?.(def) ?? projectionSchema(def.name);
        if (def.gauges) registerStoreGauges(this.metrics.registry, this.pool, schema, def.gauges);
        return new PostgresStore(this.pool, schema, def, this.storeGroup(def));
      }
      case 'mongo':
        this.mongo ??= createMongoClient(this.config);
        this.pool ??= createPgPool(this.config, {}, this.logger);
        if (def.gauges && !this.opts.replaying) {
          const live = new LiveDatabases(this.mongo, this.mongoDb(def).databaseName, this.config.mongo.liveCheckMs);
          registerMongoGauges(this.metrics.registry, () => live.db(def.name), def.gauges);
        }
        // A rebuild writes its target; a live processor follows the projection's live pointer (mongo-live.ts).
        return new MongoStore(
          this.pool,
          this.mongoDb(def),
          def,
          this.storeGroup(def),
          this.opts.replaying
            ? undefined
            : new LiveDatabases(this.mongo, this.mongoDb(def).databaseName, this.config.mongo.liveCheckMs, 'write'),
        );
      case 'none':
        return new StatelessStore(def);
      default: {
        const never: never = def;
        throw new Error(`unknown store of ${JSON.stringify(never)}`);
      }
    }
  }

  private storeGroup(def: ProcessorDefinition): string | undefined {
    return this.opts.storeGroup?.(def) ?? this.opts.groupId?.(def);
  }

  private mongoDb(def: ProcessorDefinition): Db {
    return this.mongo!.db(this.opts.mongoDb?.(def) ?? projectionDb(this.config));
  }

  async start(): Promise<void> {
    // A second start would add a second consumer per processor to the same groups, each with its own
    // store and per-document locks: on FerretDB their updates of one document race (the chaos worker did this).
    if (this.started) throw new Error('ProcessorHost.start() called twice: a host runs its processors once');
    this.started = true;
    // Personal fields: decrypted for the handlers, encrypted in what the processors publish (issue 21).
    this.pool ??= createPgPool(this.config, {}, this.logger);
    const keys = await codecKeys(this.config, this.pool);
    const codec = new EventCodec(createSchemaRegistry(this.config), keys);
    await this.producer.connect();
    const topicName = this.opts.topicName ?? ((t: string) => t);
    // A rebuild runs none: it applies the erasure events in its range itself, and the key TTL bounds the rest.
    if (!this.opts.replaying)
      this.erasureWatch = ErasureWatch.inBackground({
        kafka: this.kafka,
        forget: (subject) => keys.store.forget(subject),
        logger: this.logger,
        topic: topicName(ERASURE_TOPIC),
        groupPrefix: this.config.kafka.clientId,
      });
    const publisher = new EventPublisher(this.producer, codec, (e) => topicName(EVENT_DEFINITIONS[e.eventType].topic));
    this.publisher = publisher;
    for (const def of this.defs) {
      const store = this.storeFor(def);
      // One producer per processor: kafkajs's idempotent producer sends one request per broker at a time,
      // so processors sharing one would wait for each other's acks.
      const producer = createEventProducer(this.kafka);
      await producer.connect();
      this.producers.push(producer);
      this.runners.push(
        new ProcessorRunner(def, {
          kafka: this.kafka,
          codec,
          publisher: new EventPublisher(producer, codec, publisher.topicOf),
          producer,
          store,
          runtime: this.config.runtime,
          logger: this.logger.child({ processor: def.name }),
          metrics: this.metrics,
          clock: this.opts.clock ?? systemClock,
          groupId: this.opts.groupId?.(def),
          replaying: this.opts.replaying,
          topicName: this.opts.topicName,
          stopAt: this.opts.stopAt,
          followEveryMs: this.config.mongo.liveCheckMs,
          tracing: this.tracing,
        }),
      );
    }
    // Lag at every scrape, from the broker, for the partitions each runner holds (not only when a chunk applies).
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    // Several processors of one process read the same topics: each topic's end offsets asked once per scrape.
    this.metrics.lagSource = async () => {
      const endsOf = endOffsetsOnce(admin);
      return (await Promise.all(this.runners.map((r) => r.lag(admin, endsOf)))).flat();
    };
    this.server = await startOpsServer(this.opts.opsPort ?? this.config.metrics.port, this.metrics.registry, {
      alive: () => !this.stopping,
      readiness: () => ({
        ready: this.runners.every((r) => r.ready),
        details: { processors: Object.fromEntries(this.runners.map((r) => [r.def.name, { ready: r.ready, circuit: r.circuit }])) },
      }),
    });
    await Promise.all(this.runners.map((r) => r.start()));
    // The processors' declared tasks (a rebuild runs none: it must not publish).
    if (!this.opts.replaying)
      for (const def of this.defs)
        for (const task of def.tasks ?? [])
          this.addTask(
            task({
              config: this.config,
              schema: this.opts.pgSchema?.(def) ?? projectionSchema(def.name),
              publish: (events) => this.publish(events),
              clock: this.opts.clock ?? systemClock,
              logger: this.logger.child({ processor: def.name }),
            }),
          );
    // Readiness and circuit of each runner for the API's ops status (a rebuild is not a live processor).
    if (!this.opts.replaying) {
      this.pool ??= createPgPool(this.config, {}, this.logger);
      this.addTask(new HeartbeatWriter(this.pool, this.runners, this.config.runtime.heartbeatMs, this.logger));
    }
    for (const t of this.tasks) t.start();
    this.logger.info('processors started', { processors: this.defs.map((d) => d.name), opsPort: this.port });
  }

  /** A timer-driven task started after the consumers and stopped before them (processors declare theirs in `tasks`). */
  addTask(task: { start(): void; stop(): Promise<void> }): void {
    this.tasks.push(task);
  }

  /** Publishes through the host's producer and topic mapping (for timers that emit events, e.g. saga deadlines). */
  async publish(events: SchoolEvent[]): Promise<void> {
    if (!this.publisher) throw new Error('host not started');
    await this.publisher.publish(...events);
  }

  /** Graceful stop: in-flight chunks finish, positions are stored, consumers leave their groups. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.tasks) await t.stop();
    await this.erasureWatch?.stop();
    await Promise.all(this.runners.map((r) => r.stop()));
    this.metrics.lagSource = undefined;
    await this.admin?.disconnect();
    await this.producer.disconnect();
    for (const p of this.producers) await p.disconnect();
    await this.pool?.end();
    await this.mongo?.close();
    await this.tracing.shutdown();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Entry-point helper: run until SIGTERM/SIGINT, then stop within the bound and exit 0 (1 if the bound is exceeded). */
export async function runUntilSignal(host: ProcessorHost, config: Config, logger: Logger): Promise<void> {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info('stopping', { signal, boundMs: config.runtime.shutdownTimeoutMs });
    const timer = setTimeout(() => {
      logger.error('graceful stop exceeded its bound; exiting', { boundMs: config.runtime.shutdownTimeoutMs });
      process.exit(1);
    }, config.runtime.shutdownTimeoutMs);
    timer.unref();
    host.stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (e: unknown) => {
        logger.error('error while stopping', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await host.start();
}
