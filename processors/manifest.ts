import type { EventType } from '../schemas/generated/events';
import { manifest as academic } from './academic';
import { manifest as assignments } from './assignments';
import { manifest as attendance } from './attendance';
import { manifest as grades } from './grades';
import { manifest as notifications } from './notifications';
import type { Lookup } from './runtime/types';
import { manifest as users } from './users';

/**
 * What a processor is, as data: its name, store, topics, the event types it handles, its migrations,
 * lookups and background tasks. Whatever only needs to know the processors (the API, `lag`,
 * `k8s:validate`, `ferretdb:indexes`, the benches' and tests' group names) reads this and builds
 * nothing; only the composition root (processors/all.ts, for the hosts that run them) builds definitions
 * with their adapters (notification channels, rules from config).
 */
export interface ProcessorManifest {
  readonly name: string;
  readonly store: 'postgres' | 'mongo' | 'none';
  readonly topics: readonly string[];
  readonly handles: readonly EventType[];
  /** Versioned SQL migrations of a Postgres projection (applied into its schema, runtime/names.ts). */
  readonly migrations?: string;
  /** What a Mongo projection looks documents up by (FerretDB needs its own indexes: deploy/ferretdb). */
  readonly lookups?: readonly Lookup[];
  /** Timer-driven tasks the host runs beside the consumer, by name. */
  readonly tasks?: readonly string[];
}

/** Every processor of the pipeline, in the order they are built and listed. */
export const PROCESSOR_MANIFEST: readonly ProcessorManifest[] = [users, academic, assignments, grades, attendance, notifications];

export const PROCESSOR_NAMES: readonly string[] = PROCESSOR_MANIFEST.map((m) => m.name);

/** Versioned migrations of each Postgres projection, by processor name. */
export const PG_MIGRATIONS: Record<string, string> = Object.fromEntries(
  PROCESSOR_MANIFEST.flatMap((m) => (m.migrations ? [[m.name, m.migrations] as const] : [])),
);

/** What the Mongo processors look documents up by. */
export const mongoLookups = (manifest: readonly ProcessorManifest[] = PROCESSOR_MANIFEST): Lookup[] =>
  manifest.flatMap((m) => (m.store === 'mongo' ? [...(m.lookups ?? [])] : []));
