import { expect } from 'chai';
import crypto from 'node:crypto';
import type pg from 'pg';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { createLogger } from '../lib/logger';
import { openKeyStore } from '../lib/privacy';
import { EventCodec } from '../schemas/codec';
import { codecKeys } from '../schemas/codec-keys';
import { buildEvent } from '../schemas/envelope';
import { EVENT_DEFINITIONS } from '../schemas/generated/events';
import { EventPublisher } from '../schemas/publisher';
import { systemClock } from '../lib/clock';
import { rebuild } from '../processors/replay/rebuild';
import { verify } from '../processors/replay/verify';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import { ERASED_MARKER } from '../schemas/personal-fields';
import { eventually, testConfig } from '../test/support';
import { ApiHarness, type HttpResult } from '../test/support/api';
import { recordOf } from '../test/support/kafka';
import { TestPipeline } from '../test/support/pipeline';
import { seedSection } from '../test/support/school';

/**
 * Erasure end to end (issue 21 item 3): a student created through the API with name, e-mail and phone (written
 * encrypted under their data key), enrolled through the real saga, graded and marked present, is erased through
 * POST /users/{id}/erasure. The API's user and 360 then show the marker and never the old values; the grades and
 * attendance counts are unchanged; a rebuild of the users projection from the topics reads the marker (the key is
 * gone), and so does an --until snapshot from before the erasure; grades' comment (also of a parked grade) and
 * attendance's absence reason and justification become the marker; projections:verify says equal for users,
 * notifications, academic, assignments, grades and attendance; the console's dead letter holding their data shows the marker.
 */
