import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../lib/config';
import { createMongoClient } from '../lib/clients/mongo';
import { pgUrlForDatabase, withPgClient } from '../lib/clients/pg';
import { markerId, markers as markersOf, MONGO_COLLECTIONS, mongoAppliedAmong } from '../processors/runtime/mongo-bookkeeping';
import { record } from './lib/report';

/**
 * `npm run bench:mongo-markers`: the duplicate check MongoStore runs for every chunk (are these
 * event ids already applied?) against a marker collection of N documents on FerretDB, as one `$in`
 * and as one `findOne({_id})` per id, each with FerretDB's own `_id` index only and with the GIN
 * index deploy/ferretdb/id-index.sql adds. The marker collection grows by one document per applied
 * event, so this is the cost that grows with a processor's history.
 */
async function main(): Promise<void> {
  const n = Number(process.env.BENCH_MARKERS_N ?? 100_000);
  const chunk = Number(process.env.BENCH_MARKERS_CHUNK ?? 200);
  const rounds = Number(process.env.BENCH_MARKERS_ROUNDS ?? 5);
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const dbName = `bench_markers_${randomUUID().slice(0, 8)}`;
  const mongo = createMongoClient(config);
  const ferretdb = pgUrlForDatabase(config.pg.url, 'ferretdb');
  await mongo.connect();
  try {
    const db = mongo.db(dbName);
    const markers = markersOf(db);
    const group = 'bench';
    for (let i = 0; i < n; i += 5000) {
      const size = Math.min(5000, n - i);
      await markers.insertMany(Array.from({ length: size }, (_, k) => ({ _id: markerId(group, `evt-${i + k}`), at: new Date() })));
    }
    // FerretDB's table of the collection: its name, then a hash.
    const table = `${MONGO_COLLECTIONS.processed.replace(/_/g, '\\_')}%`;
    const gin = await withPgClient(ferretdb, (c) =>
      c.query<{ schemaname: string; indexname: string }>(
        `select schemaname, indexname from pg_indexes where schemaname = $1 and tablename like $2 and indexdef like '%USING gin%'`,
        [dbName, table],
      ),
    );
    // Half the event ids of a chunk exist (redelivery), half do not (new events): both paths are measured.
    const ids = (r: number): string[] =>
      Array.from({ length: chunk }, (_, k) => (k % 2 ? `evt-${(r * 7919 + k * 104_729) % n}` : `new-${r}-${k}`));
    const measure = async (lookup: (ids: string[]) => Promise<number>): Promise<number> => {
      await lookup(ids(rounds)); // warm-up
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) {
        const found = await lookup(ids(r));
        if (found !== chunk / 2) throw new Error(`lookup found ${found} of ${chunk / 2} existing markers`);
      }
      return (performance.now() - t0) / rounds;
    };
    // The $in MongoStore used before, and the runtime's lookup (one findOne per id).
    const inQuery = (x: string[]): Promise<number> =>
      markers
        .find({ _id: { $in: x.map((id) => markerId(group, id)) } }, { projection: { _id: 1 } })
        .toArray()
        .then((d) => d.length);
    const eachQuery = (x: string[]): Promise<number> => mongoAppliedAmong(db, group, x).then((found) => found.size);

    const rows: Array<[string, number]> = [];
    if (gin.rows.length) {
      rows.push(['$in, with the GIN index', await measure(inQuery)], ['findOne per id, with the GIN index', await measure(eachQuery)]);
      await withPgClient(ferretdb, async (c) => {
        for (const r of gin.rows) await c.query(`drop index "${r.schemaname}"."${r.indexname}"`);
      });
    }
    rows.push(['$in, FerretDB index only', await measure(inQuery)], ['findOne per id, FerretDB index only', await measure(eachQuery)]);

    process.stdout.write(`marker lookup benchmark: ${n.toLocaleString('en')} markers, chunks of ${chunk} ids, ${rounds} rounds\n`);
    if (!gin.rows.length) process.stdout.write('(no GIN index found: deploy/ferretdb/id-index.sql was not applied to this server)\n');
    process.stdout.write('| lookup | ms per chunk | ids/s |\n|---|---|---|\n');
    for (const [name, ms] of rows) {
      const perSecond = (chunk * 1000) / ms;
      process.stdout.write(`| ${name} | ${ms.toFixed(1)} | ${Math.round(perSecond).toLocaleString('en')} |\n`);
      record({
        figure: `mongo markers: ${name}, ids/s at ${n.toLocaleString('en')} markers`,
        value: perSecond,
        unit: 'ids/s',
        better: 'higher',
      });
    }
  } finally {
    await mongo.db(dbName).dropDatabase();
    await mongo.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:mongo-markers: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
