import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../../lib/config';
import { withPgClient } from '../../lib/clients/pg';
import { createLogger } from '../../lib/logger';
import { createProcessors, mongoLookups } from '../../processors/all';
import type { Lookup } from '../../processors/runtime/types';

/**
 * Makes the Mongo processors' lookups indexed on FerretDB v1 (lookup-indexes.sql says why): applies the
 * file in FerretDB's PostgreSQL database, records each declared lookup field and indexes the existing
 * tables for it; tables created later get theirs from the file's event trigger. Needs a superuser.
 */
export async function ensureFerretDbLookupIndexes(ferretPgUrl: string, lookups: readonly Lookup[]): Promise<void> {
  const sql = fs.readFileSync(path.join(__dirname, 'lookup-indexes.sql'), 'utf8');
  await withPgClient(ferretPgUrl, async (client) => {
    await client.query(sql);
    // `_id` is indexed on every table already.
    const fields = lookups.flatMap((l) => l.fields.filter((f) => f !== '_id').map((field) => ({ collection: l.collection, field })));
    const added = await client.query(
      `insert into public.school_events_lookups (collection, field)
       select * from unnest($1::text[], $2::text[]) on conflict do nothing`,
      [fields.map((f) => f.collection), fields.map((f) => f.field)],
    );
    if (added.rowCount) await client.query('select school_events_lookup_gin_all()');
  });
}

/** The lookups every Mongo processor of the pipeline declares. */
export function pipelineLookups(config: Config): Lookup[] {
  return mongoLookups(createProcessors(config, createLogger(config, 'ferretdb-indexes')));
}

// `npm run ferretdb:indexes -- <postgres URL of FerretDB's database>` (deploy/README.md).
if (require.main === module) {
  const url = process.argv[2] ?? process.env.FERRETDB_PG_URL;
  if (!url) {
    process.stderr.write('usage: npm run ferretdb:indexes -- postgres://<superuser>@<host>/<FerretDB database> (or FERRETDB_PG_URL)\n');
    process.exit(2);
  }
  ensureFerretDbLookupIndexes(url, pipelineLookups(loadConfig({ ...process.env, LOG_LEVEL: 'error' }))).then(
    () => process.stdout.write('FerretDB lookup indexes in place\n'),
    (e: unknown) => {
      process.stderr.write(`ferretdb:indexes failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
