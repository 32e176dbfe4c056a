import type { Db } from 'mongodb';
import type pg from 'pg';
import { mongoApplied } from './mongo-markers';
import { pgApplied } from './pg-bookkeeping';

/**
 * What the runtime recorded as applied, for readers outside it (the API's event status, tests, chaos):
 * markers are written with the effects (same transaction in Postgres, after the guarded updates for Mongo),
 * so "applied" means visible to queries.
 */
export type AppliedIn = { store: 'postgres'; pool: pg.Pool; schema: string } | { store: 'mongo'; pool: pg.Pool; db: Db };

/** The event ids a group has applied in a projection: all of them, or those among `eventIds`. */
export function appliedIds(at: AppliedIn, group: string, eventIds?: string[]): Promise<Set<string>> {
  if (at.store === 'postgres') return pgApplied(at.pool, at.schema, group, eventIds);
  return mongoApplied(at.pool, at.db, group, eventIds);
}

export const isApplied = async (at: AppliedIn, group: string, eventId: string): Promise<boolean> =>
  (await appliedIds(at, group, [eventId])).size > 0;
