import type { Db } from 'mongodb';
import type pg from 'pg';
import { quoteIdent } from '../processors/runtime/postgres-store';
import type { ProcessorDefinition } from '../processors/runtime/types';
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
 * update as the projection change), so "applied" here means visible to queries.
 */
export class EventStatusReader {
  constructor(
    private readonly pool: pg.Pool,
    private readonly mongo: Db,
    private readonly defs: ProcessorDefinition[],
    private readonly at: Locator,
  ) {}

  async status(eventId: string, eventType: string): Promise<EventStatus> {
    const applied: Record<string, boolean> = {};
    await Promise.all(
      this.defs
        .filter((d) => d.store !== 'none' && (d.handles as readonly string[]).includes(eventType))
        .map(async (d) => {
          const group = this.at.group(d.name);
          if (d.store === 'postgres') {
            const r = await this.pool.query(
              `select 1 from ${quoteIdent(this.at.pgSchema(d.name))}.runtime_processed where consumer_group = $1 and event_id = $2`,
              [group, eventId],
            );
            applied[d.name] = (r.rowCount ?? 0) > 0;
          } else {
            applied[d.name] = !!(await this.mongo
              .collection<{ _id: string }>('_runtime_processed')
              .findOne({ _id: `${group}|${eventId}` }, { projection: { _id: 1 } }));
          }
        }),
    );
    const sorted = Object.fromEntries(Object.entries(applied).sort(([a], [b]) => a.localeCompare(b)));
    return { eventId, eventType, applied: sorted, complete: Object.values(applied).every(Boolean) };
  }
}
