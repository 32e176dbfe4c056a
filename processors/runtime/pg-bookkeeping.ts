import type pg from 'pg';
import { quoteIdent } from './sql';
import type { StoredPosition } from './store';

/** The runtime's bookkeeping tables in every projection schema (not part of the read model). */
export const PG_TABLES = { positions: 'runtime_positions', processed: 'runtime_processed', outbox: 'runtime_outbox' } as const;
export const RUNTIME_TABLES: ReadonlySet<string> = new Set(Object.values(PG_TABLES));

const { positions, processed } = PG_TABLES;

/** DDL of the positions and applied-events tables (`s`: the schema, quoted). */
export const bookkeepingTables = (s: string): string => `
  create table if not exists ${s}.${positions} (
    consumer_group text not null, topic text not null, partition int not null, next_offset bigint not null,
    updated_at timestamptz not null default now(), primary key (consumer_group, topic, partition));
  create table if not exists ${s}.${processed} (
    consumer_group text not null, event_id text not null, applied_at timestamptz not null default now(),
    primary key (consumer_group, event_id))`;

// The two writes below run in the chunk's transaction with the search_path at the projection's schema. The
// names stay unqualified on purpose: a transaction a rebuild's switch held resolves them in the new schema.

/** Records event ids as applied; returns those that were not applied before. */
export async function markApplied(tx: pg.PoolClient, group: string, eventIds: string[]): Promise<Set<string>> {
  if (!eventIds.length) return new Set();
  const r = await tx.query<{ event_id: string }>(
    `insert into ${processed} (consumer_group, event_id) select $1, unnest($2::text[]) on conflict do nothing returning event_id`,
    [group, eventIds],
  );
  return new Set(r.rows.map((x) => x.event_id));
}

/** Moves stored next offsets forward (never back). */
export async function advancePositions(tx: pg.PoolClient, group: string, next: StoredPosition[]): Promise<void> {
  for (const p of next)
    await tx.query(
      `insert into ${positions} (consumer_group, topic, partition, next_offset) values ($1, $2, $3, $4)
       on conflict (consumer_group, topic, partition) do update set next_offset = greatest(${positions}.next_offset, excluded.next_offset), updated_at = now()`,
      [group, p.topic, p.partition, p.next],
    );
}

/** The stored next offset of one partition. */
export async function pgPosition(
  pool: pg.Pool,
  schema: string,
  group: string,
  topic: string,
  partition: number,
): Promise<number | undefined> {
  const r = await pool.query<{ next_offset: string }>(
    `select next_offset from ${quoteIdent(schema)}.${positions} where consumer_group = $1 and topic = $2 and partition = $3`,
    [group, topic, partition],
  );
  return r.rows[0] ? Number(r.rows[0].next_offset) : undefined;
}

/** Every stored next offset of a group (none when the schema has no bookkeeping yet). */
export async function pgPositions(pool: pg.Pool, schema: string, group: string): Promise<StoredPosition[]> {
  const exists = await pool.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [
    schema,
    positions,
  ]);
  if (!exists.rowCount) return [];
  const r = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    `select topic, partition, next_offset from ${quoteIdent(schema)}.${positions} where consumer_group = $1`,
    [group],
  );
  return r.rows.map((x) => ({ topic: x.topic, partition: x.partition, next: Number(x.next_offset) }));
}

/** The event ids a group has applied: all of them, or those among `eventIds`. */
export async function pgApplied(pool: pg.Pool, schema: string, group: string, eventIds?: string[]): Promise<Set<string>> {
  const r = await pool.query<{ event_id: string }>(
    `select event_id from ${quoteIdent(schema)}.${processed} where consumer_group = $1${eventIds ? ' and event_id = any($2)' : ''}`,
    eventIds ? [group, eventIds] : [group],
  );
  return new Set(r.rows.map((x) => x.event_id));
}

/**
 * Holds the projection's processor at its next write of bookkeeping, for the caller's transaction;
 * in-flight transactions finish first. A rebuild's switch takes it. The positions too: a chunk of only
 * unhandled records (a processor's own derived events) writes no applied id, and its positions must not
 * land in the schema being renamed away.
 */
export async function lockApplied(tx: pg.PoolClient, schema: string): Promise<void> {
  await tx.query(`lock table ${quoteIdent(schema)}.${processed}, ${quoteIdent(schema)}.${positions} in exclusive mode`);
}
