import type { Db, MongoClient } from 'mongodb';
import type pg from 'pg';
import { migrate } from '../../lib/migrate';
import { PG_MIGRATIONS } from '../all';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { ProcessorHost, type HostOptions } from '../runtime/host';
import { mongoPositions } from '../runtime/mongo-bookkeeping';
import { pgPositions } from '../runtime/pg-bookkeeping';
import { quoteIdent } from '../runtime/sql';
import type { ProcessorDefinition } from '../runtime/types';
import { key, offsetsOf, type Offsets } from './offsets';

/** Where a projection lives (its live copy, a rebuild or a snapshot): a Postgres schema or a Mongo database. */
export interface Target {
  readonly name: string;
  prepare(): Promise<void>;
  /** Stored next offsets of the runtime, per physical topic partition, for one store group. */
  positions(group: string): Promise<Offsets>;
  drop(): Promise<void>;
  /** Makes a finished snapshot read-only (Postgres only: FerretDB has no per-database write protection). */
  seal?(): Promise<void>;
  host: Pick<HostOptions, 'pgSchema' | 'mongoDb'>;
}

/** Stored next offsets of a Postgres projection schema for one store group (empty when the schema has none yet). */
export const pgOffsets = async (pool: pg.Pool, schema: string, group: string): Promise<Offsets> =>
  offsetsOf(await pgPositions(pool, schema, group));

/**
 * The host of a replay (rebuild, snapshot or verify): its own consumer group, applied events and
 * positions recorded under the live name, the target store, no side effects, an optional bound.
 */
export function replayHost(
  config: Config,
  logger: Logger,
  def: ProcessorDefinition,
  o: { group: string; liveGroup: string; target: Target; topicName?: (t: string) => string; bound?: Offsets },
): ProcessorHost {
  const bound = o.bound;
  return new ProcessorHost([def], config, logger, {
    opsPort: 0,
    groupId: () => o.group,
    storeGroup: () => o.liveGroup,
    ...o.target.host,
    replaying: true,
    topicName: o.topicName,
    stopAt: bound ? (t, p) => bound.get(key(t, p)) : undefined,
  });
}

export function pgTarget(pool: pg.Pool, def: ProcessorDefinition, schema: string): Target {
  return {
    name: schema,
    prepare: async () => void (await migrate(pool, schema, PG_MIGRATIONS[def.name]!)),
    positions: (group) => pgOffsets(pool, schema, group),
    drop: async () => void (await pool.query(`drop schema if exists ${quoteIdent(schema)} cascade`)),
    // Privileges would not hold: the services connect as the tables' owner (a superuser locally). A statement
    // trigger refusing every write binds any role; dropping the snapshot (DDL) stays possible.
    async seal() {
      const s = quoteIdent(schema);
      await pool.query(`create or replace function ${s}.refuse_writes() returns trigger language plpgsql as $$
        begin raise exception 'snapshot % is read-only', tg_table_schema using errcode = 'read_only_sql_transaction'; end $$`);
      const tables = await pool.query<{ t: string }>(
        "select table_name t from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'",
        [schema],
      );
      for (const { t } of tables.rows)
        await pool.query(
          `create or replace trigger read_only before insert or update or delete or truncate on ${s}.${quoteIdent(t)}
           for each statement execute function ${s}.refuse_writes()`,
        );
    },
    host: { pgSchema: () => schema },
  };
}

export function mongoTarget(mongo: MongoClient, database: string): Target {
  const db = (): Db => mongo.db(database);
  return {
    name: database,
    prepare: () => Promise.resolve(),
    positions: async (group) => offsetsOf(await mongoPositions(db(), group)),
    drop: async () => void (await db().dropDatabase()),
    host: { mongoDb: () => database },
  };
}
