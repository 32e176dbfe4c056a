import type { Db, MongoClient } from 'mongodb';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { randomName } from '../../test/support';
import { GUARD_FIELD, isBookkeepingCollection } from '../runtime/mongo-bookkeeping';
import { MongoStore } from '../runtime/mongo-store';
import type { Ready } from '../runtime/store';
import type { Emitted, MongoProcessor, Position, ProjectContext } from '../runtime/types';

/**
 * A Mongo projection on throwaway databases of the real MongoDB-protocol server (FerretDB here), for
 * projection specs: registers the suite's before/after hooks and applies records in chunks as the
 * runtime does, with nothing published.
 */
export function throwawayMongoProjection(config: Config, def: MongoProcessor) {
  const logger = createLogger(config, 'it');
  let client: MongoClient | undefined;
  let pool: pg.Pool | undefined;
  const dbs: string[] = [];
  before(async () => {
    client = createMongoClient(config);
    await client.connect();
    pool = createPgPool(config, {}, logger);
  });
  after(async () => {
    for (const d of dbs) await client!.db(d).dropDatabase();
    await client!.close();
    await pool?.end();
  });
  const ctx = (position: Position): ProjectContext => ({ processor: def.name, clock: systemClock, logger, position, replaying: false });
  /** A fresh database with the runtime's store on it. */
  const store = async (): Promise<{ s: MongoStore; db: Db }> => {
    const name = randomName(`it_${def.name}`).replace(/-/g, '_');
    dbs.push(name);
    const db = client!.db(name);
    const s = new MongoStore(pool!, db, def, def.name);
    await s.init();
    return { s, db };
  };
  /** Applies records in chunks of `size`; every event the chunks emitted. */
  const apply = async ({ s }: { s: MongoStore }, records: Ready[], size: number): Promise<Emitted> => {
    const out: Emitted = [];
    for (let i = 0; i < records.length; i += size) out.push(...(await s.applyChunk(records.slice(i, i + size), ctx, undefined)).emitted);
    return out;
  };
  /** Every document of the read model, by collection, without the runtime's guard field. */
  const content = async (db: Db): Promise<Record<string, unknown[]>> => {
    const out: Record<string, unknown[]> = {};
    for (const c of (await db.listCollections().toArray()).map((x) => x.name).sort()) {
      if (isBookkeepingCollection(c)) continue;
      out[c] = await db
        .collection(c)
        .find({}, { projection: { [GUARD_FIELD]: 0 } })
        .sort({ _id: 1 })
        .toArray();
    }
    return out;
  };
  return { store, apply, content };
}
