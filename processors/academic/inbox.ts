import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { Inbox } from '../shared/inbox';

/** A parked event as stored: which enrollment it waits on. */
export interface ParkedRow {
  enrollmentId: string;
  event: SchoolEvent;
}

/** Event-time order, ties by id: the order parked saga events are retried in. */
const byEventTime = (a: { event: SchoolEvent }, b: { event: SchoolEvent }): number =>
  a.event.timestamp.localeCompare(b.event.timestamp) || a.event.eventId.localeCompare(b.event.eventId);

/**
 * The causal inbox: saga events that arrived before the event they follow (another topic, another
 * partition, a rebuild's interleaving) wait here, per enrollment, until it is applied. In memory for one
 * chunk (processors/shared/inbox.ts keeps what was parked and released): loaded with the chunk's
 * enrollments, changed by the fold, and written back as what was parked and what was released.
 */
export class CausalInbox {
  private readonly inbox = new Inbox(byEventTime);

  /** Rows read from the store (not written back). */
  load(rows: Iterable<ParkedRow>): this {
    this.inbox.load([...rows].map((r) => ({ key: r.enrollmentId, event: r.event })));
    return this;
  }

  has(enrollmentId: string): boolean {
    return this.inbox.has(enrollmentId);
  }

  park(enrollmentId: string, event: SchoolEvent): void {
    this.inbox.park({ key: enrollmentId, event });
  }

  release(enrollmentId: string, eventId: string): void {
    this.inbox.release(enrollmentId, eventId);
  }

  /** An enrollment's parked events in event-time order (ties by id): the order they are retried in. */
  waiting(enrollmentId: string): SchoolEvent[] {
    return this.inbox.waiting(enrollmentId).map((r) => r.event);
  }

  /** Whether an event of one of `types` caused by `eventId` is parked for the enrollment. */
  holdsEffectOf(enrollmentId: string, eventId: string, types: ReadonlySet<EventType>): boolean {
    return this.inbox.waiting(enrollmentId).some((r) => r.event.causationId === eventId && types.has(r.event.eventType));
  }

  /** What to write back: rows parked by this chunk, and rows of earlier chunks it released. */
  changes(): { parked: ParkedRow[]; released: Array<{ enrollmentId: string; eventId: string }> } {
    const { parked, released } = this.inbox.changes();
    return {
      parked: parked.map((r) => ({ enrollmentId: r.key, event: r.event })),
      released: released.map((r) => ({ enrollmentId: r.key, eventId: r.eventId })),
    };
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
}
