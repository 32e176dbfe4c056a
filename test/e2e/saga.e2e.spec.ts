import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { systemClock } from '../../lib/clock';
import { academicQueries } from '../../processors/academic/queries';
import { usersQueries } from '../../processors/users/queries';
import { composeStudent360 } from '../../processors/users/student360';
import { createKafka } from '../../lib/clients/kafka';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { readToEnd, type RawRecord } from '../../lib/read-to-end';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import type { SchoolEvent } from '../../schemas/generated/events';
import { eventually, randomName, testConfig } from '../support';
import { TestPipeline, type EnrollmentRow } from '../support/pipeline';

/**
 * The enrollment saga end to end over the real stack: all six processors, every
 * failure branch with its exact compensations, a notification failure that still
 * completes, and concurrency on the last seats.
 */
describe('enrollment saga (all processors, real stack)', function () {
  this.timeout(240000);
  const delivered: string[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address.includes('reject')) {
        const err = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        for (const r of session.envelope.rcptTo) delivered.push(r.address);
        cb();
      });
    },
  });
  let p: TestPipeline;
  let codec: EventCodec;
  const id = randomName('x');
  const year = `Y-${id}`;
  const otherYear = `Y2-${id}`;
  const sec = (s: string): string => `SEC-${id}-${s}`;
  const usr = (s: string): string => `USR-${id}-${s}`;
  let enrollments = 0;

  async function enroll(student: string, section: string, academicYearId = year): Promise<string> {
    const enrollmentId = `ENR-${id}-${++enrollments}`;
    await p.publish(
      'student.enrolled',
      {
        enrollmentId,
        studentUserId: student,
        sectionId: section,
        academicYearId,
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
        previousInstitution: null,
      },
      enrollmentId,
    );
    return enrollmentId;
  }
  const ended = (enrollmentId: string): Promise<EnrollmentRow> =>
    eventually(
      async () => {
        const e = await p.enrollment(enrollmentId);
        return e && ['COMPLETED', 'FAILED'].includes(e.status) ? e : undefined;
      },
      `enrollment ${enrollmentId} to end`,
      60000,
      200,
    );
  const seats = async (section: string): Promise<number> =>
    Number(
      (await p.pool.query<{ seats_taken: number }>(`select seats_taken from "${p.schema('academic')}".sections where id = $1`, [section]))
        .rows[0]?.seats_taken,
    );
  const baseRecords = async (enrollmentId: string): Promise<number> =>
    Number(
      (
        await p.pool.query<{ n: string }>(`select count(*) n from "${p.schema('grades')}".base_records where enrollment_id = $1`, [
          enrollmentId,
        ])
      ).rows[0]?.n,
    );
  /** Grades writes base records when it reads back its own step-4 outcome: shortly after, not before, the saga moves on. */
  const baseRecordsReach = (enrollmentId: string, n: number): Promise<number> =>
    eventually(
      async () => {
        const found = await baseRecords(enrollmentId);
        return found === n ? found : undefined;
      },
      `${n} base records for ${enrollmentId}`,
      30000,
    );

  const at = (r: RawRecord): string => `${r.topic}:${r.partition}:${r.offset}`;
  /** Every record of a saga (its correlationId) on the saga's topics, with its event decoded. */
  async function sagaRecords(enrollmentId: string): Promise<Array<RawRecord & { event: SchoolEvent }>> {
    const topics = ['user-events', 'academic-events', 'grades-events', 'attendance-events', 'notification-events'].map((t) => p.topic(t));
    const mine = (await readToEnd(createKafka(p.config), topics)).filter((r) => String(r.headers.correlationId) === enrollmentId);
    return Promise.all(mine.map(async (r) => ({ ...r, event: (await codec.decode(r.value!)).event })));
  }
  const sagaEvents = async (enrollmentId: string): Promise<SchoolEvent[]> => (await sagaRecords(enrollmentId)).map((r) => r.event);

  before(async () => {
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    const port = (smtp.server.address() as AddressInfo).port;
    p = new TestPipeline(
      testConfig({ SMTP_URL: `smtp://127.0.0.1:${port}`, NOTIFICATION_TIMEOUT_MS: '3000', NOTIFICATION_MAX_ATTEMPTS: '2' }),
    );
    codec = new EventCodec(createSchemaRegistry(p.config));
    await p.start();
    await p.publish('academic.year.started', {
      academicYearId: year,
      name: '2025',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [
        { periodId: `${year}-T1`, name: 'T1', startDate: '2025-03-03', endDate: '2025-07-11' },
        { periodId: `${year}-T2`, name: 'T2', startDate: '2025-07-28', endDate: '2025-12-19' },
      ],
    });
    for (const [s, capacity, courses, schedule] of [
      ['A', 40, true, true],
      ['SMALL', 30, true, true],
      ['NOCOURSE', 10, false, true],
      ['NOSCHED', 10, true, false],
      ['R', 20, true, true],
      ['T', 5, true, true],
    ] as Array<[string, number, boolean, boolean]>) {
      await p.publish('section.created', { sectionId: sec(s), academicYearId: year, name: s, gradeLevel: 5, capacity, homeroom: null });
      if (courses) {
        for (const c of ['MATH', 'LANG'])
          await p.publish('course.assigned', { sectionId: sec(s), courseId: `CRS-${c}`, courseName: c, weeklyHours: 5 });
      }
      if (schedule) {
        await p.publish('schedule.created', {
          scheduleId: `SCH-${id}-${s}`,
          sectionId: sec(s),
          courseId: 'CRS-MATH',
          teacherUserId: usr('teacher'),
          dayOfWeek: 'MONDAY',
          startMinute: 480 + (s.length % 5) * 90,
          endMinute: 560 + (s.length % 5) * 90,
          room: null,
        });
      }
    }
    await p.publish('section.created', {
      sectionId: sec('OTHERYEAR'),
      academicYearId: otherYear,
      name: 'X',
      gradeLevel: 5,
      capacity: 10,
      homeroom: null,
    });
    const user = (u: string, userType: 'STUDENT' | 'TEACHER' | 'PARENT', email = `${usr(u)}@school.test`) =>
      p.publish('user.created', {
        userId: usr(u),
        userType,
        firstName: u,
        lastName: 'Test',
        email,
        phone: null,
        birthDate: null,
        roles: [userType],
      });
    await user('ana', 'STUDENT');
    await user('mum', 'PARENT');
    await user('teacher', 'TEACHER');
    await user('gone', 'STUDENT');
    await user('reject', 'STUDENT', `reject-${id}@school.test`);
    for (let i = 0; i < 200; i++) await user(`crowd${i}`, 'STUDENT');
    await p.publish('student.parent.linked', { studentUserId: usr('ana'), parentUserId: usr('mum'), relationship: 'MOTHER' });
    await p.publish('user.deactivated', { userId: usr('gone'), reason: 'left' });
    // The projections the saga reads must have these facts before the enrollments arrive (they are on other topics).
    await eventually(
      () =>
        p.db
          .collection('users')
          .findOne({ _id: usr('crowd199') as never })
          .then((d) => d ?? undefined),
      'users projection',
      60000,
    );
    await eventually(
      () =>
        p.db
          .collection('users')
          .findOne({ _id: usr('gone') as never, status: 'DEACTIVATED' })
          .then((d) => d ?? undefined),
      'deactivation',
      60000,
    );
    await eventually(async () => ((await seats(sec('OTHERYEAR'))) === 0 ? true : undefined), 'sections projection', 60000);
    await eventually(
      async () =>
        Number(
          (
            await p.pool.query<{ n: string }>(
              `select count(*) n from "${p.schema('attendance')}".section_schedules where section_id like $1`,
              [`SEC-${id}-%`],
            )
          ).rows[0]?.n,
        ) === 5
          ? true
          : undefined,
      'schedules projection',
      60000,
    );
  });
  after(async () => {
    await p?.stop();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  it('a happy enrollment completes: grades and attendance initialised, welcome sent to student and parent', async () => {
    const e = await ended(await enroll(usr('ana'), sec('A')));
    expect(e).to.deep.include({ status: 'COMPLETED', failed_step: null, seat_held: true, active: true, warnings: [] });
    expect(await seats(sec('A'))).to.equal(1);
    expect(await baseRecordsReach(e.enrollment_id, 4)).to.equal(4); // 2 courses x 2 grading periods
    await eventually(
      async () =>
        (await p.pool.query(`select 1 from "${p.schema('attendance')}".registers where enrollment_id = $1`, [e.enrollment_id])).rowCount ===
        1
          ? true
          : undefined,
      'the attendance register (attendance opens it from its own step-5 outcome)',
    );
    await eventually(
      () => Promise.resolve(delivered.includes(`${usr('mum')}@school.test`) ? true : undefined),
      'the parent welcome email',
      30000,
    );
    expect(delivered).to.include(`${usr('ana')}@school.test`);
    // COMPLETED is set when the welcome outcome is applied; the COMPLETE_ENROLLMENT row is written later,
    // when academic consumes its own enrollment.completed, so wait for the seventh row.
    const timeline = await eventually(async () => {
      const r = await p.pool.query<{ step: string; outcome: string }>(
        `select step, outcome from "${p.schema('academic')}".saga_timeline where enrollment_id = $1 order by at, step`,
        [e.enrollment_id],
      );
      return r.rows.length >= 7 ? r : undefined;
    }, 'the COMPLETE_ENROLLMENT timeline entry');
    expect(timeline.rows.map((r) => `${r.step}:${r.outcome}`)).to.have.members([
      'CREATE_ENROLLMENT:SUCCEEDED',
      'VALIDATE_USER:SUCCEEDED',
      'ASSIGN_TO_SECTION:SUCCEEDED',
      'INITIALIZE_GRADES:SUCCEEDED',
      'INITIALIZE_ATTENDANCE:SUCCEEDED',
      'SEND_WELCOME_NOTIFICATION:SUCCEEDED',
      'COMPLETE_ENROLLMENT:SUCCEEDED',
    ]);
    // The query modules the API calls answer from the same read models.
    const q = academicQueries(p.pool, p.schema('academic'));
    const saga = await q.saga(e.enrollment_id);
    expect(saga?.timeline).to.have.length(7);
    expect((await q.enrollmentsOfStudent(usr('ana'))).map((x) => x.status)).to.deep.equal(['COMPLETED']);
    expect(await q.stuck(60000, new Date())).to.deep.equal([]);
    expect((await q.section(sec('A')))?.seatsTaken).to.equal(1);
    expect(await usersQueries(p.db).bulkValidate([usr('ana'), usr('gone'), usr('nobody')])).to.deep.equal([
      { userId: usr('ana'), exists: true, active: true, student: true },
      { userId: usr('gone'), exists: true, active: false, student: true },
      { userId: usr('nobody'), exists: false, active: false, student: false },
    ]);
    // The 360 as the API composes it: the users document and academic's enrollments.
    const s360 = await eventually(async () => {
      const doc = await usersQueries(p.db).student360(usr('ana'));
      return doc?.parents?.length ? composeStudent360(doc, await q.enrollmentsOfStudent(usr('ana')), [], undefined) : undefined;
    }, 'the student 360 with its parent');
    expect(s360.parents).to.deep.equal([usr('mum')]);
    expect(s360.enrollment?.status).to.equal('COMPLETED');
  });

  const failures: Array<[string, () => Promise<string>, string, string[], RegExp]> = [
    ['the student does not exist', () => enroll(usr('nobody'), sec('A')), 'VALIDATE_USER', ['CREATE_ENROLLMENT'], /does not exist/],
    ['the student is deactivated', () => enroll(usr('gone'), sec('A')), 'VALIDATE_USER', ['CREATE_ENROLLMENT'], /deactivated/],
    ['the user is not a student', () => enroll(usr('teacher'), sec('A')), 'VALIDATE_USER', ['CREATE_ENROLLMENT'], /not a student/],
    [
      'the section does not exist',
      () => enroll(usr('crowd0'), sec('NOPE')),
      'ASSIGN_TO_SECTION',
      ['VALIDATE_USER', 'CREATE_ENROLLMENT'],
      /does not exist/,
    ],
    [
      'the section belongs to another year',
      () => enroll(usr('crowd1'), sec('OTHERYEAR')),
      'ASSIGN_TO_SECTION',
      ['VALIDATE_USER', 'CREATE_ENROLLMENT'],
      /academic year/,
    ],
    [
      'the section has no courses',
      () => enroll(usr('crowd2'), sec('NOCOURSE')),
      'INITIALIZE_GRADES',
      ['ASSIGN_TO_SECTION', 'VALIDATE_USER', 'CREATE_ENROLLMENT'],
      /no courses/,
    ],
    [
      'the section has no schedule',
      () => enroll(usr('crowd3'), sec('NOSCHED')),
      'INITIALIZE_ATTENDANCE',
      ['INITIALIZE_GRADES', 'ASSIGN_TO_SECTION', 'VALIDATE_USER', 'CREATE_ENROLLMENT'],
      /no schedule/,
    ],
  ];
  for (const [why, start, step, compensated, reason] of failures) {
    it(`fails at ${step} when ${why}, compensating newest first`, async () => {
      const e = await ended(await start());
      expect(e.status).to.equal('FAILED');
      expect(e.failed_step).to.equal(step);
      expect(e.failure_reason).to.match(reason);
      expect(e.compensated).to.deep.equal(compensated);
      expect(e.active).to.equal(false);
      expect(e.seat_held).to.equal(false);
      // Grades writes base records when it reads back its own step-4 outcome, which may come after the
      // compensation: wait until it has applied that outcome, so "none" means none were left, not none yet.
      if (compensated.includes('INITIALIZE_GRADES')) await p.outcomesApplied('grades', e.enrollment_id, 'enrollment.grades.initialized');
      expect(await baseRecords(e.enrollment_id)).to.equal(0); // no orphan grade record
    });
  }

  it('frees every seat a failed saga took', async () => {
    // Sagas failing after step 3 (no courses: step 4; no schedule: step 5) took a seat first.
    for (const [section, student] of [
      [sec('NOCOURSE'), usr('crowd27')],
      [sec('NOSCHED'), usr('crowd28')],
    ] as const) {
      const before = await seats(section);
      const e = await ended(await enroll(student, section));
      expect(e).to.deep.include({ status: 'FAILED', seat_held: false });
      expect(e.compensated).to.include('ASSIGN_TO_SECTION');
      // Academic's step-3 outcome reports the seat count it wrote in the same transaction: the seat was taken.
      const assigned = (await sagaEvents(e.enrollment_id)).filter(
        (x): x is SchoolEvent<'enrollment.section.assigned'> => x.eventType === 'enrollment.section.assigned',
      );
      expect(assigned.map((x) => x.payload.seatsTaken)).to.deep.equal([before + 1]);
      // No saga into these sections completes (none can): every seat ever taken there was freed.
      expect(await seats(section)).to.equal(0);
    }
  });

  it('a rejected welcome email still completes, with a warning', async () => {
    const e = await ended(await enroll(usr('reject'), sec('A')));
    expect(e.status).to.equal('COMPLETED');
    expect(e.warnings).to.have.length(1);
    expect(e.warnings[0]).to.match(/welcome notification failed: EMAIL SMTP_550/);
  });

  it('200 enrollments at once for 30 seats: exactly 30 complete, 170 fail for "section full"', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(`ENR-${id}-crowd-${i}`);
    await p.publishMany(
      ids.map((enrollmentId, i) =>
        buildEvent(
          'student.enrolled',
          {
            enrollmentId,
            studentUserId: usr(`crowd${i}`),
            sectionId: sec('SMALL'),
            academicYearId: year,
            enrollmentDate: '2025-03-03',
            enrollmentType: 'REGULAR',
            previousInstitution: null,
          },
          { sourceService: 'e2e', clock: systemClock, correlationId: enrollmentId },
        ),
      ),
    );
    const rows = await eventually(
      async () => {
        const r = await p.pool.query<{ status: string; failure_reason: string | null }>(
          `select status, failure_reason from "${p.schema('academic')}".enrollments where enrollment_id = any($1) and status in ('COMPLETED', 'FAILED')`,
          [ids],
        );
        return r.rows.length === 200 ? r.rows : undefined;
      },
      'all 200 sagas to end',
      180000,
      500,
    );
    expect(rows.filter((r) => r.status === 'COMPLETED')).to.have.length(30);
    const failed = rows.filter((r) => r.status === 'FAILED');
    expect(failed).to.have.length(170);
    expect(failed.every((r) => /is full/.test(r.failure_reason ?? ''))).to.equal(true);
    expect(await seats(sec('SMALL'))).to.equal(30);
  });

  it('redelivering every event of a finished saga changes no outcome', async () => {
    const enrollmentId = await enroll(usr('crowd4'), sec('A'));
    await ended(enrollmentId);
    await p.settled(); // the saga's last events (the completion) are read back after it ends
    const before = await p.enrollment(enrollmentId);
    const seatsBefore = await seats(sec('A'));
    const original = await sagaRecords(enrollmentId);
    expect(original.length).to.be.at.least(8);
    const seen = new Set(original.map(at));
    await p.publishMany(original.map((r) => r.event)); // the same events (same eventIds) at new offsets
    // Wait until every group that reads their topics has committed past the copies, so each copy was handled
    // (as a duplicate, or not) before the checks below.
    await p.consumedPast((await sagaRecords(enrollmentId)).filter((r) => !seen.has(at(r))));
    expect(await p.enrollment(enrollmentId)).to.deep.equal(before);
    expect(await seats(sec('A'))).to.equal(seatsBefore);
    expect(await baseRecords(enrollmentId)).to.equal(4);
    // Nothing was decided again: no processor emitted anything for the copies (derived eventIds are
    // deterministic, so an event emitted again shows as a third record of its eventId).
    await p.settled();
    const ids = (rs: Array<{ event: SchoolEvent }>): string[] => rs.map((r) => r.event.eventId).sort();
    expect(ids(await sagaRecords(enrollmentId))).to.deep.equal(ids([...original, ...original]));
  });

  it('a transfer between sections frees the old seat, takes a new one, and moves grades and attendance along', async () => {
    const enrollmentId = await enroll(usr('crowd6'), sec('A'));
    await ended(enrollmentId);
    const [a, t] = [await seats(sec('A')), await seats(sec('T'))];
    await p.publish('student.transferred', {
      enrollmentId,
      studentUserId: usr('crowd6'),
      fromSectionId: sec('A'),
      toSectionId: sec('T'),
      academicYearId: year,
      transferDate: '2025-05-12',
      previousInstitution: null,
      reason: 'family request',
    });
    // The transfer repeats steps 4 and 5 for the new section; wait until grades and attendance applied their
    // second outcomes (which write the base records and the register), then check every row.
    await p.outcomesApplied('grades', enrollmentId, 'enrollment.grades.initialized', 2);
    await p.outcomesApplied('attendance', enrollmentId, 'enrollment.attendance.initialized', 2);
    expect(((await p.enrollment(enrollmentId)) as unknown as { section_id: string; status: string }).section_id).to.equal(sec('T'));
    expect((await p.enrollment(enrollmentId))?.status).to.equal('COMPLETED');
    expect(await seats(sec('A'))).to.equal(a - 1);
    expect(await seats(sec('T'))).to.equal(t + 1);
    const register = await p.pool.query(`select section_id from "${p.schema('attendance')}".registers where enrollment_id = $1`, [
      enrollmentId,
    ]);
    expect(register.rows).to.deep.equal([{ section_id: sec('T') }]);
    // The same courses and periods: the four records carry over, every one now in the new section.
    const records = await p.pool.query(
      `select course_id, period_id, section_id from "${p.schema('grades')}".base_records where enrollment_id = $1 order by course_id, period_id`,
      [enrollmentId],
    );
    expect(records.rows).to.deep.equal(
      ['CRS-LANG', 'CRS-MATH'].flatMap((course_id) =>
        [`${year}-T1`, `${year}-T2`].map((period_id) => ({ course_id, period_id, section_id: sec('T') })),
      ),
    );
  });

  it('restarting every processor mid-saga changes no outcome', async () => {
    const ids: string[] = [];
    for (let i = 7; i < 27; i++) ids.push(await enroll(usr(`crowd${i}`), sec('R')));
    await eventually(
      async () => {
        const r = await p.pool.query<{ n: number }>(
          `select count(*)::int n from "${p.schema('academic')}".enrollments where enrollment_id = any($1) and status <> 'PENDING'`,
          [ids],
        );
        return (r.rows[0]?.n ?? 0) >= 3 ? true : undefined;
      },
      'some sagas under way',
      60000,
      20,
    );
    await p.restart();
    const ends = await Promise.all(ids.map((id) => ended(id)));
    expect(ends.map((e) => e.status)).to.deep.equal(ids.map(() => 'COMPLETED'));
    expect(await seats(sec('R'))).to.equal(20);
    for (const id of ids) expect(await baseRecordsReach(id, 4)).to.equal(4);
  });
});
