import { expect } from 'chai';
import type { CommandStartedEvent, Document, MongoClient } from 'mongodb';
import { createMongoClient } from '../../lib/clients/mongo';
import { randomName, testConfig } from '../../test/support';
import { usersQueries } from './queries';

/**
 * Every read of the users queries is one the server answers from an index: each `find` they send is explained
 * on the real server (FerretDB: the filter pushed down to PostgreSQL, where deploy/ferretdb's indexes serve it,
 * see indexes.int.spec.ts; MongoDB: no collection scan). FerretDB v1
 * does not push `$in` or `$or` down (it reads the whole collection), which is what this test caught in `many`
 * and `bulkValidate`.
 */
describe('users queries read by index (real FerretDB)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const dbName = randomName('it_users_q').replace(/-/g, '_');
  let monitored: MongoClient;
  let plain: MongoClient;
  const finds: Document[] = [];

  before(async () => {
    monitored = createMongoClient(config, { monitorCommands: true });
    plain = createMongoClient(config);
    await Promise.all([monitored.connect(), plain.connect()]);
    monitored.on('commandStarted', (e: CommandStartedEvent) => {
      if (e.commandName === 'find' && e.databaseName === dbName) finds.push(e.command);
    });
    const users = plain.db(dbName).collection<{ _id: string }>('users');
    await users.insertMany(
      Array.from({ length: 3000 }, (_, n) => ({
        _id: `U-${String(n).padStart(4, '0')}`,
        userType: n % 3 === 0 ? 'STUDENT' : 'TEACHER',
        status: n % 7 === 0 ? 'INACTIVE' : 'ACTIVE',
        roles: [],
        firstName: `F${n}`,
      })),
    );
    await plain.db(dbName).collection<{ _id: string }>('student360').insertOne({ _id: 'U-0003' });
  });
  after(async () => {
    await plain.db(dbName).dropDatabase();
    await Promise.all([monitored.close(), plain.close()]);
  });

  /** What the server says of a filter: on FerretDB whether it reaches PostgreSQL, on MongoDB whether an index serves it. */
  const explain = (collection: string, filter: Document) =>
    plain.db(dbName).command({ explain: { find: collection, filter }, verbosity: 'queryPlanner' });
  const onFerret = (e: Document): boolean => typeof (e.serverInfo as Document | undefined)?.ferretdbVersion === 'string';
  async function indexed(collection: string, filter: Document): Promise<boolean> {
    const e = await explain(collection, filter);
    return onFerret(e) ? e.filterPushdown === true : !JSON.stringify(e.queryPlanner).includes('COLLSCAN');
  }

  async function sentFinds(run: () => Promise<unknown>): Promise<Array<{ find: string; filter: Document }>> {
    finds.length = 0;
    await run();
    return finds.map((c) => ({ find: String(c.find), filter: (c.filter ?? {}) as Document }));
  }

  it('many and bulkValidate: one read by _id per distinct id, none by $in', async () => {
    const q = usersQueries(monitored.db(dbName));
    const ids = ['U-0003', 'U-0004', 'U-0007', 'U-0003', 'U-9999'];
    const sent = await sentFinds(async () => {
      expect([...(await q.many(ids)).keys()].sort()).to.deep.equal(['U-0003', 'U-0004', 'U-0007']);
      expect(await q.bulkValidate(ids)).to.deep.equal([
        { userId: 'U-0003', exists: true, active: true, student: true },
        { userId: 'U-0004', exists: true, active: true, student: false },
        { userId: 'U-0007', exists: true, active: false, student: false },
        { userId: 'U-0003', exists: true, active: true, student: true },
        { userId: 'U-9999', exists: false, active: false, student: false },
      ]);
    });
    expect(sent).to.have.length(8); // four distinct ids, twice
    for (const s of sent) {
      expect(Object.keys(s.filter), JSON.stringify(s.filter)).to.deep.equal(['_id']);
      expect(typeof s.filter._id, JSON.stringify(s.filter)).to.equal('string');
      expect(await indexed(s.find, s.filter), JSON.stringify(s.filter)).to.equal(true);
    }
  });

  it('a user, the 360 and a page of users by type send only filters the server serves from an index', async () => {
    const q = usersQueries(monitored.db(dbName));
    const sent = await sentFinds(async () => {
      expect((await q.user('U-0003'))?.userId).to.equal('U-0003');
      await q.student360('U-0003');
      expect((await q.byType('STUDENT', undefined, 5)).map((u) => u.userId)).to.deep.equal([
        'U-0000',
        'U-0003',
        'U-0006',
        'U-0009',
        'U-0012',
      ]);
    });
    expect(sent.map((s) => s.find).sort()).to.deep.equal(['student360', 'users', 'users']);
    for (const s of sent) expect(await indexed(s.find, s.filter), `${s.find} ${JSON.stringify(s.filter)}`).to.equal(true);
  });

  it('a filter by $in is one FerretDB reads whole (what the test guards against)', async function () {
    if (!onFerret(await explain('users', {}))) this.skip(); // MongoDB serves $in from the _id index
    expect(await indexed('users', { _id: { $in: ['U-0003', 'U-0004'] } })).to.equal(false);
  });
});
