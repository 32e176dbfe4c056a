import type { Admin, Batch, Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Clock } from '../../lib/clock';
import type { Config } from '../../lib/config';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { EventCodec } from '../../schemas/codec';
import type { SchoolEvent } from '../../schemas/generated/events';
import type { EventPublisher } from '../../schemas/publisher';
import { backoffMs, CircuitBreaker, type CircuitState } from './breaker';
import { headerString, sendDeadLetter } from './dead-letters';
import { classify, isContention, OutboxSendError, RuleViolationError, StoppingError } from './errors';
import { GroupWriter, MergedFailure } from './group-writer';
import { KeyedMutex } from './keyed-mutex';
import { SpanStatusCode, TraceFlags, type Link } from '@opentelemetry/api';
import { parseTraceparent, processSpanId, SpanKind, type Tracing } from '../../lib/tracing';
import type { PartitionEnds } from './end-offsets';
import type { LagSample, RuntimeMetrics } from './metrics';
import type { ChunkResult, Outbound, Ready, RuntimeStore } from './store';
import type { Position, ProcessorDefinition, ProjectContext } from './types';

export interface RunnerDeps {
  kafka: Kafka;
  codec: EventCodec;
  publisher: EventPublisher;
  /** For dead letters (plain sends; the event producer is idempotent and keyed). */
  producer: Producer;
  store: RuntimeStore;
  runtime: Config['runtime'];
  logger: Logger;
  metrics: RuntimeMetrics;
  clock: Clock;
  /** Consumer group; defaults to the processor name (a rebuild uses its own). */
  groupId?: string;
  /** Rebuild mode: derived events are not published. */
  replaying?: boolean;
  /** Physical topic of a catalog topic name (identity in production; tests isolate runs with a prefix). */
  topicName?: (topic: string) => string;
  /** Exclusive upper offset per partition (a rebuild "as of" a moment); records from it on are left alone. */
  stopAt?: (topic: string, partition: number) => number | undefined;
  /** How often a live Mongo processor re-reads which version of its projection is live (followLive). */
  followEveryMs?: number;
  tracing?: Tracing;
}

interface Item {
  message: KafkaMessage;
  position: Position;
  event?: SchoolEvent;
  known: { schemaId?: number; eventType?: string; eventId?: string; correlationId?: string };
  /** Set when the record cannot be decoded: it is dead-lettered, never applied. */
  failure?: unknown;
  deadLettered?: boolean;
}

/**
 * A chunk of records this processor only skips (types it does not handle) stores its positions at most this
 * often per partition while more records are known to follow: on a shared topic most chunks are such, and each
 * was a store transaction of its own. Nothing depends on those positions but the restart point, and the
 * Kafka-committed offset covers that; the last chunk before the known end is always stored (rebuilds wait for it).
 */
const SKIPPED_POSITIONS_EVERY_MS = 1000;

/**
 * The consumer loop every processor shares: per-partition batches in order, chunks
 * applied exactly once through the store, transient failures retried with backoff
 * while holding the partition, permanent ones dead-lettered, graceful stop.
 */
/** One call of the store for a chunk: when, and why it failed (retried). */
interface StoreAttempt {
  start: number;
  end: number;
  error?: string;
}

export class ProcessorRunner {
  private consumer: Consumer | undefined;
  private stopping = false;
  private joined = false;
  private paused = false;
  private readonly breaker: CircuitBreaker;
  private readonly positions = new Map<string, number | undefined>();
  /** Partitions of this instance, by topic (from the last group join). */
  private assignment: Record<string, number[]> = {};
  /** When the store last recorded a partition's position (see SKIPPED_POSITIONS_EVERY_MS). */
  private readonly storedAt = new Map<string, number>();
  /**
   * Per partition, the offset below which records were already handled by this group (applied in a Mongo
   * projection's previous live version, or skipped) and are re-applied for state only: no event leaves and no
   * effect runs again (see the rewind in onBatch).
   */
  private readonly catchUp = new Map<string, number>();
  /** One chunk (or live-version check) at a time per partition. */
  private readonly partitionLocks = new KeyedMutex();
  private follow: NodeJS.Timeout | undefined;
  /** The outbox may hold rows this process did not commit (set at start and on every assignment). */
  private leftovers = true;
  readonly group: string;
  private readonly topics: string[];
  private readonly handles: ReadonlySet<string>;
  private readonly writer: GroupWriter | undefined;

