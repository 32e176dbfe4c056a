import type { Db } from 'mongodb';
import type { PoolClient } from 'pg';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/logger';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
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
  /** True while rebuilding from the topics: derived events and side effects are suppressed. */
  replaying: boolean;
}

/** What applying one event produces besides store changes: the events it causes. */
export type Emitted = SchoolEvent[];

interface Base {
  /** Consumer group and metrics label. */
  name: string;
  topics: readonly string[];
  /** Event types with a handler; other types on the topics are acknowledged and counted as ignored. */
  handles: readonly EventType[];
}

export interface PostgresProcessor extends Base {
  store: 'postgres';
  /** Applies one event inside the runtime's transaction (projection changes + position commit together). */
  project(event: SchoolEvent, tx: PoolClient, ctx: ProjectContext): Promise<Emitted>;
  /**
   * The advisory lock keys `project` will take for an event. The store takes every key of a
   * chunk first, in sorted order, so concurrent chunks (other partitions) queue instead of
   * deadlocking (each deadlock costs PostgreSQL's deadlock_timeout, 1 s, before the retry).
   */
  lockKeys?(event: SchoolEvent): string[];
}

export interface MongoProcessor extends Base {
  store: 'mongo';
  /** Applies one event with single-document updates guarded by per-partition high-water marks. */
  project(event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted>;
  /** Indexes the projection's queries need; created at start (idempotent). */
  init?(db: Db): Promise<void>;
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
