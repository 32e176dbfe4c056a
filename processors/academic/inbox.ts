import type { EventType, SchoolEvent } from '../../schemas/generated/events';

/** A parked event as stored: which enrollment it waits on. */
export interface ParkedRow {
  enrollmentId: string;
  event: SchoolEvent;
}

/**
 * The causal inbox: saga events that arrived before the event they follow (another topic, another
 * partition, a rebuild's interleaving) wait here, per enrollment, until it is applied. In memory for one
 * chunk: loaded with the chunk's enrollments, changed by the fold, and written back as what was parked and
 * what was released.
 */
export class CausalInbox {
  private readonly parked = new Map<string, Map<string, SchoolEvent>>();
  private readonly added = new Map<string, ParkedRow>();
  private readonly removed = new Map<string, { enrollmentId: string; eventId: string }>();

  /** Rows read from the store (not written back). */
  load(rows: Iterable<ParkedRow>): this {
    for (const r of rows) this.of(r.enrollmentId).set(r.event.eventId, r.event);
    return this;
  }

  has(enrollmentId: string): boolean {
    return (this.parked.get(enrollmentId)?.size ?? 0) > 0;
  }

  park(enrollmentId: string, event: SchoolEvent): void {
    const k = key(enrollmentId, event.eventId);
    this.of(enrollmentId).set(event.eventId, event);
    if (this.removed.has(k)) this.removed.delete(k);
    else this.added.set(k, { enrollmentId, event });
  }

  release(enrollmentId: string, eventId: string): void {
    const k = key(enrollmentId, eventId);
    this.parked.get(enrollmentId)?.delete(eventId);
    if (this.added.has(k)) this.added.delete(k);
    else this.removed.set(k, { enrollmentId, eventId });
  }

  /** An enrollment's parked events in event-time order (ties by id): the order they are retried in. */
  waiting(enrollmentId: string): SchoolEvent[] {
    return [...(this.parked.get(enrollmentId)?.values() ?? [])].sort(
      (a, b) => a.timestamp.localeCompare(b.timestamp) || a.eventId.localeCompare(b.eventId),
    );
  }

  /** Whether an event of one of `types` caused by `eventId` is parked for the enrollment. */
  holdsEffectOf(enrollmentId: string, eventId: string, types: ReadonlySet<EventType>): boolean {
    for (const e of this.parked.get(enrollmentId)?.values() ?? []) if (e.causationId === eventId && types.has(e.eventType)) return true;
    return false;
  }

  /** What to write back: rows parked by this chunk, and rows of earlier chunks it released. */
  changes(): { parked: ParkedRow[]; released: Array<{ enrollmentId: string; eventId: string }> } {
    return { parked: [...this.added.values()], released: [...this.removed.values()] };
  }

  /**
   * Applies `event` for its enrollment, or parks it; then, when something was parked before (or always, in a
   * rebuild, where a parked event may also confirm another), retries the parked events in order, releasing
   * each that applies and starting over, until none does. `apply` returns whether the event was applied
   * (`retried`: the event was parked; refusing it then must keep it parked, not fail the chunk).
   */
  settle(enrollmentId: string, event: SchoolEvent, apply: (e: SchoolEvent, retried: boolean) => boolean, retryAlways: boolean): void {
    const parkedBefore = this.has(enrollmentId);
    const applied = apply(event, false);
    if (!applied) this.park(enrollmentId, event);
    if (!((applied && parkedBefore) || retryAlways)) return;
    for (;;) {
      const next = this.waiting(enrollmentId).find((e) => apply(e, true));
      if (!next) return;
      this.release(enrollmentId, next.eventId);
    }
  }

  private of(enrollmentId: string): Map<string, SchoolEvent> {
    let m = this.parked.get(enrollmentId);
    if (!m) this.parked.set(enrollmentId, (m = new Map<string, SchoolEvent>()));
    return m;
  }
}

const key = (enrollmentId: string, eventId: string): string => `${enrollmentId}\u0000${eventId}`;
