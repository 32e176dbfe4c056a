import { expect } from 'chai';
import type { MongoClient } from 'mongodb';
import { createMongoClient } from '../../lib/clients/mongo';
import { pgUrlForDatabase, withPgClient } from '../../lib/clients/pg';
import { randomName, testConfig } from '../../test/support';
import { ensureFerretDbLookupIndexes, pipelineLookups } from './indexes';

/** The plan PostgreSQL picks for the filter FerretDB v1 generates for `{field: value}` on a collection's table. */
async function planOf(ferretPgUrl: string, schema: string, collection: string, field: string, value: string): Promise<string> {
  return withPgClient(ferretPgUrl, async (pg) => {
    const t = await pg.query<{ tablename: string }>(`select tablename from pg_tables where schemaname = $1 and tablename ~ $2`, [
      schema,
      `^${collection}_[0-9a-f]{8}$`,
    ]);
    expect(t.rows, `FerretDB's table of ${collection}`).to.have.length(1);
    const table = `"${schema}"."${t.rows[0]!.tablename}"`;
    await pg.query(`analyze ${table}`);
    const plan = await pg.query<{ 'QUERY PLAN': string }>(
      `explain select _jsonb from ${table} where _jsonb -> $1 @> $2`
        .replace('$1', `'${field}'`)
        .replace('$2', `'${JSON.stringify(value)}'`),
    );
    return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('FerretDB lookup indexes (deploy/ferretdb)', function () {
  this.timeout(120_000);
  const config = testConfig();
  const ferretPgUrl = pgUrlForDatabase(config.pg.url, 'ferretdb');
  const dbName = randomName('it_lookups').replace(/-/g, '_');
  let client: MongoClient;

  before(async () => {
    client = createMongoClient(config);
    await client.connect();
    await ensureFerretDbLookupIndexes(ferretPgUrl, pipelineLookups());
  });
  after(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  const lookups = pipelineLookups().flatMap((l) => l.fields.map((field) => ({ collection: l.collection, field })));

  it('covers the lookups the processors declare', () => {
    expect(lookups.map((l) => `${l.collection}.${l.field}`)).to.include.members(['users.userType']);
  });

  for (const { collection, field } of lookups) {
    it(`serves ${collection} by ${field} from an index on a collection created after the indexes were declared`, async () => {
      const docs = client.db(dbName).collection<Record<string, unknown>>(collection);
      await docs.insertMany(Array.from({ length: 4000 }, (_, n) => ({ _id: `D-${n}`, [field]: `V-${n}`, other: `O-${n}` })) as never);
      expect(await docs.find({ [field]: 'V-1234' }).toArray()).to.have.length(1);
      expect(await planOf(ferretPgUrl, dbName, collection, field, 'V-1234')).to.match(/Index Scan/);
    });
  }

  it('leaves an undeclared field to a sequential scan (what every lookup was before)', async () => {
    expect(await planOf(ferretPgUrl, dbName, lookups[0]!.collection, 'other', 'O-1234')).to.match(/Seq Scan/);
  });
});