  constructor(
    readonly def: ProcessorDefinition,
    private readonly deps: RunnerDeps,
  ) {
    this.group = deps.groupId ?? def.name;
    this.topics = def.topics.map(deps.topicName ?? ((t) => t));
    this.handles = new Set(def.handles);
    // auto: what the processor declares, live; a rebuild writes per partition (measured faster with bench:replay,
    // docs/decisions.md).
    const writer = deps.runtime.writer !== 'auto' ? deps.runtime.writer : deps.replaying ? 'partition' : (def.writer ?? 'partition');
    this.writer =
      writer === 'instance'
        ? new GroupWriter(
            (records) => deps.store.applyChunk(records, this.ctx, this.outbound),
            deps.runtime.batchSize * deps.runtime.partitionsConcurrency,
          )
        : undefined;
    this.breaker = new CircuitBreaker({
      failures: deps.runtime.breakerFailures,
      openMs: deps.runtime.breakerOpenMs,
      halfOpenCalls: deps.runtime.breakerHalfOpenCalls,
    });
  }

  /** Connected, assigned to the group, and the store's circuit is not open. */
  get ready(): boolean {
    return this.joined && !this.stopping && this.breaker.current !== 'open';
  }

  get circuit(): CircuitState {
    return this.breaker.current;
  }

  async start(): Promise<void> {
    await this.deps.store.init();
    // What a crash left committed but unsent leaves before anything new (the heartbeat is not running yet).
    await this.drainOutbox(0, () => Promise.resolve());
    const consumer = this.deps.kafka.consumer({
      groupId: this.group,
      sessionTimeout: this.deps.runtime.sessionTimeoutMs,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // A chunk is what one fetch returned (at most batchSize records): bounded by count, and by time through these.
      minBytes: this.deps.runtime.fetchMinBytes,
      maxWaitTimeInMs: this.deps.runtime.commitIntervalMs,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joined = true;
      this.leftovers = true; // a crashed instance's partitions may come with committed, unsent outbox rows
      this.positions.clear(); // a rebalance may hand us partitions another instance advanced
      this.assignment = e.payload.memberAssignment;
      this.deps.logger.info('joined group', { processor: this.def.name, group: this.group, assignment: e.payload.memberAssignment });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.joined = false;
      this.assignment = {};
      this.deps.logger.error('consumer crashed', { processor: this.def.name, error: String(e.payload.error), restart: e.payload.restart });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    if (this.deps.store.pin && !this.deps.replaying && this.deps.followEveryMs) {
      this.follow = setInterval(() => {
        this.followLive().catch((e: unknown) => this.deps.logger.warn('checking the live version failed', { error: String(e) }));
      }, this.deps.followEveryMs);
      this.follow.unref();
    }
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.runtime.partitionsConcurrency,
      eachBatch: async (payload) => {
        try {
          await this.onBatch(payload.batch, payload);
        } catch (e) {
          if (e instanceof StoppingError) return; // leave offsets where they are
          throw e;
        }
      },
    });
  }

  /** Finishes the in-flight chunk, commits what was applied, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.follow);
    await this.consumer?.disconnect();
    this.joined = false;
    this.assignment = {};
  }

  /**
   * Each assigned partition's lag: the broker's end offset minus the next offset to apply (the position this
   * runner holds, or the group's committed offset, whichever is further, at least the partition's start).
   * Read when asked, so a partition stuck retrying shows its lag growing while records keep arriving.
   */
  async lag(admin: Admin, endsOf: (topic: string) => Promise<PartitionEnds[]>): Promise<LagSample[]> {
    const topics = Object.keys(this.assignment).filter((t) => this.assignment[t]?.length);
    if (!this.joined || !topics.length) return [];
    const committed = new Map<string, number>();
    for (const t of await admin.fetchOffsets({ groupId: this.group, topics }))
      for (const p of t.partitions) committed.set(`${t.topic}\u0000${p.partition}`, Number(p.offset));
    const out: LagSample[] = [];
    for (const topic of topics) {
      const mine = new Set(this.assignment[topic]);
      for (const p of await endsOf(topic)) {
        if (!mine.has(p.partition)) continue;
        const key = `${topic}\u0000${p.partition}`;
        const next = Math.max(this.positions.get(key) ?? -1, committed.get(key) ?? -1, p.low);
        out.push({ processor: this.def.name, topic, partition: p.partition, lag: Math.max(0, p.high - next) });
      }
    }
    return out;
  }

