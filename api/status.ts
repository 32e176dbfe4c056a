import type { LiveDatabases } from '../processors/runtime/mongo-live';
import type pg from 'pg';
import { isApplied, type AppliedIn } from '../processors/runtime/bookkeeping';
import type { ProcessorManifest } from '../processors/manifest';
import { isParked, PARKING_PROCESSORS } from '../processors/shared/enrolled';
import type { Locator } from './locator';

export interface EventStatus {
  eventId: string;
  eventType: string;
  /** Per processor that handles this type and keeps a read model: has it applied the event? */
  applied: Record<string, boolean>;
  complete: boolean;
}

/**
 * Reads the runtime's own "applied" markers (written in the same transaction or guarded
 * update as the projection change), so "applied" here means visible to queries; an event grades or attendance
 * keeps parked (processors/shared/enrolled.ts) is not applied there until it is released.
 */
export class EventStatusReader {
  constructor(
    private readonly pool: pg.Pool,
    private readonly mongo: LiveDatabases,
    private readonly defs: readonly ProcessorManifest[],
    private readonly at: Locator,
  ) {}

  async status(eventId: string, eventType: string): Promise<EventStatus> {
    const applied = await this.applied(
      eventId,
      this.defs.filter((d) => (d.handles as readonly string[]).includes(eventType)),
    );
    return { eventId, eventType, applied, complete: Object.values(applied).every(Boolean) };
  }

  /**
   * An event known only by its id (one a processor derived, or published by someone else): whether each
   * processor that keeps a read model applied it. Markers keep no type (eventType null), and without it nobody
   * can tell who else should apply it, so `complete` means applied by at least one of them; undefined when none did.
   */
  async lookup(eventId: string): Promise<(Omit<EventStatus, 'eventType'> & { eventType: null }) | undefined> {
    const applied = await this.applied(eventId, this.defs);
    if (!Object.values(applied).some(Boolean)) return undefined;
    return { eventId, eventType: null, applied, complete: true };
  }

  private async applied(eventId: string, defs: readonly ProcessorManifest[]): Promise<Record<string, boolean>> {
    const applied: Record<string, boolean> = {};
    await Promise.all(
      defs
        .filter((d) => d.store !== 'none')
        .map(async (d) => {
          const at: AppliedIn =
            d.store === 'postgres'
              ? { store: 'postgres', pool: this.pool, schema: this.at.pgSchema(d.name) }
              : { store: 'mongo', pool: this.pool, db: await this.mongo.db(d.name) };
          applied[d.name] = await isApplied(at, this.at.group(d.name), eventId);
          // Parked (its student not known enrolled in its section yet): consumed, but not visible to queries.
          if (applied[d.name] && at.store === 'postgres' && PARKING_PROCESSORS.has(d.name))
            applied[d.name] = !(await isParked(this.pool, at.schema, eventId));
        }),
    );
    return Object.fromEntries(Object.entries(applied).sort(([a], [b]) => a.localeCompare(b)));
  }
}
