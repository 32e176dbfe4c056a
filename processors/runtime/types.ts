import type { Db } from 'mongodb';
import type { PoolClient } from 'pg';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { Doc, DocUpdate } from './doc-ops';
import type { GuardedMongo } from './mongo-store';

/** Where a record came from; the unit of exactly-once bookkeeping. */
export interface Position {
  topic: string;
  partition: number;
  offset: number;
}

export interface ProjectContext {
  processor: string;
  clock: Clock;
  logger: Logger;
  position: Position;
  /**
   * True while rebuilding from the topics. Projections need not check it: the runtime drops a rebuild's
   * derived events and never runs its effects. Only a decision that must differ in a rebuild reads it
   * (academic's seat decisions, which are replayed from their recorded outcomes).
   */
  replaying: boolean;
}

/** What applying one event produces besides store changes: the events it causes. */
export type Emitted = SchoolEvent[];

/** What a processor's background task is given by the host that runs it. */
export interface TaskContext {
  config: import('../../lib/config').Config;
  /** The Postgres schema of the processor's projection (live, or a test run's). */
  schema: string;
  /** Publishes through the host's producer and topic mapping. */
  publish: (events: SchoolEvent[]) => Promise<void>;
  clock: Clock;
  logger: Logger;
}

/** A timer-driven task of a processor (e.g. saga deadlines): started after its consumers, stopped before them; never in a rebuild. */
export type ProcessorTask = (ctx: TaskContext) => { start(): void; stop(): Promise<void> };

interface Base {
  /** Consumer group and metrics label. */
  name: string;
  /** Background tasks the host runs beside the consumer (declared here, so no entry point wires them). */
  tasks?: readonly ProcessorTask[];
  topics: readonly string[];
  /** Event types with a handler; other types on the topics are acknowledged and counted as ignored. */
  handles: readonly EventType[];
  /**
   * How its store writes are scheduled (RUNTIME_WRITER=auto): 'partition' (default), each partition's chunks in
   * their own transaction, in parallel; 'instance', one writer merging the partitions' chunks (group commit),
   * for processors whose chunks on different partitions lock the same keys (docs/decisions.md). Live only: a
   * rebuild writes per partition.
   */
  writer?: 'partition' | 'instance';
}

/**
 * Load → fold → flush for a set of event types (docs/decisions.md): the state all of a chunk's
 * events of these types need is loaded at once, the events are folded over it in memory in
 * order, and the changes are written back once, in the runtime's transaction. The tables it
 * touches must be disjoint from those the per-event `project` writes, so the two paths of one
 * chunk need no ordering between them.
 */
export interface ChunkFold<S> {
  handles: readonly EventType[];
  /** One query per table for every key the events need. */
  load(tx: PoolClient, events: SchoolEvent[]): Promise<S>;
  /** Applies one event to the in-memory state; the events it causes. Throws a permanent error to refuse it. */
  fold(state: S, event: SchoolEvent, ctx: ProjectContext): Emitted;
  /** One statement per table for everything that changed. */
  flush(tx: PoolClient, state: S): Promise<void>;
}

/**
 * A gauge read from the processor's own projection at every scrape (e.g. the sagas in flight by step): `sql`
 * runs in the projection's schema and returns one row per series, with a text column per label and a
 * numeric column `value`.
 */
export interface StoreGauge {
  name: string;
  help: string;
  labels: readonly string[];
  sql: string;
}

/** One series of a gauge: its label values and value. */
export interface GaugeSeries {
  labels: Record<string, string>;
  value: number;
}

/** A gauge over a Mongo projection: read from the live database at every scrape. */
export interface MongoGauge {
  name: string;
  help: string;
  labels: readonly string[];
  read(db: Db): Promise<GaugeSeries[]>;
}

export interface PostgresProcessor extends Base {
  store: 'postgres';
  /** Gauges over its projection, exported with the process's metrics. */
  gauges?: readonly StoreGauge[];
  /** Event types applied a chunk at a time (the others go through `project`, one by one). */
  fold?: ChunkFold<unknown>;
  /**
   * Applies one event inside the runtime's transaction (projection changes + position commit together); needed
   * only for handled types the fold does not cover.
   */
  project?(event: SchoolEvent, tx: PoolClient, ctx: ProjectContext): Promise<Emitted>;
  /**
   * The advisory lock keys `project` will take for an event. The store takes every key of a
   * chunk first, in sorted order, so concurrent chunks (other partitions) queue instead of
   * deadlocking (each deadlock costs PostgreSQL's deadlock_timeout, 1 s, before the retry).
   */
  lockKeys?(event: SchoolEvent): string[];
  /**
   * Keys taken in shared mode, with the others, in the same sorted order: an event that only reads what the
   * holders of the exclusive key write (a grade reads a section's courses; course.assigned writes them) queues
   * behind those writers without queueing behind the other readers. A key also in `lockKeys` is exclusive.
   */
  sharedLockKeys?(event: SchoolEvent): string[];
}