  private async storedPosition(topic: string, partition: number): Promise<number | undefined> {
    const key = `${topic}\u0000${partition}`;
    if (!this.positions.has(key))
      this.positions.set(
        key,
        await this.retrying(
          () => this.deps.store.position(topic, partition),
          () => undefined,
        ),
      );
    return this.positions.get(key);
  }

  private async onBatch(
    batch: Batch,
    k: {
      resolveOffset: (o: string) => void;
      heartbeat: () => Promise<void>;
      commitOffsetsIfNecessary: () => Promise<void>;
      isRunning: () => boolean;
      isStale: () => boolean;
    },
  ): Promise<void> {
    const { topic, partition } = batch;
    const size = this.deps.runtime.batchSize;
    const bound = this.deps.stopAt?.(topic, partition);
    const messages = bound === undefined ? batch.messages : batch.messages.filter((m) => Number(m.offset) < bound);
    // Past the bound: stop fetching this partition instead of re-reading what will never be applied.
    if (bound !== undefined && messages.length === 0) return this.consumer?.pause([{ topic, partitions: [partition] }]);
    const key = `${topic}\u0000${partition}`;
    // Records known to follow this batch's chunks: up to the partition's end, or the rebuild's bound.
    const end = Math.min(Number(batch.highWatermark), bound ?? Infinity);
    for (let i = 0; i < messages.length;) {
      if (!k.isRunning() || k.isStale() || this.stopping) return;
      // One chunk at a time per partition, also against followLive's switch of the partition's database.
      const took = await this.partitionLocks.run(key, () => this.applyChunkAt(topic, partition, messages.slice(i, i + size), end, k));
      if (took === 0) return; // rewound: the partition is fetched again from the stored position
      i += took;
      k.resolveOffset(messages[i - 1]!.offset);
      await k.commitOffsetsIfNecessary();
      await k.heartbeat();
    }
  }

  /** Applies (or skips) the chunk; answers how many of its records it took, 0 when the partition was rewound. */
  private async applyChunkAt(
    topic: string,
    partition: number,
    whole: KafkaMessage[],
    end: number,
    k: { heartbeat: () => Promise<void> },
  ): Promise<number> {
    const key = `${topic}\u0000${partition}`;
    let chunk = whole;
    if (await this.deps.store.pin?.(topic, partition)) this.positions.delete(key);
    const stored = await this.storedPosition(topic, partition);
    if (this.rewound(topic, partition, stored, Number(chunk[0]!.offset))) return 0;
    const caughtUpTo = this.catchUp.get(key);
    const catchingUp = caughtUpTo !== undefined && Number(chunk[0]!.offset) < caughtUpTo;
    if (catchingUp) chunk = chunk.filter((m) => Number(m.offset) < caughtUpTo);
    else this.catchUp.delete(key);
    const fresh = stored === undefined ? chunk : chunk.filter((m) => Number(m.offset) >= stored);
    if (fresh.length < chunk.length)
      this.deps.metrics.events.inc(
        { processor: this.def.name, event_type: 'unknown', outcome: 'redelivered' },
        chunk.length - fresh.length,
      );
    if (fresh.length) {
      const items = await Promise.all(fresh.map((m) => this.decode(topic, partition, m, k.heartbeat)));
      const next = Number(fresh[fresh.length - 1]!.offset) + 1;
      const skipOnly = items.every((it) => it.event === undefined && it.failure === undefined);
      if (skipOnly && next < end && this.deps.clock.now().getTime() - (this.storedAt.get(key) ?? 0) < SKIPPED_POSITIONS_EVERY_MS) {
        this.count(
          items,
          items.map(() => 'ignored'),
        );
      } else {
        // Undecodable records go to the dead-letter topic now; their positions are stored with the chunk.
        for (const bad of items) if (bad.failure !== undefined) await this.deadLetter(bad, bad.failure, 1, k.heartbeat);
        const emitted = await this.applyWithRetry(
          items.map((it) => (it.failure === undefined ? it : { ...it, event: undefined, failure: undefined, deadLettered: true })),
          k.heartbeat,
          catchingUp,
        );
        this.storedAt.set(key, this.deps.clock.now().getTime());
        await this.drainOutbox(emitted, k.heartbeat);
      }
      this.positions.set(key, next);
    }
    return chunk.length;
  }

