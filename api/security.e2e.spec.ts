import { seededRandom } from '../lib/rng';
import { expect } from 'chai';
import crypto from 'node:crypto';
import { createKafka } from '../lib/clients/kafka';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import { EVENT_DEFINITIONS } from '../schemas/generated/events';
import { topicCatalog } from '../topics/catalog';
import { eventually, testConfig } from '../test/support';
import { ApiHarness } from '../test/support/api';
import { topicEndOffsets } from '../test/support/kafka';
import { TestPipeline } from '../test/support/pipeline';
import { seedSection } from '../test/support/school';
import { mintToken } from './auth/jwt';
import { loadOperations } from './http/validation';
import { OPENAPI_PATH } from './app';
import { commandBodySchema } from './spec/build';
import { COMMANDS } from './spec/routes';

/** Identity, permissions, hostile input and a fuzz run over every command endpoint, on the real stack. */
describe('HTTP API security (e2e)', function () {
  this.timeout(300_000);
  const p = new TestPipeline(testConfig());
  // The rate limit has its own test (a harness with a limit of 3); here it must not hide the answers under test.
  const api = new ApiHarness(p, { corsOrigins: ['https://admin.school.example'], rateLimitPerMinute: 1_000_000 });
  let admin = '';

  before(async () => {
    await p.start();
    await api.start();
    admin = await api.token('ADM-1', 'admin');
    // Relationships the permission matrix reads: teacher T1 teaches SEC-1; parent P1 has child S1; S2 is someone else's.
    await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: 'S1' });
    await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: 'S2' });
    await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: 'P1', userType: 'PARENT', roles: ['PARENT'] });
    await p.publish('student.parent.linked', { studentUserId: 'S1', parentUserId: 'P1', relationship: 'FATHER' });
    // SEC-1 with course C1 and teacher T1 first: assignments applies an assignment once its teacher and course are known.
    await seedSection(p, { sectionId: 'SEC-1', courseId: 'C1', teacherUserId: 'T1' });
    await p.publish('teacher.assigned.to.course', {
      ...EXAMPLE_PAYLOADS['teacher.assigned.to.course'],
      teacherUserId: 'T1',
      sectionId: 'SEC-1',
      courseId: 'C1', // the course T1 grades below (a teacher records grades only for a course assigned to them)
    });
    await eventually(async () => {
      const t = await api.call('GET', '/api/v1/assignments/teacher/T1/courses', { token: admin });
      const parent = await api.call('GET', '/api/v1/users/P1', { token: admin });
      return (t.body.items as unknown[] | undefined)?.length && (parent.body.children as unknown[] | undefined)?.length ? true : undefined;
    }, 'relationships projected');
    // S1 is enrolled in SEC-1 through the real saga: a grade or a mark needs a COMPLETED enrollment in its section.
    await eventually(async () => {
      const section = await api.call('GET', '/api/v1/academic/sections/SEC-1', { token: admin });
      return (section.body.courses as unknown[] | undefined)?.length ? true : undefined;
    }, 'SEC-1 and its course projected');
    const enrollment = { ...EXAMPLE_PAYLOADS['student.enrolled'], enrollmentId: 'ENR-S1', studentUserId: 'S1', sectionId: 'SEC-1' };
    await p.publish('student.enrolled', enrollment, enrollment.enrollmentId);
    const ended = await eventually(
      async () => {
        const e = await p.enrollment('ENR-S1');
        return e && ['COMPLETED', 'FAILED'].includes(e.status) ? e : undefined;
      },
      'the enrollment of S1 in SEC-1 to end',
      60_000,
    );
    expect(ended.status, JSON.stringify(ended)).to.equal('COMPLETED');
  });
  after(async () => {
    await api.stop();
    await p.stop();
  });

  /** End offsets of every partition of every topic of this run, by catalog topic name. */
  const sizesNow = async (): Promise<Record<string, Record<number, string>>> => {
    const kafka = createKafka(p.config);
    return Object.fromEntries(
      await Promise.all(topicCatalog(p.config).map(async (t) => [t.name, await topicEndOffsets(kafka, p.topic(t.name))] as const)),
    );
  };
  /** End offsets once the processors stopped adding derived events from earlier tests (unchanged for 1 s). */
  const sizes = async (): Promise<Record<string, Record<number, string>>> => {
    let last = await sizesNow();
    return eventually(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await sizesNow();
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same ? now : undefined;
    }, 'topics quiet');
  };
  const grade = {
    studentUserId: 'S1',
    sectionId: 'SEC-1',
    courseId: 'C1',
    periodId: '2025-T1', // a grading period of SEC-1's year (EXAMPLE_PAYLOADS['academic.year.started'])
    evaluationType: 'EXAM',
    score: 10,
    maxScore: 20,
    comment: null,
  };

  describe('401: the token must be ours, current and meant for us', () => {
    const cases: Array<[string, () => Promise<string | undefined>]> = [
      ['no token', () => Promise.resolve(undefined)],
      ['not a JWT', () => Promise.resolve('not-a-token')],
      ['expired', () => mintToken(api.keys, api.config, { sub: 'ADM-1', roles: ['admin'] }, -60)],
      [
        'wrong audience',
        () =>
          mintToken(
            api.keys,
            { ...api.config, api: { ...api.config.api, jwtAudience: 'someone-else' } },
            { sub: 'ADM-1', roles: ['admin'] },
          ),
      ],
      [
        'wrong issuer',
        () => mintToken(api.keys, { ...api.config, api: { ...api.config.api, jwtIssuer: 'evil' } }, { sub: 'ADM-1', roles: ['admin'] }),
      ],
      [
        'bad signature (another key)',
        () => {
          const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
          return mintToken({ privateKey, publicKey }, api.config, { sub: 'ADM-1', roles: ['admin'] });
        },
      ],
      ['no role', () => mintToken(api.keys, api.config, { sub: 'ADM-1', roles: [] })],
    ];
    for (const [name, token] of cases)
      it(name, async () => {
        const t = await token();
        const r = await api.call('GET', '/api/v1/users/S1', {
          token: t,
          headers: t === 'not-a-token' ? { authorization: 'Bearer not-a-token' } : {},
        });
        expect(r.status).to.equal(401);
        expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect(JSON.stringify(r.body)).to.not.match(/at .*\.ts:\d+/); // never a stack trace
      });
  });

  describe('403: the permission matrix', () => {
    it('a teacher may not write grades or attendance for a section that is not theirs (and may for theirs)', async () => {
      const t1 = await api.token('T1', 'teacher');
      const before = await sizes();
      for (const [url, body] of [
        ['/api/v1/grades', { ...grade, sectionId: 'SEC-2' }],
        ['/api/v1/attendance/marks', { studentUserId: 'S1', sectionId: 'SEC-2', date: '2025-03-04', status: 'PRESENT' }],
      ] as const) {
        const r = await api.call('POST', url, { token: t1, body });
        expect(r.status, JSON.stringify(r.body)).to.equal(403);
      }
      expect(await sizes()).to.deep.equal(before);
      expect((await api.call('POST', '/api/v1/grades', { token: t1, body: grade })).status).to.equal(202);
    });

    it('a parent reads their child and not another; a student only themself; non-admins no admin commands', async () => {
      const parent = await api.token('P1', 'parent');
      expect((await api.call('GET', '/api/v1/users/S1', { token: parent })).status).to.equal(200);
      expect((await api.call('GET', '/api/v1/users/S2', { token: parent })).status).to.equal(403);
      expect((await api.call('GET', '/api/v1/attendance/student/S2/summary', { token: parent })).status).to.equal(403);
      const student = await api.token('S1', 'student');
      expect((await api.call('GET', '/api/v1/grades/student/S2/period/P1', { token: student })).status).to.equal(403);
      expect((await api.call('GET', '/api/v1/grades/student/S1/period/P1', { token: student })).status).to.equal(200);
      expect((await api.call('POST', '/api/v1/users', { token: student, body: EXAMPLE_PAYLOADS['user.created'] })).status).to.equal(403);
      expect((await api.call('GET', '/api/v1/users/type/STUDENT', { token: parent })).status).to.equal(403);
    });
  });

  describe('400: hostile ids and bodies never reach a store', () => {
    const hostile = ['{"$gt":""}', '$where', "x' OR '1'='1", '1; drop table grades --', '../../etc/passwd', 'a b', ''];
    it('in path ids: 400 naming the parameter, and the store is never read', async () => {
      const calls = api.guardedCalls;
      for (const id of hostile.filter(Boolean)) {
        const r = await api.call('GET', `/api/v1/users/${encodeURIComponent(id)}`, { token: admin });
        expect(r.status, id).to.equal(400);
        expect(r.headers.get('content-type'), id).to.match(/^application\/problem\+json/);
        expect(r.body.errors, id).to.deep.equal([
          { field: 'path.userId', message: 'must match pattern "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"' },
        ]);
      }
      expect(api.guardedCalls, 'store reads for refused ids').to.equal(calls);
      // The count is live: a well-formed id is one read of the users store.
      expect((await api.call('GET', '/api/v1/users/S1', { token: admin })).status).to.equal(200);
      expect(api.guardedCalls).to.equal(calls + 1);
    });
    it('in bodies (operators as objects, SQL meta in strings, unknown fields)', async () => {
      const before = await sizes();
      for (const v of [{ $gt: '' }, { $ne: null }, ...hostile]) {
        const r = await api.call('POST', '/api/v1/grades', { token: admin, body: { ...grade, studentUserId: v } });
        expect(r.status, JSON.stringify(v)).to.equal(400);
        expect(r.body.errors).to.deep.include({
          field: 'body.studentUserId',
          message: typeof v === 'string' ? 'must match pattern "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"' : 'must be string',
        });
      }
      const extra = await api.call('POST', '/api/v1/grades', { token: admin, body: { ...grade, $where: 'sleep(1)' } });
      expect(extra.body.errors).to.deep.equal([{ field: 'body.$where', message: 'is not allowed' }]);
      const q = await api.call('POST', '/api/v1/users/bulk-validate', { token: admin, body: { userIds: [{ $gt: '' }] } });
      expect(q.status).to.equal(400);
      expect(await sizes()).to.deep.equal(before);
    });
    it('a business rule broken in the body is a 400 before Kafka, not a dead letter', async () => {
      const before = await sizes();
      const r = await api.call('POST', '/api/v1/grades', { token: admin, body: { ...grade, score: 25 } });
      expect(r.status).to.equal(400);
      expect(r.body.errors).to.deep.equal([{ field: 'body.score', message: 'score 25 is outside 0..20', rule: 'GRADE_SCORE_RANGE' }]);
      // A maxScore beyond the configured bound (RULE_MAX_SCORE, 1000 by default), however consistent the score.
      const huge = await api.call('POST', '/api/v1/grades', { token: admin, body: { ...grade, score: 1e308, maxScore: 1e308 } });
      expect(huge.status).to.equal(400);
      expect(huge.body.errors).to.deep.equal([
        { field: 'body.maxScore', message: 'maxScore must be > 0 and at most 1000, got 1e+308', rule: 'GRADE_MAX_SCORE' },
      ]);
      const tardy = await api.call('POST', '/api/v1/attendance/tardiness', {
        token: admin,
        body: { studentUserId: 'S1', sectionId: 'SEC-1', date: '2025-03-07', minutesLate: 0 },
      });
      expect(tardy.status).to.equal(400);
      expect(tardy.body.errors).to.deep.equal([{ field: 'body.minutesLate', message: 'must be > 0', rule: 'TARDINESS_MINUTES' }]);
      const after = await sizes();
      const target = EVENT_DEFINITIONS['grade.recorded'].topic;
      expect(after[target], `${target} end offsets`).to.deep.equal(before[target]);
      expect(after, 'no topic (dead letters included) grew').to.deep.equal(before);
    });
  });

  describe('transport limits and headers', () => {
    it('413 above the body limit, 415 for non-JSON, 400 for broken JSON', async () => {
      const big = await api.call('POST', '/api/v1/grades', {
        token: admin,
        body: { ...grade, comment: 'x'.repeat(api.config.api.bodyLimitBytes) },
      });
      expect(big.status).to.equal(413);
      const text = await api.call('POST', '/api/v1/grades', { token: admin, raw: 'score=1', headers: { 'content-type': 'text/plain' } });
      expect(text.status).to.equal(415);
      const broken = await api.call('POST', '/api/v1/grades', {
        token: admin,
        raw: '{"score": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(broken.status).to.equal(400);
      expect(broken.body.code).to.equal('INVALID_REQUEST');
    });
    it('CORS only for configured origins; security headers on every answer', async () => {
      const ok = await api.call('GET', '/health', { headers: { origin: 'https://admin.school.example' } });
      expect(ok.headers.get('access-control-allow-origin')).to.equal('https://admin.school.example');
      const other = await api.call('GET', '/health', { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).to.equal(null);
      expect(ok.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(ok.headers.get('x-powered-by')).to.equal(null);
      expect(ok.headers.get('strict-transport-security')).to.be.a('string');
    });
    it('429 with Retry-After above the per-identity rate', async () => {
      const limited = new ApiHarness(p, { rateLimitPerMinute: 3 });
      await limited.start();
      try {
        const token = await limited.token('ADM-RATE', 'admin');
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push((await limited.call('GET', '/api/v1/academic/sections/SEC-1', { token })).status);
        expect(statuses.slice(3)).to.deep.equal([429, 429]);
        const r = await limited.call('GET', '/api/v1/academic/sections/SEC-1', { token });
        expect(Number(r.headers.get('retry-after'))).to.be.greaterThan(0);
        // Another identity has its own budget.
        expect(
          (await limited.call('GET', '/api/v1/notifications/templates/welcome', { token: await limited.token('ADM-OTHER', 'admin') }))
            .status,
        ).to.equal(200);
      } finally {
        await limited.stop().catch(() => undefined);
      }
    });
    it('/metrics has the latency histogram per route and status; /health, /ready, /docs and both contracts answer', async () => {
      const m = await fetch(`${api.base}/metrics`).then((r) => r.text());
      expect(m).to.match(/school_events_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/grades".*status="400"/);
      expect((await api.call('GET', '/health')).status).to.equal(200);
      expect((await api.call('GET', '/ready')).body).to.deep.equal({ status: 'ready', checks: { postgres: true, mongo: true } });
      expect((await fetch(`${api.base}/docs`)).status).to.equal(200);
      const asyncapi = await fetch(`${api.base}/asyncapi.yaml`);
      expect(asyncapi.status).to.equal(200);
      expect(asyncapi.headers.get('content-type')).to.match(/^application\/yaml/);
      expect(await asyncapi.text()).to.match(/^asyncapi: 3\.0\.0$/m);
    });
  });

  it('fuzz: 2,400 random or malformed bodies across every command endpoint → zero 5xx, zero events', async () => {
    const ops = loadOperations(OPENAPI_PATH).operations.filter(
      (o) =>
        COMMANDS.some((c) => c.operationId === o.operationId) ||
        ['markPresent', 'sendImmediate', 'bulkNotification'].includes(o.operationId),
    );
    expect(ops).to.have.length(COMMANDS.length + 3);
    const rand = seededRandom(20261124);
    const before = await sizes();
    const statuses = new Map<number, number>();
    let sent = 0;
    for (let round = 0; sent < 2400; round++) {
      for (const op of ops) {
        const url = op.path.replace(/\{\w+\}/g, 'ID-1');
        const c = COMMANDS.find((x) => x.operationId === op.operationId);
        const valid = c
          ? validBody(c.eventType, [c.pathId, c.actorField])
          : { sectionId: 'SEC-1', date: '2025-03-04', studentUserIds: ['S1'] };
        const required = c ? ((commandBodySchema(c).required as string[] | undefined) ?? []) : Object.keys(valid);
        const { raw, body } = fuzzCase(rand, valid, required, round);
        const r = await api.call('POST', url, {
          token: admin,
          raw: raw ?? JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect(r.status, `${op.operationId} ${raw ?? JSON.stringify(body)} → ${JSON.stringify(r.body)}`).to.be.within(400, 499);
        expect(r.status, 'rate limiting must not stand in for validation').to.not.equal(429);
        sent++;
      }
    }
    expect(sent).to.be.at.least(2000);
    expect(await sizes(), 'no event was published').to.deep.equal(before);
    expect([...statuses.keys()].every((s) => s < 500)).to.equal(true);
  });
});

function validBody(type: keyof typeof EVENT_DEFINITIONS, omit: Array<string | undefined>): Record<string, unknown> {
  const b: Record<string, unknown> = { ...(EXAMPLE_PAYLOADS as unknown as Record<string, Record<string, unknown>>)[type] };
  for (const f of omit) if (f) delete b[f];
  return b;
}

/** Invalid by construction: broken JSON, non-objects, or a valid body with exactly one field made wrong. */
function fuzzCase(rand: () => number, valid: Record<string, unknown>, required: string[], round: number): { raw?: string; body?: unknown } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const keys = Object.keys(valid);
  const junk = (): unknown =>
    pick<unknown>([
      null,
      true,
      -1,
      1e308,
      'x'.repeat(Math.floor(rand() * 300)),
      [],
      [1, 'a'],
      { $gt: '' },
      { nested: { deep: [null] } },
      "' OR 1=1 --",
      '\u0000',
      -0.5,
    ]);
  switch (round % 6) {
    case 0:
      return { raw: pick(['{', '[1,', '{"a":}', 'nul', '"unterminated', '{"a":1,}', '\u0000\u0001', '{}}', '[]]', 'NaN']) };
    case 1:
      return { body: pick<unknown>([null, 42, 'text', [valid], true, [], -1]) };
    case 2: {
      if (!required.length) return { body: { ...valid, [pick(keys)]: { $ne: null } } };
      const b = { ...valid };
      delete b[pick(required)];
      return { body: b };
    }
    case 3: {
      // Values no field accepts: an operator object (ids and scalars want scalars, records and maps refuse `$` keys),
      // a mixed array, a nested object of the wrong shape.
      return { body: { ...valid, [pick(keys)]: pick<unknown>([{ $ne: junk() }, [1, 'a', null], { nested: { deep: [null] } }]) } };
    }
    case 4:
      return { body: { ...valid, [pick(['$where', '__proto__x', 'constructor', 'extra', '$set'])]: junk() } };
    default: {
      const deep: Record<string, unknown> = {};
      let cur = deep;
      for (let i = 0; i < 50; i++) cur = cur.n = {};
      return {
        body: pick<unknown>([
          deep,
          { ...valid, [pick(keys)]: deep },
          Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])),
        ]),
      };
    }
  }
}
