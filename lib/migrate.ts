import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/**
 * Versioned SQL migrations for one projection schema: files `NNN_name.sql` in a
 * folder, applied in order, each in its own transaction, recorded in
 * `<schema>.schema_migrations`. Table names in the files are unqualified, so the same
 * migrations build a fresh versioned schema for a rebuild. An advisory lock keeps two
 * processes from migrating the same schema at once.
 */
export async function migrate(pool: pg.Pool, schema: string, dir: string): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [`migrate:${schema}`]);
    await client.query(`create schema if not exists ${quote(schema)}`);
    await client.query(
      `create table if not exists ${quote(schema)}.schema_migrations (version text primary key, applied_at timestamptz not null default now())`,
    );
    const done = new Set(
      (await client.query<{ version: string }>(`select version from ${quote(schema)}.schema_migrations`)).rows.map((r) => r.version),
    );
    for (const f of files.filter((x) => !done.has(x))) {
      await client.query('begin');
      try {
        await client.query(`set local search_path to ${quote(schema)}, public`);
        await client.query(fs.readFileSync(path.join(dir, f), 'utf8'));
        await client.query(`insert into ${quote(schema)}.schema_migrations (version) values ($1)`, [f]);
        await client.query('commit');
        applied.push(f);
      } catch (e) {
        await client.query('rollback');
        throw new Error(`migration ${schema}/${f} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    return applied;
  } finally {
    await client.query('select pg_advisory_unlock(hashtext($1))', [`migrate:${schema}`]).catch(() => undefined);
    client.release();
  }
}
