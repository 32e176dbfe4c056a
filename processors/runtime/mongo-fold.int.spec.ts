import { expect } from 'chai';
import type { MongoClient } from 'mongodb';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool } from '../../lib/clients/pg';
import { createLogger } from '../../lib/logger';
import { randomName, testConfig } from '../../test/support';
import { anEvent } from '../testing/gwt';
import { GUARD_FIELD } from './mongo-bookkeeping';
import { MongoStore } from './mongo-store';
import type { Ready } from './store';
import type { MongoProcessor, Position, ProjectContext } from './types';

/**
 * The Mongo fold's documents written without a read (blind) and with one, on the real FerretDB: a chunk
 * redelivered after a crash between the documents and the markers (here: a store of another group, which
 * has no markers) applies what it had not, once.
 */
describe('Mongo fold: blind and read writes across a crash (real FerretDB)', function () {
  this.timeout(30000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const logger = createLogger(config, 'it');
  let mongo: MongoClient;
  let pool: pg.Pool;
  const dbs: string[] = [];
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

  // Each user.created: an idempotent update of `names` (written blind: no decision reads it) and a $push
  // to `log` (not idempotent: read first, so events applied before the crash are filtered in memory).
  const def: MongoProcessor = {
    name: 'it-blind',
    topics: ['user-events'],
    handles: ['user.created'],
    store: 'mongo',
    fold: {
      handles: ['user.created'],
      keys: () => [],
      fold: (_docs, event) => {
        const name = (event as ReturnType<typeof anEvent<'user.created'>>).payload.firstName;
        return {
          updates: [
            { collection: 'names', id: 'U', set: { last: name }, addToSet: { all: name } },
            { collection: 'log', id: 'U', push: { seen: name } },
          ],
          emit: [],
        };
      },
    },
  };
  const ctx = (position: Position): ProjectContext => ({ processor: def.name, clock: systemClock, logger, position, replaying: false });
  const records: Ready[] = Array.from({ length: 6 }, (_, i) => ({
    event: anEvent('user.created', { userId: 'U', firstName: `F${i}` }),
    position: { topic: 'user-events', partition: 0, offset: i },
  }));

  it('a bigger chunk after the crash writes the tail of both, and nothing twice', async () => {
    const name = randomName('it_blind').replace(/-/g, '_');
    dbs.push(name);
    const db = mongo.db(name);
    const before = new MongoStore(pool, db, def, 'it-blind');
    await before.init();
    await before.applyChunk(records.slice(0, 3), ctx, undefined);
    const after = new MongoStore(pool, db, def, 'it-blind-after-crash'); // no markers: every event is folded again
    await after.init();
    await after.applyChunk(records, ctx, undefined);
    const hide = { projection: { [GUARD_FIELD]: 0 } };
    expect(await db.collection('names').findOne({ _id: 'U' as never }, hide)).to.deep.equal({
      _id: 'U',
      last: 'F5',
      all: ['F0', 'F1', 'F2', 'F3', 'F4', 'F5'],
    });
    expect(await db.collection('log').findOne({ _id: 'U' as never }, hide)).to.deep.equal({
      _id: 'U',
      seen: ['F0', 'F1', 'F2', 'F3', 'F4', 'F5'],
    });
  });
});
