import { expect } from 'chai';
import { testConfig, eventually } from '../../test/support';
import { TestPipeline } from '../../test/support/pipeline';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import { EVENT_DEFINITIONS } from '../../schemas/generated/events';
import { buildEvent } from '../../schemas/envelope';
import { avroOptions } from '../../schemas/logical-types';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { systemClock } from '../../lib/clock';
import { randomName } from '../../test/support';
import { createLogger } from '../../lib/logger';
import { compareSchemas, verify } from './verify';
import { rebuild, ReplayError } from './rebuild';
import { pgPositions } from './targets';

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
  let n = 0;
  const grade = (i = n++) =>
    p.publish('grade.recorded', {
      ...EXAMPLE_PAYLOADS['grade.recorded'],
      gradeId: `G-${i}`,
      studentUserId: `S-${i % 500}`,
      score: (i % 20) + 0.5,
    });
  const applied = async (): Promise<number> =>
    [...(await pgPositions(p.pool, p.schema('grades'), `${p.run}-grades`)).values()].reduce((a, b) => a + b, 0);
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

  before(async () => {
    await p.start();
    for (let i = 0; i < 200; i++) await grade();
    await settle(200);
  });
  after(async () => {
    await p.host.stop();
    await p.pool.query(`select nspname from pg_namespace where nspname like $1`, [`${p.schema('grades')}%`]).then(async (r) => {
      for (const row of r.rows as Array<{ nspname: string }>) await p.pool.query(`drop schema if exists "${row.nspname}" cascade`);
    });
    await p.pool.query('drop schema if exists snap_grades_as_of_test cascade');
    await p.pool.query('delete from public.replay_builds where projection in ($1, $2)', [p.schema('grades'), `${p.run}_users`]);
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
    const r = await rebuild(p.config, logger, where()).finally(() => (stop = true));
    await load;
    expect(r.switched).to.equal(true);
    expect(r.oldSchema).to.match(/_old_/);
    await settle(n);
    const v = await verify(p.config, logger, { ...where(), live: p.schema('grades') });
    expect(v.differences).to.deep.equal([]);
    expect(v.equal).to.equal(true);
    expect(v.rows).to.be.greaterThan(200);
    // The old version is kept until --drop-old and still holds what it had.
    expect((await p.pool.query<{ n: number }>(`select count(*)::int n from "${r.oldSchema!}".grades`)).rows[0]!.n).to.be.at.least(200);
  });

  it('an interrupted rebuild leaves the live projection untouched and resumes; a second concurrent one is refused', async () => {
    const before = await applied();
    const abort = new AbortController();
    let concurrent: unknown;
    const first = rebuild(p.config, logger, {
      ...where(),
      noSwitch: true,
      signal: abort.signal,
      onProgress: async () => {
        if (concurrent !== undefined) return;
        concurrent = await rebuild(p.config, logger, where()).then(
          () => 'ran',
          (x: unknown) => x,
        );
        abort.abort();
      },
    });
    const e = await first.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(ReplayError);
    expect(String((e as Error).message)).to.match(/interrupted/);
    expect(String((concurrent as Error).message)).to.match(/already running/);
    const live = await compareSchemas(p.pool, p.schema('grades'), p.schema('grades'));
    expect(live.equal).to.equal(true);
    expect(await applied()).to.equal(before);
    const resumed = await rebuild(p.config, logger, { ...where(), noSwitch: true });
    expect(resumed.switched).to.equal(false);
    expect((await compareSchemas(p.pool, p.schema('grades'), resumed.target)).equal).to.equal(true);
  });

  it('--until builds a read-only snapshot as of that instant', async () => {
    await grade(9001);
    await settle(n + 1); // an explicit id does not advance n
    await new Promise((r) => setTimeout(r, 50));
    const until = new Date();
    await new Promise((r) => setTimeout(r, 50));
    await grade(9002);
    const snap = await rebuild(p.config, logger, { ...where(), until, snapshot: 'as_of_test' });
    expect(snap.switched).to.equal(false);
    const ids = (await p.pool.query(`select grade_id from "${snap.target}".grades where grade_id in ('G-9001', 'G-9002')`)).rows.map(
      (r: { grade_id: string }) => r.grade_id,
    );
    expect(ids).to.deep.equal(['G-9001']);
  });

  it('a Mongo projection (users): verify equals a rebuild; --until builds a snapshot database; a live switch is refused', async () => {
    for (let i = 0; i < 30; i++) await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: `U-${i}` });
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
    const mongoWhere = { name: 'users', liveGroup: `${p.run}-users`, topicName: (t: string) => p.topic(t) };
    const v = await verify(p.config, logger, { ...mongoWhere, live: p.run });
    expect(v.differences).to.deep.equal([]);
    expect(v.rows).to.be.at.least(30);
    const refused = await rebuild(p.config, logger, { ...mongoWhere, liveSchema: `${p.run}_users` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((refused as Error).message)).to.match(/not switched live/);
    const snap = await rebuild(p.config, logger, {
      ...mongoWhere,
      liveSchema: `${p.run}_users`,
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
        { ...EXAMPLE_PAYLOADS['grade.recorded'], gradeId: 'G-OLD-1' },
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