describe('erasure of a student: POST /users/{id}/erasure (e2e, issue 21)', function () {
  this.timeout(180_000);
  const logger = createLogger(testConfig(), 'erasure-e2e');
  let p: TestPipeline;
  let api: ApiHarness;
  let admin = '';
  const rand = crypto.randomBytes(4).toString('hex');
  const S = `STU-ER-${rand}`;
  const secrets = {
    firstName: `Zelinda${rand}`,
    lastName: `Quarvo${rand}`,
    email: `zq.${rand}@school.example`,
    phone: `+34 699 ${rand}`,
    previousInstitution: `Colegio Quarvo ${rand}`,
    gradeComment: `Zelinda struggles at home ${rand}`,
    parkedComment: `Zelinda parked note ${rand}`,
    absenceReason: `Zelinda's fever ${rand}`,
    absenceJustification: `Dr. Quarvo's certificate ${rand}`,
  };
  let before360: Record<string, unknown> = {};
  let createdEventId = '';
  /** A dead letter holding the student's personal data (an encrypted justification of an absence never recorded). */
  const justification = `note-${rand}: flu`;
  let deadLetterId = '';
  let keysPool: pg.Pool | undefined;
  let encrypting: EventPublisher;
  let beforeErasure = new Date();

  before(async () => {
    p = new TestPipeline(testConfig());
    api = new ApiHarness(p);
    await p.start();
    await api.start();
    admin = await api.token('ADM-1', 'admin');
    const created = await api.call('POST', '/api/v1/users', {
      token: admin,
      headers: { prefer: 'wait=15' },
      body: {
        userId: S,
        userType: 'STUDENT',
        firstName: secrets.firstName,
        lastName: secrets.lastName,
        email: secrets.email,
        phone: secrets.phone,
        birthDate: '2014-05-06',
        roles: ['STUDENT'],
      },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    createdEventId = String(created.body.eventId);
    // Enrolled in SEC-1 through the real saga: grades and attendance apply only to a COMPLETED enrollment.
    await seedSection(p, { sectionId: 'SEC-1', courseId: 'C1', teacherUserId: 'T1' });
    await eventually(async () => {
      const section = await api.call('GET', '/api/v1/academic/sections/SEC-1', { token: admin });
      return (section.body.courses as unknown[] | undefined)?.length ? true : undefined;
    }, 'SEC-1 and its course projected');
    // Written encrypted as the API writes (the pipeline's own publisher is keyless).
    keysPool = createPgPool(p.config, { max: 1 });
    encrypting = new EventPublisher(p.producer, new EventCodec(createSchemaRegistry(p.config), await codecKeys(p.config, keysPool)), (e) =>
      p.topic(EVENT_DEFINITIONS[e.eventType].topic),
    );
    const enrollment = {
      ...EXAMPLE_PAYLOADS['student.enrolled'],
      enrollmentId: 'ENR-ER',
      studentUserId: S,
      sectionId: 'SEC-1',
      previousInstitution: secrets.previousInstitution,
    };
    await encrypting.publish(
      buildEvent('student.enrolled', enrollment, { sourceService: 'e2e', clock: systemClock, correlationId: 'ENR-ER' }),
    );
    const ended = await eventually(
      async () => {
        const e = await p.enrollment('ENR-ER');
        return e && ['COMPLETED', 'FAILED'].includes(e.status) ? e : undefined;
      },
      'the enrollment to end',
      60_000,
    );
    expect(ended.status, JSON.stringify(ended)).to.equal('COMPLETED');
    // Their grade with a comment, a grade parked with one (they are in no section SEC-ER-NONE), and a justified
    // absence with a reason: the copies grades and attendance keep in PostgreSQL, written encrypted.
    const grade = (gradeId: string, sectionId: string, comment: string) =>
      buildEvent(
        'grade.recorded',
        { ...EXAMPLE_PAYLOADS['grade.recorded'], gradeId, studentUserId: S, sectionId, courseId: 'C1', recordedBy: 'T1', comment },
        { sourceService: 'e2e', clock: systemClock },
      );
    await encrypting.publish(grade('GRD-ER', 'SEC-1', secrets.gradeComment), grade('GRD-ER-P', 'SEC-ER-NONE', secrets.parkedComment));
    const absence = { absenceId: 'ABS-ER', studentUserId: S, date: '2025-03-17' };
    await encrypting.publish(
      buildEvent(
        'absence.recorded',
        { ...EXAMPLE_PAYLOADS['absence.recorded'], ...absence, sectionId: 'SEC-1', recordedBy: 'T1', reason: secrets.absenceReason },
        { sourceService: 'e2e', clock: systemClock },
      ),
      buildEvent(
        'absence.justified',
        { ...EXAMPLE_PAYLOADS['absence.justified'], ...absence, justification: secrets.absenceJustification },
        { sourceService: 'e2e', clock: systemClock },
      ),
    );
    await eventually(async () => {
      const c = await copies();
      return c.grades.length === 1 && c.parked.length === 1 && c.absences[0]?.justified ? c : undefined;
    }, "the grade, the parked grade and the justified absence in grades' and attendance's projections");
    expect(await copies()).to.deep.equal({
      grades: [{ grade_id: 'GRD-ER', comment: secrets.gradeComment }],
      parked: [secrets.parkedComment],
      absences: [{ absence_id: 'ABS-ER', justified: true, reason: secrets.absenceReason, justification: secrets.absenceJustification }],
    });
    await p.publish('attendance.marked', {
      ...EXAMPLE_PAYLOADS['attendance.marked'],
      attendanceId: 'ATT-ER',
      studentUserId: S,
      sectionId: 'SEC-1',
      markedBy: 'T1',
    });
    // Encrypted under the student's key, attendance dead-letters it (no such absence).
    const justified = buildEvent(
      'absence.justified',
      { ...EXAMPLE_PAYLOADS['absence.justified'], absenceId: 'ABS-NEVER', studentUserId: S, justification },
      { sourceService: 'e2e', clock: systemClock },
    );
    await encrypting.publish(justified);
    deadLetterId = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/ops/dead-letters?rule=ABSENCE_JUSTIFY_UNKNOWN&eventType=absence.justified', {
        token: admin,
      });
      return (r.body.items as Array<{ id: string; eventId: string }> | undefined)?.find((x) => x.eventId === justified.eventId)?.id;
    }, 'the justification of an unknown absence dead-lettered');
    const shown = await api.call('GET', `/api/v1/ops/dead-letters/${encodeURIComponent(deadLetterId)}`, { token: admin });
    expect((shown.body.payload as { payload: { justification: string } }).payload.justification).to.equal(justification);
    before360 = await eventually(async () => {
      const r = await api.call('GET', `/api/v1/users/${S}/student360`, { token: admin });
      return r.body.averages && r.body.attendance ? r.body : undefined;
    }, 'the 360 with the grade and the mark');
    expect((before360.profile as Record<string, unknown>).firstName).to.equal(secrets.firstName);
  });
  after(async () => {
    await keysPool?.end();
    await api?.stop();
    await p?.stop();
  });

  /** The student's personal values grades and attendance keep in PostgreSQL. */
  const copies = async () => {
    const q = async <R extends pg.QueryResultRow>(processor: string, sql: string): Promise<R[]> =>
      (await p.pool.query<R>(sql.replace('{s}', `"${p.schema(processor)}"`), [S])).rows;
    return {
      grades: await q<{ grade_id: string; comment: string | null }>(
        'grades',
        'select grade_id, comment from {s}.grades where student_user_id = $1',
      ),
      parked: (
        await q<{ event: { payload: { comment: string } } }>('grades', 'select event from {s}.parked_events where student_user_id = $1')
      ).map((r) => r.event.payload.comment),
      absences: await q<{ absence_id: string; justified: boolean; reason: string | null; justification: string | null }>(
        'attendance',
        'select absence_id, justified, reason, justification from {s}.absences where student_user_id = $1',
      ),
    };
  };
  const erase = (userId: string, token: string, body: unknown = {}): Promise<HttpResult> =>
    api.call('POST', `/api/v1/users/${userId}/erasure`, { token, body, headers: { prefer: 'wait=15' } });
  const leaks = (x: unknown): string[] => Object.values(secrets).filter((v) => JSON.stringify(x).includes(v));

  it('refuses a non-admin (403) and an unknown user (404), as problem+json, erasing nothing', async () => {
    for (const who of [await api.token('T1', 'teacher'), await api.token(S, 'student')]) {
      const r = await erase(S, who);
      expect(r.status).to.equal(403);
      expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
    }
    const unknown = await erase('NOBODY', admin);
    expect(unknown.status).to.equal(404);
    expect(unknown.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(unknown.body).to.include({ code: 'NOT_FOUND' });
    const still = await api.call('GET', `/api/v1/users/${S}`, { token: admin });
    expect(still.body).to.include({ firstName: secrets.firstName });
  });

  it('202 with the event id; then the user and the 360 show the marker and never the old values; grades and attendance unchanged', async () => {
    beforeErasure = new Date();
    const r = await erase(S, admin, { reason: 'SUBJECT_REQUEST' });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    expect(r.body.eventId).to.be.a('string');
    expect(r.headers.get('location')).to.equal(`/api/v1/events/${String(r.body.eventId)}`);
    expect((r.body.status as { complete: boolean }).complete, JSON.stringify(r.body.status)).to.equal(true);
    const status = await api.call('GET', String(r.body.location), { token: admin });
    expect(status.body).to.deep.include({ eventType: 'user.personal-data.erased', complete: true });

    const user = await api.call('GET', `/api/v1/users/${S}`, { token: admin });
    expect(user.status).to.equal(200);
    expect(user.body).to.deep.include({
      userId: S,
      firstName: ERASED_MARKER,
      lastName: ERASED_MARKER,
      email: ERASED_MARKER,
      phone: ERASED_MARKER,
      birthDate: null,
      status: 'ACTIVE',
      roles: ['STUDENT'],
    });
    const s360 = await api.call('GET', `/api/v1/users/${S}/student360`, { token: admin });
    expect(s360.status).to.equal(200);
    expect(s360.body.profile).to.deep.include({
      firstName: ERASED_MARKER,
      lastName: ERASED_MARKER,
      email: ERASED_MARKER,
      phone: ERASED_MARKER,
    });
    expect(leaks(user.body), 'user').to.deep.equal([]);
    expect(leaks(s360.body), '360').to.deep.equal([]);
    // Facts about the opaque id stay: the same averages, attendance counts and enrollment.
    for (const k of ['averages', 'attendance', 'attendanceBySection', 'enrollment']) expect(s360.body[k], k).to.deep.equal(before360[k]);
  });

  it("the operator console's dead letter holding their justification shows the marker", async () => {
    const shown = await api.call('GET', `/api/v1/ops/dead-letters/${encodeURIComponent(deadLetterId)}`, { token: admin });
    expect(shown.status, JSON.stringify(shown.body)).to.equal(200);
    expect((shown.body.payload as { payload: { justification: string } }).payload.justification).to.equal(ERASED_MARKER);
    expect(JSON.stringify(shown.body)).to.not.include(justification);
  });

  it('erasing again answers 202 again (the event is published again; applying it twice changes nothing)', async () => {
    const r = await erase(S, admin);
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    expect((r.body.status as { complete: boolean }).complete).to.equal(true);
    expect((await api.call('GET', `/api/v1/users/${S}`, { token: admin })).body).to.include({ firstName: ERASED_MARKER });
  });

  it('the user.created record itself now decodes to the marker with the key store (the key is gone)', async () => {
    const record = await recordOf(createKafka(p.config), p.topic('user-events'), createdEventId);
    const pool = createPgPool(p.config, { max: 1 });
    try {
      const codec = new EventCodec(createSchemaRegistry(p.config), { decryptor: await openKeyStore(p.config, pool) });
      const { event } = await codec.decode(record.value!);
      expect({ ...event.payload }).to.deep.include({ userId: S, firstName: ERASED_MARKER, email: ERASED_MARKER, phone: ERASED_MARKER });
      expect(record.value!.includes(Buffer.from(secrets.firstName)), 'plaintext on the wire').to.equal(false);
    } finally {
      await pool.end();
    }
  });

  it('an --until snapshot of users from before the erasure shows the marker too', async () => {
    const snap = await rebuild(p.config, logger, {
      name: 'users',
      liveSchema: p.db.databaseName,
      liveGroup: `${p.run}-users`,
      topicName: (t) => p.topic(t),
      until: beforeErasure,
      snapshot: `er${rand}`,
      pollMs: 200,
    });
    const db = p.mongo.db(snap.target);
    try {
      const user = await db.collection<{ _id: string }>('users').findOne({ _id: S });
      expect(user).to.deep.include({ firstName: ERASED_MARKER, email: ERASED_MARKER });
      expect(user).to.not.have.property('erased'); // built from before the event: the marker comes from the missing key
      expect(leaks(user), 'snapshot user').to.deep.equal([]);
    } finally {
      await db.dropDatabase();
    }
  });

  it('a rebuild of the users projection from the topics reads the marker (the key is gone)', async () => {
    await p.settled();
    const built = await rebuild(p.config, logger, {
      name: 'users',
      liveSchema: p.db.databaseName,
      liveGroup: `${p.run}-users`,
      topicName: (t) => p.topic(t),
      noSwitch: true,
      pollMs: 200,
    });
    const db = p.mongo.db(built.target);
    try {
      const user = await db.collection<{ _id: string; birthDate?: string | null }>('users').findOne({ _id: S });
      const s360 = await db.collection<{ _id: string }>('student360').findOne({ _id: S });
      expect(user).to.deep.include({ firstName: ERASED_MARKER, lastName: ERASED_MARKER, email: ERASED_MARKER, phone: ERASED_MARKER });
      expect(user?.birthDate ?? null).to.equal(null);
      expect(leaks(user), 'rebuilt user').to.deep.equal([]);
      expect(leaks(s360), 'rebuilt 360').to.deep.equal([]);
    } finally {
      await db.dropDatabase();
    }
  });

  it("academic's enrollment keeps its facts and drops the previous institution", async () => {
    const e = await p.enrollment('ENR-ER');
    expect(e).to.deep.include({ student_user_id: S, section_id: 'SEC-1', status: 'COMPLETED', previous_institution: ERASED_MARKER });
  });

  it('grades and attendance keep the grade, the parked grade and the absence, their comment, reason and justification the marker', async () => {
    const c = await copies();
    expect(c).to.deep.equal({
      grades: [{ grade_id: 'GRD-ER', comment: ERASED_MARKER }],
      parked: [ERASED_MARKER],
      absences: [{ absence_id: 'ABS-ER', justified: true, reason: ERASED_MARKER, justification: ERASED_MARKER }],
    });
    expect(leaks(c)).to.deep.equal([]);
  });

  it('projections:verify: every projection equals its rebuild', async () => {
    const postgres = new Set(['academic', 'assignments', 'grades', 'attendance']);
    for (const name of ['users', 'notifications', 'academic', 'assignments', 'grades', 'attendance']) {
      const v = await verify(p.config, logger, {
        name,
        live: postgres.has(name) ? p.schema(name) : p.db.databaseName,
        liveGroup: `${p.run}-${name}`,
        topicName: (t) => p.topic(t),
      });
      expect(v.differences, name).to.deep.equal([]);
      expect(v.equal, name).to.equal(true);
    }
    // The welcome the saga sent the student (processors/notifications welcomeRequests): its subject is theirs, dropped too.
    const welcome = await api.call('GET', `/api/v1/notifications/WEL-ENR-ER-${S}`, { token: admin });
    expect(welcome.status, JSON.stringify(welcome.body)).to.equal(200);
    expect(welcome.body).to.include({ recipientUserId: S, subject: ERASED_MARKER });
  });
});
