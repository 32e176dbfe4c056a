import type { SchoolEvent } from '../../schemas/generated/events';
import type { EventPublisher } from '../../schemas/publisher';
import type { Emitted, Position, ProjectContext } from './types';

/** One record ready to apply: its position, and its event unless it is ignored or dead-lettered. */
export interface Ready {
  position: Position;
  event: SchoolEvent | undefined;
}

export type Outcome = 'applied' | 'duplicate' | 'ignored';

export interface ChunkResult {
  outcomes: Outcome[]; // one per record, same order
  emitted: Emitted;
}

export type ApplyFn = (event: SchoolEvent, ctx: ProjectContext) => Promise<Emitted>;

/** Where a chunk's derived events go: `encode` validates them (a bad one fails the chunk), `send` writes them to Kafka. */
export type Outbound = Pick<EventPublisher, 'encode' | 'send'>;

/** Sends derived events now (stores without an outbox, before they store their positions). */
export async function publishNow(outbound: Outbound | undefined, emitted: Emitted): Promise<void> {
  if (outbound && emitted.length) await outbound.send(await outbound.encode(...emitted));
}

/**
 * Exactly-once bookkeeping for one store. `applyChunk` applies the records' events
 * (skipping ones already applied: same eventId, or a position already stored) and
 * stores the position after the last record. Derived events go to `outbound`
 * (undefined in a rebuild: nothing leaves): the Postgres store commits them to its
 * outbox and `drainOutbox` sends them after the commit; the others send them before
 * storing their positions, so a crash re-emits them with the same deterministic ids
 * rather than losing them.
 */
export interface RuntimeStore {
  readonly kind: 'postgres' | 'mongo' | 'none';
  init(): Promise<void>;
  /** Next offset to apply for a partition, if this store keeps positions. */
  position(topic: string, partition: number): Promise<number | undefined>;
  applyChunk(records: Ready[], ctx: (p: Position) => ProjectContext, outbound: Outbound | undefined): Promise<ChunkResult>;
  /** Mongo: re-reads which version of the projection is live; true when a partition's records move to another. */
  pin?(topic: string, partition: number): Promise<boolean>;
  /** Sends what committed chunks left in the outbox, oldest first; how many records. */
  drainOutbox?(outbound: Outbound): Promise<number>;
}

/** Records whose event has a handler, first occurrence of each eventId only (duplicates inside one chunk). */
export function firstOccurrences(records: Ready[], handles: ReadonlySet<string>): Set<number> {
  const seen = new Set<string>();
  const out = new Set<number>();
  records.forEach((r, i) => {
    if (!r.event || !handles.has(r.event.eventType) || seen.has(r.event.eventId)) return;
    seen.add(r.event.eventId);
    out.add(i);
  });
  return out;
}

/** The next offset to apply of one source partition, as a store keeps it. */
export interface StoredPosition {
  topic: string;
  partition: number;
  next: number;
}

export function lastPositionsByPartition(records: Ready[]): StoredPosition[] {
  const m = new Map<string, StoredPosition>();
  for (const r of records) {
    const k = `${r.position.topic}\u0000${r.position.partition}`;
    const next = r.position.offset + 1;
    const cur = m.get(k);
    if (!cur || cur.next < next) m.set(k, { topic: r.position.topic, partition: r.position.partition, next });
  }
  return [...m.values()];
}
