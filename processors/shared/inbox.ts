import type { SchoolEvent } from '../../schemas/generated/events';

/** A parked event as stored: the key it waits on (an enrollment, a student in a section, …) and the event. */
export interface Parked {
  key: string;
  event: SchoolEvent;
}

/**
 * Parked events of one chunk, in memory: loaded with the keys the chunk names, changed by the fold (park,
 * release), and written back as what was parked and what was released (a row parked and released in the same
 * chunk is never written). Used by academic's causal inbox (saga events waiting for the one they follow) and by
 * the enrolled-student gate of grades and attendance (events waiting for the enrollment they need).
 */
export class Inbox<R extends Parked = Parked> {
  private readonly parked = new Map<string, Map<string, R>>();
  private readonly added = new Map<string, R>();
  private readonly removed = new Map<string, { key: string; eventId: string }>();

  /** `order`: the order `waiting` answers a key's rows in; without it, the order they were loaded and parked in. */
  constructor(private readonly order?: (a: R, b: R) => number) {}

  /** Rows read from the store (not written back). */
  load(rows: Iterable<R>): this {
    for (const r of rows) this.of(r.key).set(r.event.eventId, r);
    return this;
  }

  has(key: string): boolean {
    return (this.parked.get(key)?.size ?? 0) > 0;
  }

  park(row: R): void {
    const k = id(row.key, row.event.eventId);
    this.of(row.key).set(row.event.eventId, row);
    if (this.removed.has(k)) this.removed.delete(k);
    else this.added.set(k, row);
  }

  release(key: string, eventId: string): void {
    const k = id(key, eventId);
    this.parked.get(key)?.delete(eventId);
    if (this.added.has(k)) this.added.delete(k);
    else this.removed.set(k, { key, eventId });
  }

  /** The rows waiting on `key`, in order. */
  waiting(key: string): R[] {
    const rows = [...(this.parked.get(key)?.values() ?? [])];
    return this.order ? rows.sort(this.order) : rows;
  }

  /** Every row held (loaded or parked by this chunk, not released). */
  held(): R[] {
    return [...this.parked.values()].flatMap((m) => [...m.values()]);
  }

  /** What to write back: rows parked by this chunk, and rows of earlier chunks it released. */
  changes(): { parked: R[]; released: Array<{ key: string; eventId: string }> } {
    return { parked: [...this.added.values()], released: [...this.removed.values()] };
  }

  private of(key: string): Map<string, R> {
    let m = this.parked.get(key);
    if (!m) this.parked.set(key, (m = new Map<string, R>()));
    return m;
  }
}

const id = (key: string, eventId: string): string => `${key}\u0000${eventId}`;