  /**
   * Every MONGO_LIVE_CHECK_MS, each assigned partition re-reads which version of its Mongo projection is live,
   * also when no record arrives: a partition moved to a rebuilt version resumes from the position stored there
   * (the records since then for state only), so the new version catches up without waiting for traffic.
   */
  private async followLive(): Promise<void> {
    const pin = this.deps.store.pin?.bind(this.deps.store);
    if (!pin) return;
    for (const [topic, partitions] of Object.entries(this.assignment))
      for (const partition of partitions) {
        const key = `${topic}\u0000${partition}`;
        await this.partitionLocks.run(key, async () => {
          if (this.stopping || !(await pin(topic, partition))) return;
          const known = this.positions.get(key);
          this.positions.delete(key);
          const stored = await this.storedPosition(topic, partition);
          if (known !== undefined) this.rewound(topic, partition, stored, known);
        });
      }
  }

  /**
   * A Mongo projection's stored position behind the chunk's first offset means the records between were applied
   * elsewhere: in the version a rebuild just replaced (switched live, mongo-live.ts), or before a crash that
   * followed such a switch. The partition resumes from the stored position, those records for state only.
   * (Postgres switches hold the live processor until the rebuild passed it, so no gap arises there.)
   */
  private rewound(topic: string, partition: number, stored: number | undefined, first: number): boolean {
    if (this.deps.store.kind !== 'mongo' || stored === undefined || stored >= first || !this.consumer) return false;
    const key = `${topic}\u0000${partition}`;
    this.catchUp.set(key, Math.max(first, this.catchUp.get(key) ?? 0));
    this.positions.set(key, stored);
    this.deps.logger.info('resuming a partition from its stored position (a switched Mongo projection)', {
      processor: this.def.name,
      topic,
      partition,
      from: stored,
      caughtUpAt: first,
    });
    this.consumer.seek({ topic, partition, offset: String(stored) });
    return true;
  }

