import { expect } from 'chai';
import { testConfig, eventually } from '../../test/support';
import { TestPipeline } from '../../test/support/pipeline';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import { EVENT_DEFINITIONS } from '../../schemas/generated/events';
import { buildEvent } from '../../schemas/envelope';
import { EventCodec } from '../../schemas/codec';
import { eventHeaders } from '../../schemas/publisher';
import { avroOptions } from '../../schemas/logical-types';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { systemClock } from '../../lib/clock';
import { randomName } from '../../test/support';
import { createLogger } from '../../lib/logger';
import { createKafka } from '../../lib/clients/kafka';
import { readAll, recordOf } from '../../test/support/kafka';
import { createProcessors } from '../all';
import { endOffsets, key, type Offsets } from './offsets';
import { snapshotName } from '../runtime/names';
import { PG_TABLES } from '../runtime/pg-bookkeeping';
import { quoteIdent } from '../runtime/sql';
import { compareSchemas, verify } from './verify';
import { rebuild, ReplayError } from './rebuild';
import { pgOffsets } from './targets';
import { LiveDatabases, readLive as livePointer } from '../runtime/mongo-live';

/** Rebuilds of the grades projection on the real stack, against an isolated live pipeline. */
describe('replay and rebuild (int)', function () {
  this.timeout(240_000);
  const p = new TestPipeline(testConfig({ LOG_LEVEL: 'error' }));
  const logger = createLogger(p.config, 'replay-test');
  const where = () => ({
    name: 'grades',
    liveSchema: p.schema('grades'),
    liveGroup: `${p.run}-grades`,
    topicName: (t: string) => p.topic(t),
    pollMs: 200,
  });
  const mongoWhere = () => ({ name: 'users', liveGroup: `${p.run}-users`, topicName: (t: string) => p.topic(t), pollMs: 200 });
  let n = 0;
  const grade = (i = n++) =>
    p.publish('grade.recorded', {
      ...EXAMPLE_PAYLOADS['grade.recorded'],
      gradeId: `G-${i}`,
      studentUserId: `S-${i % 500}`,
      score: (i % 20) + 0.5,
    });
  const applied = async (): Promise<number> =>
    [...(await pgOffsets(p.pool, p.schema('grades'), `${p.run}-grades`)).values()].reduce((a, b) => a + b, 0);
  const settle = async (count: number): Promise<void> => {
    await eventually(
      async () =>
        (await p.pool.query<{ n: number }>(`select count(*)::int n from "${p.schema('grades')}".grades`)).rows[0]!.n === count
          ? true
          : undefined,
      `${count} grades live`,
      90_000,
    );
  };

  const sum = (o: Offsets): number => [...o.values()].reduce((a, b) => a + b, 0);
  const kafka = createKafka(p.config);
  const topics = () =>
    createProcessors(p.config, logger)
      .find((d) => d.name === 'grades')!
      .topics.map((t) => p.topic(t));
  /** Waits until the live grades processor has applied every record of its topics (its own derived events too): their ends. */
  const quiet = async (): Promise<Offsets> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await eventually(
        async () => {
          const ends = await endOffsets(admin, topics());
          return sum(ends) === (await applied()) ? ends : undefined;
        },
        'the live grades processor at the end of its topics',
        90_000,
        300,
      );
    } finally {
      await admin.disconnect();
    }
  };
  /** Every row of every table of a schema (positions aside: their updated_at moves; the outbox: its rows leave once sent), as JSON per table. */
  const contents = async (schema: string): Promise<Map<string, Array<Record<string, unknown>>>> => {
    const tables = await p.pool.query<{ t: string }>(
      "select table_name t from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' and table_name not in ($2, $3) order by 1",
      [schema, PG_TABLES.positions, PG_TABLES.outbox],
    );
    const out = new Map<string, Array<Record<string, unknown>>>();
    for (const { t } of tables.rows)
      out.set(
        t,
        (
          await p.pool.query<{ r: Record<string, unknown> }>(`select row_to_json(x) r from ${quoteIdent(schema)}.${quoteIdent(t)} x`)
        ).rows.map((x) => x.r),
      );
    return out;
  };
  /** Rows of `a` not in `b` (gone or changed) and rows of `b` not in `a` (added or changed). */
  const changes = (a: Array<Record<string, unknown>>, b: Array<Record<string, unknown>>) => {
    const [A, B] = [new Set(a.map((r) => JSON.stringify(r))), new Set(b.map((r) => JSON.stringify(r)))];
    return { gone: a.filter((r) => !B.has(JSON.stringify(r))), added: b.filter((r) => !A.has(JSON.stringify(r))) };
  };
  /** The events a rebuild target recorded as applied, with the transaction that wrote each row. */
  const processedIn = async (schema: string): Promise<Map<string, string>> =>
    new Map(
      (
        await p.pool.query<{ id: string; x: string }>(`select event_id id, xmin::text x from ${quoteIdent(schema)}.${PG_TABLES.processed}`)
      ).rows.map((r) => [r.id, r.x]),
    );
  /**
   * Readers querying the live grades by the live schema's name, as the API's queries do, back to back until
   * stopped (several, so that a moment without a complete projection is hard to miss): the smallest count, any
   * count lower than the same reader's previous one, which tables the name resolved to, and every error.
   */
  const readLive = (readers = 4) => {
    const s = quoteIdent(p.schema('grades'));
    const seen = { reads: 0, least: Infinity, decreases: [] as string[], tables: new Set<number>(), errors: [] as string[] };
    let stop = false;
    const loops = Array.from({ length: readers }, async () => {
      let last = 0;
      while (!stop) {
        try {
          const r = await p.pool.query<{ n: number; t: number }>(`select count(*)::int n, $1::regclass::oid::int t from ${s}.grades`, [
            `${s}.grades`,
          ]);
          const { n: count, t } = r.rows[0]!;
          if (count < last) seen.decreases.push(`${count} after ${last}`);
          [last, seen.least] = [count, Math.min(seen.least, count)];
          seen.reads++;
          seen.tables.add(t);
        } catch (e) {
          seen.errors.push(String(e));
        }
      }
    });
    return {
      stop: async () => {
        stop = true;
        await Promise.all(loops);
        return seen;
      },
    };
  };

  before(async () => {
    await p.start();
    for (let i = 0; i < 200; i++) await grade();
    const parked = async (): Promise<number> =>
      (await p.pool.query<{ n: number }>(`select count(*)::int n from "${p.schema('grades')}".parked_events`)).rows[0]!.n;
    await eventually(async () => ((await parked()) === 200 ? true : undefined), '200 grades parked live', 90_000);
    // The students' enrollments after their first grades (rule GRADE_STUDENT_NOT_ENROLLED): live parked the grades and
    // releases them with the enrollments; a rebuild reads the two topics in another interleaving, and verify below must
    // still find it equal (docs/invariants.md). The section, its course and its year's periods come last (the
    // grades move from one fact to the next): the examples' section teaches the examples' course in their period.
    const { sectionId } = EXAMPLE_PAYLOADS['grade.recorded'];
    const at = { sourceService: 'it', clock: systemClock };
    await p.publishMany([
      ...Array.from({ length: 500 }, (_, i) =>
        buildEvent('enrollment.completed', { enrollmentId: `E-${i}`, studentUserId: `S-${i}`, sectionId, warnings: [] }, at),
      ),
      buildEvent('section.created', EXAMPLE_PAYLOADS['section.created'], at),
      buildEvent('course.assigned', EXAMPLE_PAYLOADS['course.assigned'], at),
      buildEvent('academic.year.started', EXAMPLE_PAYLOADS['academic.year.started'], at),
    ]);
    await settle(200);
    expect(await parked()).to.equal(0);
  });
  after(async () => {
    await p.host.stop();
    await p.pool.query(`select nspname from pg_namespace where nspname like $1`, [`${p.schema('grades')}%`]).then(async (r) => {
      for (const row of r.rows as Array<{ nspname: string }>) await p.pool.query(`drop schema if exists "${row.nspname}" cascade`);
    });
    await p.pool.query(`drop schema if exists ${quoteIdent(snapshotName('grades', 'as_of_test'))} cascade`);
    await p.pool.query('delete from public.replay_builds where projection in ($1, $2)', [p.schema('grades'), p.schema('users')]);
    await p.stop();
  });

  it('a rebuild under live load switches atomically and equals the live projection afterwards (verify: equal)', async () => {
    let stop = false;
    const load = (async () => {
      // A steady live load (~100 events/s) the live processor keeps up with, as in production.
      while (!stop) {
        await grade();
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const reader = readLive();
    const r = await rebuild(p.config, logger, where()).finally(() => (stop = true));
    await load;
    const seen = await reader.stop();
    expect(r.switched).to.equal(true);
    expect(r.oldSchema).to.match(/_old_/);
    // Readers querying the live name throughout never failed and never saw fewer grades than before
    // (an empty or partial projection), across the switch: they read the old table, then the rebuilt one.
    expect(seen.errors).to.deep.equal([]);
    expect(seen.least).to.be.at.least(200);
    expect(seen.decreases).to.deep.equal([]);
    expect(seen.tables.size).to.equal(2);
    await settle(n);
    const v = await verify(p.config, logger, { ...where(), live: p.schema('grades') });
    expect(v.differences).to.deep.equal([]);
    expect(v.equal).to.equal(true);
    expect(v.rows).to.be.greaterThan(200);
    // The old version is kept until --drop-old and still holds what it had.
    expect((await p.pool.query<{ n: number }>(`select count(*)::int n from "${r.oldSchema!}".grades`)).rows[0]!.n).to.be.at.least(200);
  });

  it('an interrupted rebuild leaves the live projection untouched and resumes; a second concurrent one is refused', async () => {
    const live = p.schema('grades');
    const endsBefore = await quiet();
    const before = await contents(live);
    // Live events flow while the rebuild runs, until it is interrupted.
    const published: Array<Awaited<ReturnType<typeof grade>>> = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        published.push(await grade());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const abort = new AbortController();
    let concurrent: unknown;
    const first = rebuild(p.config, logger, {
      ...where(),
      noSwitch: true,
      signal: abort.signal,
      onProgress: async (progress) => {
        if (concurrent === undefined)
          concurrent = await rebuild(p.config, logger, where()).then(
            () => 'ran',
            (x: unknown) => x,
          );
        // Interrupted once it has applied something: a partial build to resume.
        if (progress.done > 0) abort.abort();
      },
    });
    const e = await first
      .then(
        () => undefined,
        (x: unknown) => x,
      )
      .finally(() => (stop = true));
    await load;
    expect(e).to.be.instanceOf(ReplayError);
    expect(String((e as Error).message)).to.match(/interrupted/);
    expect(String((concurrent as Error).message)).to.match(/already running/);
    expect(published).to.not.be.empty;

    // Untouched: every earlier row is still there unchanged; the only new grades and applied events are the
    // live ones published meanwhile; averages (and their running sums) moved only for their students; the
    // positions only by them.
    await settle(n);
    const endsAfter = await quiet();
    const after = await contents(live);
    expect([...after.keys()]).to.deep.equal([...before.keys()]);
    const students = new Set(published.map((g) => g.payload.studentUserId));
    for (const [table, rows] of after) {
      const { gone, added } = changes(before.get(table)!, rows);
      if (table === 'grades') {
        expect(gone, table).to.deep.equal([]);
        expect(added.map((r) => r.grade_id).sort()).to.deep.equal(published.map((g) => g.payload.gradeId).sort());
      } else if (table === PG_TABLES.processed) {
        expect(gone, table).to.deep.equal([]);
        expect(added.map((r) => r.event_id).sort()).to.deep.equal(published.map((g) => g.eventId).sort());
      } else if (table === 'period_averages' || table === 'grade_sums')
        expect(
          [...gone, ...added].filter((r) => !students.has(r.student_user_id as string)),
          table,
        ).to.deep.equal([]);
      else expect({ gone, added }, table).to.deep.equal({ gone: [], added: [] });
    }
    // The positions moved from the topics' ends before to their ends now (quiet), and everything appended in
    // between is a published grade or an event the live processor derived from one.
    const ids = new Set(published.map((g) => g.eventId));
    const appended = (await readAll(kafka, topics(), sum(endsAfter))).filter(
      (m) => Number(m.offset) >= (endsBefore.get(key(m.topic, m.partition)) ?? 0),
    );
    expect(appended.filter((m) => ids.has(String(m.headers?.eventId)))).to.have.length(published.length);
    expect(
      appended
        .filter((m) => !ids.has(String(m.headers?.eventId)) && !ids.has(String(m.headers?.causationId)))
        .map((m) => String(m.headers?.eventType)),
    ).to.deep.equal([]);
    expect(await applied()).to.equal(sum(endsBefore) + appended.length);

    // The rerun resumes the interrupted target: what it had applied stays as written, and only the rest is applied.
    const builds = await p.pool.query<{ target: string }>(
      "select target from public.replay_builds where projection = $1 and kind = 'rebuild' and status = 'building'",
      [live],
    );
    expect(builds.rows).to.have.length(1);
    const interrupted = builds.rows[0]!.target;
    expect(String((e as Error).message)).to.contain(interrupted);
    const kept = await processedIn(interrupted);
    const keptPositions = sum(await pgOffsets(p.pool, interrupted, `${p.run}-grades`));
    expect(kept.size).to.be.greaterThan(0);
    for (let i = 0; i < 20; i++) await grade(); // published while no rebuild runs: left for the rerun
    await settle(n);
    const endsNow = await quiet();
    const resumed = await rebuild(p.config, logger, { ...where(), noSwitch: true });
    expect(resumed.switched).to.equal(false);
    expect(resumed.target).to.equal(interrupted);
    const final = await processedIn(interrupted);
    expect(
      [...kept].filter(([id, x]) => final.get(id) !== x),
      'rows the interrupted run wrote, rewritten',
    ).to.deep.equal([]);
    const finalPositions = sum(await pgOffsets(p.pool, interrupted, `${p.run}-grades`));
    expect(finalPositions).to.equal(sum(endsNow));
    // It applied exactly what lay past the interrupted positions (at least the 20 grades), not the whole topics again.
    expect(resumed.records).to.equal(finalPositions - keptPositions);
    expect(resumed.records).to.be.below(finalPositions);
    expect(final.size - kept.size).to.be.at.least(20);
    expect((await compareSchemas(p.pool, live, resumed.target)).equal).to.equal(true);
  });

  it('--until builds a read-only snapshot as of that instant', async () => {
    const topic = p.topic('grades-events');
    const first = await grade(9001); // an explicit id does not advance n
    // "That instant" is the broker's: 1 ms after the timestamp it stored for G-9001.
    const at = Number((await recordOf(kafka, topic, first.eventId)).timestamp);
    const until = new Date(at + 1);
    // G-9002 is stamped exactly at that instant (the bound is exclusive: records from `until` on are left out).
    const second = buildEvent(
      'grade.recorded',
      { ...EXAMPLE_PAYLOADS['grade.recorded'], gradeId: 'G-9002' },
      { sourceService: 'it', clock: systemClock },
    );
    const value = await new EventCodec(createSchemaRegistry(p.config)).encode(second);
    await p.producer.send({
      topic,
      acks: -1,
      messages: [{ key: second.aggregateId, value, headers: eventHeaders(second), timestamp: String(until.getTime()) }],
    });
    expect(Number((await recordOf(kafka, topic, second.eventId)).timestamp)).to.equal(until.getTime());
    const snap = await rebuild(p.config, logger, { ...where(), until, snapshot: 'as_of_test' });
    expect(snap.switched).to.equal(false);
    const s = quoteIdent(snap.target);
    const ids = (await p.pool.query(`select grade_id from ${s}.grades where grade_id in ('G-9001', 'G-9002')`)).rows.map(
      (r: { grade_id: string }) => r.grade_id,
    );
    expect(ids).to.deep.equal(['G-9001']);
    // Every grade published before it, none after.
    expect((await p.pool.query<{ n: number }>(`select count(*)::int n from ${s}.grades`)).rows[0]!.n).to.equal(n + 1);
    // Read-only: every kind of write into any of its tables is refused (as the services' role, the tables' owner).
    const tables = await p.pool.query<{ t: string }>(
      "select table_name t from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'",
      [snap.target],
    );
    expect(tables.rows.map((r) => r.t)).to.include.members(['grades', 'period_averages', PG_TABLES.processed, PG_TABLES.positions]);
    for (const { t } of tables.rows)
      for (const write of [
        `insert into ${s}.${quoteIdent(t)} default values`,
        `update ${s}.${quoteIdent(t)} set ${quoteIdent((await p.pool.query(`select * from ${s}.${quoteIdent(t)} limit 0`)).fields[0]!.name)} = null`,
        `delete from ${s}.${quoteIdent(t)}`,
        `truncate ${s}.${quoteIdent(t)}`,
      ]) {
        const refused = await p.pool.query(write).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(String(refused), write).to.match(/snapshot .* is read-only/);
      }
    expect((await p.pool.query<{ n: number }>(`select count(*)::int n from ${s}.grades`)).rows[0]!.n).to.equal(n + 1);
  });

  it('a Mongo projection (users): verify equals a rebuild; --until builds a snapshot database', async () => {
    // U-2 is a parent (a link waits for its parent to be known as one: PARENT_LINK_NOT_PARENT); the others students.
    for (let i = 0; i < 30; i++)
      await p.publish('user.created', {
        ...EXAMPLE_PAYLOADS['user.created'],
        userId: `U-${i}`,
        ...(i === 2 ? { userType: 'PARENT' as const, roles: ['PARENT' as const] } : {}),
      });
    await p.publish('student.parent.linked', { studentUserId: 'U-1', parentUserId: 'U-2', relationship: 'MOTHER' });
    // verify compares against a quiet projection: wait for the link too (its three updates come last).
    await eventually(
      async () =>
        (await p.db.collection('users').countDocuments({ _id: { $regex: '^U-' } } as never)) === 30 &&
        (await p.db.collection('student360').countDocuments({ _id: 'U-1', parents: 'U-2' } as never)) === 1
          ? true
          : undefined,
      'users and the parent link live',
    );
    // Earlier tests' academic events reach users too: verify needs a projection nothing is still moving.
    await p.settled();
    const v = await verify(p.config, logger, { ...mongoWhere(), live: p.db.databaseName });
    expect(v.differences).to.deep.equal([]);
    expect(v.rows).to.be.at.least(30);
    const snap = await rebuild(p.config, logger, {
      ...mongoWhere(),
      liveSchema: p.db.databaseName,
      until: new Date(),
      snapshot: 'users_test',
    });
    try {
      expect(
        await p.mongo
          .db(snap.target)
          .collection('users')
          .countDocuments({ _id: { $regex: '^U-' } } as never),
      ).to.equal(30);
    } finally {
      await p.mongo.db(snap.target).dropDatabase();
    }
  });

  it('a Mongo projection (users) rebuilt under live load switches live by its pointer: readers never fail or go back, verify equal, --drop-old drops the replaced version', async () => {
    const live = new LiveDatabases(p.mongo, p.db.databaseName, p.config.mongo.liveCheckMs);
    const users = async (): Promise<number> =>
      (await live.db('users')).collection('users').countDocuments({ _id: { $regex: '^L-' } } as never);
    let published = 0;
    const user = async (): Promise<void> => {
      await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: `L-${published}` });
      published++;
    };
    while (published < 30) await user();
    await eventually(async () => ((await users()) === 30 ? true : undefined), '30 users live');
    let stop = false;
    const load = (async () => {
      // A steady live load the live processor keeps up with.
      while (!stop) {
        await user();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // Readers resolving the live version as the API does, back to back: any error, and any count lower than
    // the same reader's previous one (an empty or partial version seen).
    const seen = { reads: 0, least: Infinity, decreases: [] as string[], errors: [] as string[], dbs: new Set<string>() };
    let reading = true;
    const readers = Array.from({ length: 3 }, async () => {
      let last = 0;
      while (reading) {
        try {
          const n = await users();
          seen.dbs.add(await live.name('users'));
          if (n < last) seen.decreases.push(`${n} after ${last}`);
          [last, seen.least] = [n, Math.min(seen.least, n)];
          seen.reads++;
        } catch (e) {
          seen.errors.push(String(e));
        }
      }
    });
    const built: string[] = [];
    try {
      const r = await rebuild(p.config, logger, { ...mongoWhere(), liveSchema: p.db.databaseName }).finally(() => (stop = true));
      built.push(r.target);
      await load;
      expect(r.switched).to.equal(true);
      expect(r.oldSchema).to.equal(p.db.databaseName);
      expect(await livePointer(p.db, 'users')).to.equal(r.target);
      // The live processor follows the pointer: every user published, during and after the build, is in the new version.
      for (let i = 0; i < 20; i++) await user();
      const inTarget = () =>
        p.mongo
          .db(r.target)
          .collection('users')
          .countDocuments({ _id: { $regex: '^L-' } } as never);
      await eventually(async () => ((await inTarget()) === published ? true : undefined), `${published} users in ${r.target}`, 60_000);
      // The readers moved to the new version too (within MONGO_LIVE_CHECK_MS), and read on there.
      await eventually(() => Promise.resolve(seen.dbs.has(r.target) ? true : undefined), `readers on ${r.target}`);
      const after = seen.reads + 30;
      await eventually(() => Promise.resolve(seen.reads >= after ? true : undefined), 'readers reading the new version');
      reading = false;
      await Promise.all(readers);
      expect(seen.errors).to.deep.equal([]);
      expect(seen.decreases).to.deep.equal([]);
      expect(seen.least).to.be.at.least(30);
      expect([...seen.dbs].sort()).to.deep.equal([p.db.databaseName, r.target].sort());
      await p.settled();
      const v = await verify(p.config, logger, { ...mongoWhere(), live: p.db.databaseName });
      expect(v.differences).to.deep.equal([]);
      expect(v.rows).to.be.at.least(published);
      // The replaced version is kept until --drop-old.
      expect(await p.db.collection('users').countDocuments({ _id: { $regex: '^L-' } } as never)).to.be.at.least(30);
      const again = await rebuild(p.config, logger, { ...mongoWhere(), liveSchema: p.db.databaseName, dropOld: true });
      built.push(again.target);
      expect(again.switched).to.equal(true);
      expect(await livePointer(p.db, 'users')).to.equal(again.target);
      const names = (await p.mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name);
      expect(names).to.include(again.target);
      expect(names).to.not.include(r.target);
      expect(await users()).to.equal(published);
    } finally {
      stop = true;
      reading = false;
      await Promise.all([load, ...readers]);
      for (const db of built) await p.mongo.db(db).dropDatabase();
    }
  });

  it('records written with an earlier schema version replay through schema resolution into the current read model', async () => {
    // The "old" GradeRecorded had no comment field; registered under a throwaway subject (the product's keep their history).
    const current = EVENT_DEFINITIONS['grade.recorded'].schema;
    const old = structuredClone(current) as { fields: Array<{ name: string; type: { fields: Array<{ name: string }> } }> };
    const payload = old.fields.find((f) => f.name === 'payload')!;
    payload.type.fields = payload.type.fields.filter((f) => f.name !== 'comment');
    const subject = randomName('it-old-grade');
    const registry = createSchemaRegistry(p.config);
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(old) }, { subject });
    try {
      const event = buildEvent(
        'grade.recorded',
        // A student enrolled in the grade's section (before): otherwise the grade waits parked for the enrollment.
        { ...EXAMPLE_PAYLOADS['grade.recorded'], gradeId: 'G-OLD-1', studentUserId: 'S-1' },
        { sourceService: 'it', clock: systemClock },
      );
      const header = Buffer.from([0, 0, 0, 0, 0]);
      header.writeInt32BE(id, 1);
      const body = avro.Type.forSchema(old as avro.Schema, avroOptions()).toBuffer({
        ...event,
        payload: { ...event.payload, comment: undefined },
      });
      await p.producer.send({
        topic: p.topic('grades-events'),
        acks: -1,
        messages: [{ key: event.aggregateId, value: Buffer.concat([header, body]) }],
      });
      const snap = await rebuild(p.config, logger, { ...where(), until: new Date(Date.now() + 1000), snapshot: 'old_writer_test' });
      try {
        const r = await p.pool.query<{ comment: string | null; score: number }>(
          `select comment, score::float score from "${snap.target}".grades where grade_id = 'G-OLD-1'`,
        );
        expect(r.rows).to.deep.equal([{ comment: null, score: EXAMPLE_PAYLOADS['grade.recorded'].score }]);
      } finally {
        await p.pool.query(`drop schema if exists "${snap.target}" cascade`);
      }
    } finally {
      await fetch(`${p.config.registry.url}/subjects/${subject}`, { method: 'DELETE' });
    }
  });
});
