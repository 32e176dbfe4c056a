import { expect } from 'chai';
import { createLogger } from '../lib/logger';
import { createProcessors } from '../processors/all';
import type { ProcessorHost } from '../processors/runtime/host';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import { eventually, testConfig } from '../test/support';
import { ApiHarness, type HttpResult } from '../test/support/api';
import { isolatedHost, TestPipeline } from '../test/support/pipeline';
import { seedSection } from '../test/support/school';

type Json = Record<string, unknown>;
interface Processor {
  name: string;
  group: string;
  topics: string[];
  lag: number;
  partitions: Json[];
  instances: Array<{ instance: string; ready: boolean; circuit: string; stale: boolean }>;
  status: string;
}
interface Letter {
  id: string;
  dlqTopic: string;
  sourceTopic: string | null;
  eventType: string | null;
  eventId: string | null;
  errorClass: string | null;
  rule: string | null;
  redriveCount: number;
}

/**
 * The operator console's endpoints on the real stack: processor lag and heartbeats, dead letters (a poison
 * record and a rule violation: listed, filtered, shown, redriven and then applied), enrollment search and event
 * lookup by id. Notifications starts late, so an enrollment saga waits at its step 6 meanwhile (a stuck saga, for real).
 */
describe('HTTP API ops endpoints (e2e)', function () {
  this.timeout(300_000);
  // Heartbeats every second (stale after 3 s); saga deadlines far away, so the waiting saga stays stuck, not failed.
  const p = new TestPipeline(testConfig({ RUNTIME_HEARTBEAT_MS: '1000', SAGA_DEADLINE_MS: '600000' }), ['notifications']);
  const api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 });
  const names = createProcessors(p.config, createLogger(p.config, 'names')).map((d) => d.name);
  let late: ProcessorHost | undefined;
  let admin = '';
  let teacher = '';
  let student = '';

  const get = (url: string, token = admin): Promise<HttpResult> => api.call('GET', url, { token });
  const processors = async (): Promise<Processor[]> => {
    const r = await get('/api/v1/ops/processors');
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body.processors as Processor[];
  };
  const letters = async (query: string): Promise<{ items: Letter[]; total: number }> => {
    const r = await get(`/api/v1/ops/dead-letters?${query}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body as unknown as { items: Letter[]; total: number };
  };

  before(async () => {
    await p.start();
    await api.start();
    admin = await api.token('ADM-1', 'admin');
    teacher = await api.token('T1', 'teacher');
    student = await api.token('S1', 'student');
    await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: 'S1' });
    await seedSection(p, { sectionId: 'SEC-1', courseId: 'C1', teacherUserId: 'T1' });
    await eventually(async () => {
      const section = await get('/api/v1/academic/sections/SEC-1');
      const user = await get('/api/v1/users/S1');
      return (section.body.courses as unknown[] | undefined)?.length && user.status === 200 ? true : undefined;
    }, 'SEC-1, its course and S1 projected');
    const enrollment = { ...EXAMPLE_PAYLOADS['student.enrolled'], enrollmentId: 'ENR-S1', studentUserId: 'S1', sectionId: 'SEC-1' };
    await p.publish('student.enrolled', enrollment, enrollment.enrollmentId);
  });
  after(async () => {
    await late?.stop();
    await api.stop();
    await p.stop();
  });

  it('lists every processor with lag per partition and heartbeats; one not running is down', async () => {
    const list = await eventually(async () => {
      const ps = await processors();
      return ps.filter((x) => x.name !== 'notifications').every((x) => x.instances.length && x.instances.every((i) => i.ready))
        ? ps
        : undefined;
    }, 'every running processor to report a ready instance');
    expect(list.map((x) => x.name)).to.deep.equal(names);
    for (const x of list) {
      expect(x.group).to.equal(`${p.run}-${x.name}`);
      expect(x.topics.length).to.be.greaterThan(0);
      for (const t of x.topics) expect(t.startsWith(`${p.run}.`), t).to.equal(true);
      expect(x.lag).to.be.a('number');
      expect(x.partitions.length).to.be.greaterThan(0);
      for (const part of x.partitions) {
        expect(part.end).to.be.a('number');
        expect(part.lag).to.be.a('number');
        expect(part.committed === null || typeof part.committed === 'number').to.equal(true);
      }
    }
    const byName = Object.fromEntries(list.map((x) => [x.name, x]));
    expect(byName.notifications!.instances).to.deep.equal([]);
    expect(byName.notifications!.status).to.equal('down');
    expect(byName.notifications!.lag, 'notifications has not consumed anything').to.be.greaterThan(0);
    for (const n of names.filter((x) => x !== 'notifications')) {
      expect(byName[n]!.status, n).to.be.oneOf(['ok', 'lagging']);
      expect(byName[n]!.instances[0]).to.include({ circuit: 'closed', stale: false });
      expect(byName[n]!.instances[0]!.instance).to.match(/^.+:\d+$/);
    }
  });

  it('finds a saga stuck at a step by student and age, and lists it no longer once it completed', async () => {
    const stuck = await eventually(
      async () => {
        const r = await get('/api/v1/academic/enrollments?studentUserId=S1&stuckForSeconds=1');
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        const items = r.body.items as Json[];
        return items.length === 1 ? items[0] : undefined;
      },
      'ENR-S1 to wait for notifications for more than a second',
      60_000,
    );
    expect(stuck).to.include({ enrollmentId: 'ENR-S1', studentUserId: 'S1', failedStep: null, failureReason: null });
    expect(stuck.status).to.not.be.oneOf(['COMPLETED', 'FAILED']);
    expect((await get('/api/v1/academic/enrollments?studentUserId=S1&stuckForSeconds=3600')).body.items).to.deep.equal([]);
    expect((await get('/api/v1/academic/enrollments?studentUserId=S2')).body.items).to.deep.equal([]);
    // Notifications starts: the saga moves on and completes; the heartbeat shows the new instance.
    late = isolatedHost(p.config, p.run, ['notifications'], createLogger(p.config, 'e2e-notifications'));
    await late.start();
    await eventually(
      async () => ((await p.enrollment('ENR-S1'))?.status === 'COMPLETED' ? true : undefined),
      'ENR-S1 to complete once notifications runs',
      90_000,
    );
    expect((await get('/api/v1/academic/enrollments?studentUserId=S1&stuckForSeconds=1')).body.items).to.deep.equal([]);
    const all = await get('/api/v1/academic/enrollments?studentUserId=S1&limit=1');
    expect(all.body.items).to.have.length(1);
    expect((all.body.items as Json[])[0]).to.include({ enrollmentId: 'ENR-S1', status: 'COMPLETED' });
    await eventually(async () => {
      const g = (await processors()).find((x) => x.name === 'notifications')!;
      return g.instances.length === 1 && g.instances[0]!.ready && g.status !== 'down' ? true : undefined;
    }, 'notifications to report its heartbeat');
  });

  it('looks up a derived event by id for an admin, from the processors that applied it', async () => {
    const saga = await get('/api/v1/academic/enrollments/ENR-S1/saga');
    const derived = (saga.body.timeline as Array<{ eventType: string; eventId: string }>).find(
      (t) => t.eventType === 'enrollment.grades.initialized',
    );
    expect(derived, JSON.stringify(saga.body.timeline)).to.not.equal(undefined);
    const r = await eventually(async () => {
      const x = await get(`/api/v1/events/${derived!.eventId}`);
      return x.status === 200 ? x : undefined;
    }, 'the derived event to be found');
    expect(r.body).to.include({ eventId: derived!.eventId, eventType: null, complete: true });
    expect((r.body.applied as Record<string, boolean>).academic).to.equal(true);
    // Not for others (they keep today's answer), and an id nobody applied is a 404.
    expect((await get(`/api/v1/events/${derived!.eventId}`, student)).status).to.equal(404);
    expect((await get('/api/v1/events/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
  });

  it('lists, filters and shows a poison record as a dead letter that does not decode', async () => {
    const value = Buffer.from('this is not an Avro record');
    await p.producer.send({ topic: p.topic('attendance-events'), acks: -1, messages: [{ key: 'poison-1', value }] });
    const found = await eventually(async () => {
      const l = await letters('topic=attendance-events');
      const poison = l.items.filter((d) => d.eventId === null);
      return poison.length ? poison : undefined;
    }, 'the poison record to be dead-lettered');
    const d = found[0]!;
    expect(d.dlqTopic).to.equal(p.topic('attendance-events.dlq'));
    expect(d.sourceTopic).to.equal(p.topic('attendance-events'));
    expect(d.id).to.match(/^.+:\d+:\d+$/);
    expect(d.errorClass).to.be.a('string');
    // Filters: by error class (and its negation), by topic, by time.
    const byClass = await letters(`errorClass=${d.errorClass}&topic=attendance-events`);
    expect(byClass.items.map((x) => x.id)).to.include(d.id);
    expect(byClass.items.every((x) => x.errorClass === d.errorClass)).to.equal(true);
    expect((await letters('errorClass=NoSuchError')).total).to.equal(0);
    expect((await letters('topic=user-events')).items.map((x) => x.id)).to.not.include(d.id);
    expect((await letters(`until=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).total).to.equal(0);
    expect((await letters('limit=1&parked=true')).items.length).to.be.at.most(1);
    const shown = await get(`/api/v1/ops/dead-letters/${encodeURIComponent(d.id)}`);
    expect(shown.status, JSON.stringify(shown.body)).to.equal(200);
    expect(shown.body).to.include({ id: d.id, key: 'poison-1', payload: null, valueHex: value.toString('hex') });
    expect(shown.body.decodeError).to.be.a('string').and.not.equal('');
    expect((shown.body.headers as Record<string, string>)['dlq.source.topic']).to.equal(p.topic('attendance-events'));
  });

  it('shows a rule violation decoded, redrives it once its cause exists, and it is applied', async () => {
    // S1, enrolled in SEC-1 by the saga above: attendance admits an absence only of a student enrolled in its section.
    const absence = { ...EXAMPLE_PAYLOADS['absence.recorded'], absenceId: 'ABS-OPS-1', studentUserId: 'S1', sectionId: 'SEC-1' };
    const justified = await p.publish('absence.justified', {
      ...EXAMPLE_PAYLOADS['absence.justified'],
      absenceId: absence.absenceId,
      studentUserId: 'S1',
    });
    const d = await eventually(async () => {
      const l = await letters('rule=ABSENCE_JUSTIFY_UNKNOWN&eventType=absence.justified');
      return l.items.find((x) => x.eventId === justified.eventId);
    }, 'the justification of an unknown absence to be dead-lettered');
    expect(d).to.include({ rule: 'ABSENCE_JUSTIFY_UNKNOWN', errorClass: 'RuleViolationError', redriveCount: 0 });
    const shown = await get(`/api/v1/ops/dead-letters/${encodeURIComponent(d.id)}`);
    expect(shown.status, JSON.stringify(shown.body)).to.equal(200);
    expect(shown.body.decodeError).to.equal(null);
    const event = shown.body.payload as { eventId: string; eventType: string; payload: Json };
    expect(event).to.include({ eventId: justified.eventId, eventType: 'absence.justified' });
    expect(event.payload).to.include({ absenceId: 'ABS-OPS-1', studentUserId: 'S1' });
    // The absence now exists; redriven, the justification applies.
    const recorded = await p.publish('absence.recorded', absence);
    await eventually(
      async () => ((await get(`/api/v1/events/${recorded.eventId}`)).status === 200 ? true : undefined),
      'the absence applied',
    );
    const r = await api.call('POST', '/api/v1/ops/dead-letters/redrive', { token: admin, body: { ids: [d.id], ratePerSecond: 10 } });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.deep.equal({
      redriven: 1,
      items: [{ id: d.id, sourceTopic: p.topic('attendance-events'), eventId: justified.eventId }],
    });
    const status = await eventually(async () => {
      const x = await get(`/api/v1/events/${justified.eventId}`);
      return x.status === 200 ? x.body : undefined;
    }, 'the redriven justification to be applied');
    expect((status.applied as Record<string, boolean>).attendance).to.equal(true);
    const summary = await eventually(async () => {
      const x = await get('/api/v1/attendance/student/S1/summary');
      return x.status === 200 && x.body.unjustifiedAbsences === 0 ? x.body : undefined;
    }, 'the absence to count as justified');
    expect(summary.unjustifiedAbsences).to.equal(0);
    // It was not dead-lettered again.
    expect((await letters('eventType=absence.justified')).items.filter((x) => x.eventId === justified.eventId)).to.have.length(1);
  });

  it('lists replay builds (none of this run, but a list)', async () => {
    const r = await get('/api/v1/ops/replay-builds');
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.items).to.be.an('array');
  });

  it('refuses non-admins (403), anonymous callers (401) and malformed ids and filters (400); unknown ids are 404', async () => {
    const id = encodeURIComponent(`${p.topic('user-events.dlq')}:0:999999`);
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/ops/processors'],
      ['GET', '/api/v1/ops/dead-letters'],
      ['GET', `/api/v1/ops/dead-letters/${id}`],
      ['POST', '/api/v1/ops/dead-letters/redrive', { ids: [decodeURIComponent(id)] }],
      ['GET', '/api/v1/ops/replay-builds'],
    ];
    for (const [method, url, body] of calls) {
      expect((await api.call(method, url, { token: teacher, body })).status, `${method} ${url} as teacher`).to.equal(403);
      expect((await api.call(method, url, { token: student, body })).status, `${method} ${url} as student`).to.equal(403);
      expect((await api.call(method, url, { body })).status, `${method} ${url} without token`).to.equal(401);
    }
    const bad = [
      '/api/v1/ops/dead-letters/not-an-id',
      '/api/v1/ops/dead-letters/a%3Ab%3Ac',
      '/api/v1/ops/dead-letters?limit=0',
      '/api/v1/ops/dead-letters?limit=501',
      '/api/v1/ops/dead-letters?topic=nope-events',
      '/api/v1/ops/dead-letters?since=yesterday',
      '/api/v1/ops/dead-letters?parked=maybe',
      `/api/v1/ops/dead-letters?since=${encodeURIComponent('2030-01-01T00:00:00Z')}&until=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
      '/api/v1/academic/enrollments?stuckForSeconds=0',
      '/api/v1/academic/enrollments?stuckForSeconds=soon',
    ];
    for (const url of bad) {
      const r = await get(url);
      expect(r.status, `${url}: ${JSON.stringify(r.body)}`).to.equal(400);
      expect(r.headers.get('content-type')).to.match(/application\/problem\+json/);
    }
    const redrive = (body: unknown): Promise<HttpResult> => api.call('POST', '/api/v1/ops/dead-letters/redrive', { token: admin, body });
    for (const body of [
      {},
      { ids: [] },
      { ids: ['x'] },
      { ids: ['a:1:1', 'a:1:1'] },
      { ids: ['a:1:1'], ratePerSecond: 0 },
      { ids: ['a:1:1'], extra: 1 },
    ])
      expect((await redrive(body)).status, JSON.stringify(body)).to.equal(400);
    const many = Array.from({ length: 200 }, (_, i) => `${p.topic('user-events.dlq')}:0:${i}`);
    expect((await redrive({ ids: many, ratePerSecond: 1 })).status, 'a redrive longer than its deadline').to.equal(400);
    expect((await get(`/api/v1/ops/dead-letters/${id}`)).status).to.equal(404);
    expect((await get('/api/v1/ops/dead-letters/some-other-topic%3A0%3A0')).status).to.equal(404);
    const missing = await redrive({ ids: [decodeURIComponent(id)] });
    expect(missing.status).to.equal(404);
    expect(String(missing.body.detail)).to.include(decodeURIComponent(id));
  });

  it('shows a processor stopped gracefully as down at once: its heartbeats are removed', async () => {
    await late!.stop();
    late = undefined;
    const n = (await processors()).find((x) => x.name === 'notifications')!;
    expect(n.instances).to.deep.equal([]);
    expect(n.status).to.equal('down');
  });
});
