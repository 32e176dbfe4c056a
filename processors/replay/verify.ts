import type pg from 'pg';
import { createKafka } from '../../lib/clients/kafka';
import { createPgPool } from '../../lib/clients/pg';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { createProcessors, PG_MIGRATIONS } from '../all';
import { ProcessorHost } from '../runtime/host';
import { quoteIdent } from '../runtime/postgres-store';
import { key, startOffsets } from './offsets';
import { caughtUp } from './progress';
import { positions, ReplayError } from './rebuild';

const RUNTIME_TABLES = new Set(['runtime_positions', 'runtime_processed', 'schema_migrations']);

export interface VerifyResult {
  equal: boolean;
  tables: number;
  rows: number;
  differences: string[];
}

/**
 * Compares the live projection with a fresh rebuild from the topics up to exactly the
 * positions the live one has applied (so a quiet or stopped live projection must be equal).
 * Columns filled by the database clock (default now()) are left out: they say when, not what.
 */
export async function verify(
  config: Config,
  logger: Logger,
  o: { name: string; liveSchema?: string; liveGroup?: string; topicName?: (t: string) => string },
): Promise<VerifyResult> {
  const def = createProcessors(config, logger).find((d) => d.name === o.name);
  if (!def || def.store !== 'postgres')
    throw new ReplayError(`verify works on the Postgres projections (${Object.keys(PG_MIGRATIONS).join(', ')}); got ${o.name}`);
  const live = o.liveSchema ?? `proj_${o.name}`;
  const liveGroup = o.liveGroup ?? o.name;
  const stamp = `${Date.now()}`;
  const temp = `verify_${o.name}_${stamp}`;
  const group = `verify-${live}-${stamp}`;
  const pool = createPgPool(config, {}, logger);
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    const topics = def.topics.map(o.topicName ?? ((t) => t));
    const bound = await positions(pool, live, liveGroup);
    const start = await startOffsets(admin, topics);
    // Partitions the live projection never stored a position for: nothing of them is applied there either.
    for (const k of start.keys()) if (!bound.has(k)) bound.set(k, start.get(k) ?? 0);
    await migrate(pool, temp, PG_MIGRATIONS[o.name]!);
    const host = new ProcessorHost([def], config, logger.child({ verify: o.name }), {
      opsPort: 0,
      groupId: () => group,
      storeGroup: () => liveGroup,
      pgSchema: () => temp,
      replaying: true,
      topicName: o.topicName,
      stopAt: (t, p) => bound.get(key(t, p)),
    });
    await host.start();
    try {
      for (;;) {
        if (caughtUp(bound, await positions(pool, temp, liveGroup), start)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await host.stop();
    }
    return await compareSchemas(pool, live, temp);
  } finally {
    await pool.query(`drop schema if exists ${quoteIdent(temp)} cascade`).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await pool.end();
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
    .filter((t) => !RUNTIME_TABLES.has(t));
  const differences: string[] = [];
  let rows = 0;
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
      const d = await pool.query(`select row_to_json(d) r from (select ${list} from ${x} except all select ${list} from ${y}) d limit 3`);
      for (const r of d.rows as Array<{ r: unknown }>) differences.push(`${t} (${label}): ${JSON.stringify(r.r)}`);
    }
  }
  return { equal: differences.length === 0, tables: tables.length, rows, differences };
}
