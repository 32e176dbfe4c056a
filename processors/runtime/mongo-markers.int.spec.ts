import { expect } from 'chai';
import type { MongoClient } from 'mongodb';
import type pg from 'pg';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import { randomName, testConfig } from '../../test/support';
import { mongoApplied, MongoMarkers } from './mongo-markers';

/** The Mongo projections' applied-event markers in the real PostgreSQL, tied to a real FerretDB database. */
describe('Mongo applied-event markers (real PostgreSQL and FerretDB)', function () {
  this.timeout(30000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  let mongo: MongoClient;
  let pool: pg.Pool;
  const dbs: string[] = [];
  const newDb = () => {
    const name = randomName('it_markers').replace(/-/g, '_');
    dbs.push(name);
    return mongo.db(name);
  };
  before(async () => {
    mongo = createMongoClient(config);
    await mongo.connect();
    pool = createPgPool(config);
  });
  after(async () => {
    for (const d of dbs) await mongo.db(d).dropDatabase();
    await mongo.close();
    await pool.end();
  });

  it('records ids per group, finds them among others, and readers outside the store see the same', async () => {
    const db = newDb();
    const m = new MongoMarkers(pool, db);
    await m.init();
    await m.mark('g1', ['e1', 'e2']);
    await m.mark('g1', ['e2', 'e3']); // already recorded ones are left as they are
    await m.mark('g2', ['e9']);
    expect([...(await m.among('g1', ['e0', 'e2', 'e3', 'e9']))].sort()).to.deep.equal(['e2', 'e3']);
    expect([...(await mongoApplied(pool, db, 'g1'))].sort()).to.deep.equal(['e1', 'e2', 'e3']);
    expect([...(await mongoApplied(pool, db, 'g2', ['e1', 'e9']))]).to.deep.equal(['e9']);
  });

  it('a database dropped and created again under the same name starts with no markers', async () => {
    const db = newDb();
    const before = new MongoMarkers(pool, db);
    await before.init();
    await before.mark('g', ['e1']);
    await db.dropDatabase();
    expect((await mongoApplied(pool, db, 'g')).size).to.equal(0);
    const after = new MongoMarkers(pool, db);
    await after.init();
    expect((await after.among('g', ['e1'])).size).to.equal(0);
  });

  it('adopts the markers an older version kept in the database, once, and drops their collection', async () => {
    const db = newDb();
    await db.collection<{ _id: string }>('_runtime_processed').insertMany([{ _id: 'users|e1' }, { _id: 'it-run|users|e2' }]);
    const m = new MongoMarkers(pool, db);
    await m.init();
    expect([...(await m.among('users', ['e1', 'e2']))]).to.deep.equal(['e1']);
    expect([...(await m.among('it-run|users', ['e1', 'e2']))]).to.deep.equal(['e2']);
    expect(await db.listCollections({ name: '_runtime_processed' }).hasNext()).to.equal(false);
  });
});
