import type { SchoolEvent } from '../../schemas/generated/events';
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

/**
 * Exactly-once bookkeeping for one store. `applyChunk` applies the records' events
 * (skipping ones already applied: same eventId, or a position already stored), runs
 * `beforeCommit` with the derived events (they are published before the position is
 * stored, so a crash re-emits them with the same deterministic ids rather than losing
 * them), then stores the position after the last record.
 */
export interface RuntimeStore {
  readonly kind: 'postgres' | 'mongo' | 'none';
  init(): Promise<void>;
  /** Next offset to apply for a partition, if this store keeps positions. */
  position(topic: string, partition: number): Promise<number | undefined>;
  applyChunk(
    records: Ready[],
    ctx: (p: Position) => ProjectContext,
    beforeCommit: (emitted: Emitted) => Promise<void>,
  ): Promise<ChunkResult>;
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

export function lastPositionsByPartition(records: Ready[]): Array<{ topic: string; partition: number; next: number }> {
  const m = new Map<string, { topic: string; partition: number; next: number }>();
  for (const r of records) {
    const k = `${r.position.topic}\u0000${r.position.partition}`;
    const next = r.position.offset + 1;
    const cur = m.get(k);
    if (!cur || cur.next < next) m.set(k, { topic: r.position.topic, partition: r.position.partition, next });
  }
  return [...m.values()];
}
