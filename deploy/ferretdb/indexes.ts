import fs from 'node:fs';
import path from 'node:path';
import { parseCli, runCli, UsageError } from '../../lib/cli';

import { withPgClient } from '../../lib/clients/pg';
import { mongoLookups, PROCESSOR_MANIFEST } from '../../processors/manifest';
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
export function pipelineLookups(): Lookup[] {
  return mongoLookups(PROCESSOR_MANIFEST);
}

// `npm run ferretdb:indexes -- <postgres URL of FerretDB's database>` (deploy/README.md).
const HELP = `usage: npm run ferretdb:indexes -- <postgres URL of FerretDB's database>   (or FERRETDB_PG_URL)

Creates, in the PostgreSQL database behind FerretDB v1, the expression indexes that serve the lookups every
Mongo projection declares (FerretDB's own indexes cannot). Idempotent; needs a role that may create indexes.`;

if (require.main === module)
  runCli('ferretdb:indexes', async () => {
    const { positionals } = parseCli({ name: 'ferretdb:indexes', help: HELP, options: {}, allowPositionals: true });
    const url = positionals[0] ?? process.env.FERRETDB_PG_URL;
    if (!url || positionals.length > 1) throw new UsageError('give one postgres:// URL (or set FERRETDB_PG_URL)');
    await ensureFerretDbLookupIndexes(url, pipelineLookups());
    process.stdout.write('FerretDB lookup indexes in place\n');
  });