/** An index of a Mongo projection: equality lookups on `fields` (in this order) of `collection`. */
export interface Lookup {
  collection: string;
  fields: readonly string[];
}

/** A document a Mongo fold reads or writes. */
export interface DocKey {
  collection: string;
  id: string;
}

/** The documents of a chunk as the fold sees them: loaded, with the chunk's earlier updates applied. */
export interface DocReader {
  get(collection: string, id: string): Doc | undefined;
}

/**
 * Load → fold → flush for a Mongo projection. The runtime loads every document the chunk's events
 * read (`keys`), folds the events in order over the in-memory copies, and writes each changed
 * document once, guarded by the per-partition high-water marks (an event a document has already
 * seen changes nothing). Fields must be disjoint from those `project` writes.
 */
export interface MongoChunkFold {
  handles: readonly EventType[];
  /**
   * Every document the event's decision reads. A document it only writes needs no read: the runtime writes
   * it blind when the chunk's update of it is idempotent ($set, $addToSet) and reads it first otherwise.
   */
  keys(event: SchoolEvent): DocKey[];
  /**
   * Documents the event reads that only the first round's documents name (the parents listed in a loaded
   * student's document): read in a second round, before folding.
   */
  moreKeys?(loaded: DocReader, event: SchoolEvent): DocKey[];
  /** Pure: the event's updates and the events it causes. Throws a permanent error to refuse it. */
  fold(docs: DocReader, event: SchoolEvent, ctx: ProjectContext): { updates: DocUpdate[]; emit: Emitted };
  /** Run after the flush with each changed document and the top-level fields written (e.g. re-sorting arrays other partitions add to). */
  afterFlush?(mongo: GuardedMongo, changed: Array<DocKey & { fields: string[] }>): Promise<void>;
}

export interface MongoProcessor extends Base {
  store: 'mongo';
  /** Gauges over its projection, exported with the process's metrics. */
  gauges?: readonly MongoGauge[];
  /** Event types applied a chunk at a time (the others go through `project`, one by one). */
  fold?: MongoChunkFold;
  /**
   * Applies one event with single-document updates guarded by per-partition high-water marks; needed only
   * for handled types the fold does not cover.
   */
  project?(event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted>;
  /**
   * The fields its reads look documents up by, besides `_id` (the processor's and its API queries'): the
   * runtime creates each as an index at start on MongoDB; on FerretDB v1, whose own indexes cannot serve
   * its filters, `npm run ferretdb:indexes` (and the local stack) adds the GIN indexes that can.
   */
  lookups?: readonly Lookup[];
  /** Other start-up work on its database (idempotent). */
  init?(db: Db): Promise<void>;
  /**
   * A side effect outside the stores (delivering a notification), run by the runtime after the chunk's
   * `project` calls, for each event applied in it, and never in a rebuild. At-least-once: a crash before the
   * positions are stored runs it again, so it must be idempotent by eventId (it may record that in `mongo`).
   * For a folded event, `docs` are the chunk's documents as the fold left them.
   */
  effect?(event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext, docs?: DocReader): Promise<Emitted>;
  /**
   * How many effects of one chunk may run at once (default 1). Only for effects independent of each other's
   * order (each notification to its own recipient); their events still leave in the chunk's order.
   */
  effectConcurrency?: number;
}

export interface StatelessProcessor extends Base {
  store: 'none';
  /** Side effects only (e.g. delivering notifications); at-least-once, so effects must be idempotent by eventId. */
  project(event: SchoolEvent, ctx: ProjectContext): Promise<Emitted>;
}

export type ProcessorDefinition = PostgresProcessor | MongoProcessor | StatelessProcessor;

/** Stores handed to processors, built once at the entry point. */
export interface StoreClients {
  pg?: import('pg').Pool;
  mongo?: Db;
}