  private async decode(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<Item> {
    const position = { topic, partition, offset: Number(message.offset) };
    // Most records of a shared topic are types this processor does not handle: skip them without decoding
    // (still positioned and counted as ignored by the store).
    // Records without the header (foreign producers) are decoded to find out.
    const typed = headerString(message.headers, 'eventType');
    if (typed !== undefined && !this.handles.has(typed)) return { message, position, known: { eventType: typed } };
    if (!message.value) return { message, position, known: {}, failure: new TombstoneError('record has no value (tombstone)') };
    try {
      // The registry being down is transient: hold the partition until it answers.
      const { event, schemaId } = await this.retrying(() => this.deps.codec.decode(message.value!), heartbeat);
      return {
        message,
        position,
        event,
        known: { schemaId, eventType: event.eventType, eventId: event.eventId, correlationId: event.correlationId },
      };
    } catch (e) {
      if (e instanceof StoppingError) throw e;
      const schemaId = message.value.length >= 5 && message.value[0] === 0 ? message.value.readInt32BE(1) : undefined;
      return { message, position, known: { schemaId }, failure: e };
    }
  }

  private ctx = (position: Position): ProjectContext => ({
    processor: this.def.name,
    clock: this.deps.clock,
    logger: this.deps.logger,
    position,
    replaying: this.deps.replaying ?? false,
  });

  /** Nothing leaves a rebuild. */
  private get outbound(): Outbound | undefined {
    return this.deps.replaying ? undefined : this.deps.publisher;
  }

  /** Sends what committed chunks left in the store's outbox; a send failure is retried, the commit stands. */
  private async drainOutbox(emitted: number, heartbeat: () => Promise<void>): Promise<void> {
    const { store } = this.deps;
    const outbound = this.outbound;
    if (!store.drainOutbox || !outbound || (!emitted && !this.leftovers)) return;
    this.leftovers = false;
    const t0 = process.hrtime.bigint();
    await this.retrying(
      () =>
        store.drainOutbox!(outbound).catch((e: unknown) => {
          throw e instanceof StoppingError
            ? e
            : new OutboxSendError(`sending the outbox: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }),
      heartbeat,
    );
    this.deps.metrics.publishLatency.observe({ processor: this.def.name }, Number(process.hrtime.bigint() - t0) / 1e9);
  }

  /** Applies items; a permanent failure in a multi-record chunk is isolated by applying one record at a time. */
  private async applyWithRetry(items: Item[], heartbeat: () => Promise<void>, catchingUp = false): Promise<number> {
    const ready: Ready[] = items.map((it) => ({ position: it.position, event: it.event }));
    let attempts = 0;
    const t0 = process.hrtime.bigint();
    const startedAt = Date.now();
    const tries: StoreAttempt[] = []; // each store call, for its span (a retried chunk shows every attempt)
    try {
      const result = await this.retrying(
        () => {
          attempts++;
          const start = Date.now();
          return this.write(ready, catchingUp).then(
            (r) => {
              tries.push({ start, end: Date.now() });
              return r;
            },
            (e: unknown) => {
              tries.push({ start, end: Date.now(), error: e instanceof Error ? e.message : String(e) });
              throw e;
            },
          );
        },
        heartbeat,
        true,
        items,
      );
      this.deps.metrics.latency.observe({ processor: this.def.name }, Number(process.hrtime.bigint() - t0) / 1e9);
      this.count(items, result.outcomes);
      this.trace(items, result.outcomes, startedAt, tries);
      return result.emitted.length;
    } catch (e) {
      if (e instanceof StoppingError || classify(e) === 'transient') throw e;
      if (items.length > 1) {
        let emitted = 0;
        for (const it of items) emitted += await this.applyWithRetry([it], heartbeat, catchingUp);
        return emitted;
      }
      const [only] = items;
      await this.deadLetter(only!, e, attempts, heartbeat);
      // Store the position past the dead letter, so it is not applied or dead-lettered again.
      await this.retrying(
        () =>
          this.deps.store.applyChunk([{ position: only!.position, event: undefined }], this.ctx, catchingUp ? undefined : this.outbound),
        heartbeat,
        true,
      );
      return 0;
    }
  }

  /** Through the instance's one writer when configured; a merged call that failed for good is retried alone. */
  private async write(ready: Ready[], catchingUp: boolean): Promise<ChunkResult> {
    // Catching up: state only, nothing leaves (it left when these records were first applied).
    if (catchingUp) return this.deps.store.applyChunk(ready, this.ctx, undefined);
    if (!this.writer) return this.deps.store.applyChunk(ready, this.ctx, this.outbound);
    try {
      return await this.writer.submit(ready);
    } catch (e) {
      if (!(e instanceof MergedFailure)) throw e;
      if (classify(e.cause) === 'transient') throw e.cause;
      return this.deps.store.applyChunk(ready, this.ctx, this.outbound);
    }
  }

  /** What ties a record's log lines to its flow and its trace: event, correlation and trace ids, as far as known. */
  private ids(item: Item): { eventId?: string; correlationId?: string; traceId?: string } {
    const tp = item.event?.metadata.traceparent ?? headerString(item.message.headers, 'traceparent');
    return { eventId: item.known.eventId, correlationId: item.known.correlationId, traceId: parseTraceparent(tp)?.traceId };
  }

  /**
   * Tracing (when on): a span per applied event that carries a trace context, child of the span that produced
   * it and with the id its derived events already name (lib/tracing.ts), and one span for the chunk, linked to
   * every event it applied. Both cover the chunk's store call, from its first attempt; each attempt of that call
   * is a child span of the chunk's (failed ones with their error).
   */
  private trace(items: Item[], outcomes: readonly string[], startedAt: number, tries: readonly StoreAttempt[]): void {
    const tracing = this.deps.tracing;
    if (!tracing?.enabled) return;
    const links: Link[] = [];
    items.forEach((it, i) => {
      const parent = outcomes[i] === 'applied' ? parseTraceparent(it.event?.metadata.traceparent) : undefined;
      // Sampling is decided where the trace starts (the API's sampler, or the caller's): not sampled, no span.
      if (!parent || !it.event || !(parent.traceFlags & TraceFlags.SAMPLED)) return;
      const span = tracing.start(`${this.def.name} apply ${it.event.eventType}`, {
        parent,
        spanId: processSpanId(this.def.name, it.event.eventId),
        kind: SpanKind.CONSUMER,
        startTime: startedAt,
        attributes: {
          'school.processor': this.def.name,
          'school.event.type': it.event.eventType,
          'school.event.id': it.event.eventId,
          'school.correlation.id': it.event.correlationId,
          'messaging.system': 'kafka',
          'messaging.destination.name': it.position.topic,
          'messaging.kafka.partition': it.position.partition,
          'messaging.kafka.offset': it.position.offset,
        },
      });
      links.push({ context: span.spanContext() });
      span.end();
    });
    if (!links.length) return;
    const chunk = tracing.start(`${this.def.name} chunk`, {
      startTime: startedAt,
      links,
      attributes: { 'school.processor': this.def.name, 'school.chunk.events': links.length },
    });
    tries.forEach((t, i) => {
      const span = tracing.start(`${this.def.name} store ${this.deps.store.kind}`, {
        parent: chunk.spanContext(),
        startTime: t.start,
        attributes: { 'school.processor': this.def.name, 'school.store.attempt': i + 1, 'db.system': this.deps.store.kind },
      });
      if (t.error) span.setStatus({ code: SpanStatusCode.ERROR, message: t.error });
      span.end(t.end);
    });
    chunk.end();
  }

  /** Counts a chunk's outcomes per chunk, not per record: a label lookup per record was up to 4 % of a processor's CPU. */
  private count(items: Item[], outcomes: readonly string[]): void {
    const counts = new Map<string, { eventType: string; outcome: string; n: number }>();
    outcomes.forEach((outcome, i) => {
      if (items[i]!.deadLettered) return; // counted when it was dead-lettered
      const eventType = items[i]!.known.eventType ?? 'unknown';
      const key = `${eventType}\u0000${outcome}`;
      const c = counts.get(key) ?? { eventType, outcome, n: 0 };
      c.n++;
      counts.set(key, c);
    });
    for (const c of counts.values())
      this.deps.metrics.events.inc({ processor: this.def.name, event_type: c.eventType, outcome: c.outcome }, c.n);
  }

  private async deadLetter(item: Item, error: unknown, attempts: number, heartbeat: () => Promise<void>): Promise<void> {
    if (this.deps.replaying) {
      // A rebuild re-reads records the live processor already dead-lettered; a second copy in the DLQ would be
      // redriven twice. Logged with its coordinates instead (never silent), and counted.
      this.deps.metrics.events.inc({
        processor: this.def.name,
        event_type: item.known.eventType ?? 'unknown',
        outcome: 'skipped_in_replay',
      });
      this.deps.logger.warn('replay: record not applied (the live processor dead-letters it)', {
        processor: this.def.name,
        topic: item.position.topic,
        partition: item.position.partition,
        offset: item.position.offset,
        ...this.ids(item),
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    const topic = await this.retrying(
      () =>
        sendDeadLetter(this.deps.producer, {
          message: item.message,
          topic: item.position.topic,
          partition: item.position.partition,
          group: this.group,
          error,
          attempts,
          known: item.known,
          maxRedrives: this.deps.runtime.maxRedrives,
          now: this.deps.clock.now(),
        }),
      heartbeat,
    );
    const errorClass = error instanceof Error ? error.name : 'Error';
    const rule = error instanceof RuleViolationError ? (error.rule ?? '') : '';
    this.deps.metrics.deadLetters.inc({ processor: this.def.name, topic, error_class: errorClass, rule });
    this.deps.metrics.events.inc({ processor: this.def.name, event_type: item.known.eventType ?? 'unknown', outcome: 'dead_lettered' });
    this.deps.logger.warn('dead-lettered a record', {
      processor: this.def.name,
      topic: item.position.topic,
      partition: item.position.partition,
      offset: item.position.offset,
      ...this.ids(item),
      errorClass,
      code: error instanceof AppError ? error.code : undefined,
      error: error instanceof Error ? error.message : String(error),
      to: topic,
    });
  }

  /**
   * Runs `fn` until it succeeds or fails permanently. Transient failures back off
   * exponentially and count against the store's circuit breaker; while the circuit
   * is open the consumer is paused and no call is made. Heartbeats keep the group
   * membership alive throughout; a stop abandons the work (nothing is committed).
   */
  private async retrying<T>(
    fn: () => Promise<T>,
    heartbeat: () => Promise<void> | undefined,
    guardedByBreaker = false,
    /** The records the call is about: their first one's ids go on the retry lines (and the count). */
    about?: Item[],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (guardedByBreaker) await this.waitForCircuit(heartbeat);
      if (this.stopping) throw new StoppingError('stopping');
      try {
        const v = await fn();
        if (guardedByBreaker) this.recordCircuit('success');
        return v;
      } catch (e) {
        if (classify(e) !== 'transient') throw e;
        const contention = isContention(e);
        if (guardedByBreaker && !contention) this.recordCircuit('failure');
        this.deps.metrics.retries.inc({ processor: this.def.name, store: this.deps.store.kind });
        // Contention clears in milliseconds (the other transaction commits); an outage takes seconds.
        const delay = contention
          ? 10 + Math.floor(Math.random() * 90)
          : backoffMs(attempt, this.deps.runtime.retryInitialMs, this.deps.runtime.retryMaxMs);
        this.deps.logger.warn('transient failure, holding the partition and retrying', {
          processor: this.def.name,
          attempt,
          delayMs: delay,
          circuit: this.breaker.current,
          error: e instanceof Error ? e.message : String(e),
          ...(about?.[0] ? { ...this.ids(about[0]), records: about.length } : {}),
        });
        await this.sleep(delay, heartbeat);
      }
    }
  }

  private recordCircuit(outcome: 'success' | 'failure'): void {
    if (outcome === 'success') this.breaker.success();
    else this.breaker.failure();
    this.followCircuit(outcome === 'success');
  }

  /**
   * Pauses consumption while the circuit is open, and resumes it on the first successful probe: half-open needs
   * `halfOpenCalls` successful calls to close, and while paused only the chunks already in flight make calls.
   * Waiting for "closed" deadlocked a processor with fewer chunks in flight than that (one partition: one
   * success, then nothing left to probe with, paused for good).
   */
  private followCircuit(probeSucceeded = false): void {
    const state = this.breaker.current;
    this.deps.metrics.setCircuit(this.def.name, this.deps.store.kind, state);
    if (state === 'open' && !this.paused) {
      this.paused = true;
      this.consumer?.pause(this.topics.map((topic) => ({ topic })));
      this.deps.logger.error('circuit open: consumption paused', { processor: this.def.name, store: this.deps.store.kind });
    } else if (this.paused && (state === 'closed' || probeSucceeded)) {
      this.paused = false;
      this.consumer?.resume(this.topics.map((topic) => ({ topic })));
      this.deps.logger.info(`circuit ${state}: consumption resumed`, { processor: this.def.name, store: this.deps.store.kind });
    }
  }

  private async waitForCircuit(heartbeat: () => Promise<void> | undefined): Promise<void> {
    while (this.breaker.waitMs() > 0) {
      if (this.stopping) throw new StoppingError('stopping');
      await this.sleep(Math.min(this.breaker.waitMs(), 1000), heartbeat);
    }
    this.followCircuit();
  }

  /** Sleeps in steps of at most one second, heartbeating, and wakes early on stop. */
  private async sleep(ms: number, heartbeat: () => Promise<void> | undefined): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.stopping) {
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      await Promise.resolve(heartbeat()).catch(() => undefined);
    }
  }
}

class TombstoneError extends AppError {
  readonly code = 'TOMBSTONE';
  readonly retriable = false;
}
