import type { Db, MongoClient } from 'mongodb';
import type pg from 'pg';
import { createKafka } from '../../lib/clients/kafka';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { createProcessors } from '../all';
import { GUARD_FIELD, isBookkeepingCollection } from '../runtime/mongo-bookkeeping';
import { readLive } from '../runtime/mongo-live';
import { projectionDb, projectionSchema, verifyName } from '../runtime/names';
import { RUNTIME_TABLES } from '../runtime/pg-bookkeeping';
import { quoteIdent } from '../runtime/sql';
import { startOffsets } from './offsets';
import { caughtUp } from './progress';
import { ReplayError } from './rebuild';
import { mongoTarget, pgTarget, replayHost, type Target } from './targets';

const NOT_READ_MODEL = new Set([...RUNTIME_TABLES, 'schema_migrations']);

export interface VerifyResult {
  equal: boolean;
  tables: number;
  rows: number;
  differences: string[];
  /** Rows/documents only in the live projection (applied twice or wrongly) and only in the rebuild (lost). */
  onlyLive: number;
  onlyRebuilt: number;
}

export interface VerifyOptions {
  name: string;
  /** Live Postgres schema, or live Mongo database, of the projection (tests point at isolated ones). */
  live?: string;
  liveGroup?: string;
  topicName?: (t: string) => string;
}

/**
 * Compares the live projection with a fresh rebuild from the topics up to exactly the
 * positions the live one has applied (so a quiet or stopped live projection must be equal).
 * Postgres columns filled by the database clock (default now()) are left out, and so are
 * Mongo documents' runtime guard fields: they say when or how, not what.
 */
export async function verify(config: Config, logger: Logger, o: VerifyOptions): Promise<VerifyResult> {
  const def = createProcessors(config, logger).find((d) => d.name === o.name);
  if (!def || def.store === 'none') throw new ReplayError(`unknown projection ${o.name}`);
  const liveGroup = o.liveGroup ?? o.name;
  const stamp = `${Date.now()}`;
  const group = `verify-${o.name}-${stamp}`;
  const pool = createPgPool(config, {}, logger);
  const mongo: MongoClient | undefined = def.store === 'mongo' ? createMongoClient(config) : undefined;
  await mongo?.connect();
  // Mongo: `live` names the base database; the projection's live version is the one its pointer names.
  const live: Target = mongo
    ? mongoTarget(mongo, await readLive(mongo.db(o.live ?? projectionDb(config)), o.name))
    : pgTarget(pool, def, o.live ?? projectionSchema(o.name));
  const scratch = verifyName(o.name, stamp);
  const temp: Target = mongo ? mongoTarget(mongo, scratch) : pgTarget(pool, def, scratch);
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    const topics = def.topics.map(o.topicName ?? ((t) => t));
    const bound = await live.positions(liveGroup);
    const start = await startOffsets(admin, topics);
    // Partitions the live projection never stored a position for: nothing of them is applied there either.
    for (const k of start.keys()) if (!bound.has(k)) bound.set(k, start.get(k) ?? 0);
    await temp.prepare();
    const host = replayHost(config, logger.child({ verify: o.name }), def, {
      group,
      liveGroup,
      target: temp,
      topicName: o.topicName,
      bound,
    });
    await host.start();
    try {
      while (!caughtUp(bound, await temp.positions(liveGroup), start)) await new Promise((r) => setTimeout(r, 500));
    } finally {
      await host.stop();
    }
    return mongo ? await compareDatabases(mongo.db(live.name), mongo.db(temp.name)) : await compareSchemas(pool, live.name, temp.name);
  } finally {
    await temp.drop().catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
    await mongo?.close();
  }
}

export async function compareSchemas(pool: pg.Pool, a: string, b: string): Promise<VerifyResult> {
  const tables = (
    await pool.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by table_name",
      [a],
    )
  ).rows
    .map((r) => r.table_name)
    .filter((t) => !NOT_READ_MODEL.has(t));
  const differences: string[] = [];
  let rows = 0;
  const only = { live: 0, rebuilt: 0 };
  for (const t of tables) {
    const cols = (
      await pool.query<{ column_name: string }>(
        "select column_name from information_schema.columns where table_schema = $1 and table_name = $2 and coalesce(column_default, '') not like 'now()%' order by ordinal_position",
        [a, t],
      )
    ).rows.map((r) => quoteIdent(r.column_name));
    const list = cols.join(', ');
    const [qa, qb] = [`${quoteIdent(a)}.${quoteIdent(t)}`, `${quoteIdent(b)}.${quoteIdent(t)}`];
    rows += Number((await pool.query<{ n: string }>(`select count(*) n from ${qa}`)).rows[0]!.n);
    for (const [x, y, label] of [
      [qa, qb, 'only live'],
      [qb, qa, 'only rebuilt'],
    ] as const) {
      const diff = `select ${list} from ${x} except all select ${list} from ${y}`;
      const n = Number((await pool.query<{ n: string }>(`select count(*) n from (${diff}) d`)).rows[0]!.n);
      only[label === 'only live' ? 'live' : 'rebuilt'] += n;
      const d = n ? await pool.query(`select row_to_json(d) r from (${diff}) d limit 3`) : { rows: [] };
      for (const r of d.rows as Array<{ r: unknown }>) differences.push(`${t} (${label}): ${JSON.stringify(r.r)}`);
    }
  }
  return { equal: differences.length === 0, tables: tables.length, rows, differences, onlyLive: only.live, onlyRebuilt: only.rebuilt };
}

/** The rebuilt database holds only this projection's collections; each is compared with the live one of that name. */
export async function compareDatabases(live: Db, rebuilt: Db): Promise<VerifyResult> {
  const names = (await rebuilt.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((n) => !isBookkeepingCollection(n))
    .sort();
  const differences: string[] = [];
  let rows = 0;
  let onlyLive = 0;
  let onlyRebuilt = 0;
  const canon = (d: Record<string, unknown>): string => {
    const rest = { ...d };
    delete rest[GUARD_FIELD]; // the runtime's guard, not content
    return JSON.stringify(rest, (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
    );
  };
  for (const n of names) {
    const [a, b] = await Promise.all(
      [live, rebuilt].map((db) => db.collection<Record<string, unknown>>(n).find({}).sort({ _id: 1 }).toArray()),
    );
    rows += a!.length;
    const A = new Map(a!.map((d) => [String(d._id), canon(d)]));
    const B = new Map(b!.map((d) => [String(d._id), canon(d)]));
    for (const [id, doc] of A)
      if (B.get(id) !== doc) {
        onlyLive++;
        if (B.has(id)) onlyRebuilt++;
        differences.push(`${n} ${id}: live ${doc} vs rebuilt ${B.get(id) ?? '(missing)'}`);
      }
    for (const [id, doc] of B)
      if (!A.has(id)) {
        onlyRebuilt++;
        differences.push(`${n} ${id}: only rebuilt ${doc}`);
      }
  }
  return { equal: differences.length === 0, tables: names.length, rows, differences, onlyLive, onlyRebuilt };
}
