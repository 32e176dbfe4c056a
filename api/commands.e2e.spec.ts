import { expect } from 'chai';
import { eventually, testConfig } from '../test/support';
import { ApiHarness, type HttpResult } from '../test/support/api';
import { createKafka } from '../lib/clients/kafka';
import { topicSize } from '../test/support/kafka';
import { TestPipeline } from '../test/support/pipeline';
import { SmtpSink } from '../test/support/smtp';

/**
 * Every command endpoint over real HTTP: it publishes its event to Kafka, the processors
 * apply it, and the follow-up query shows the effect. Read-your-writes via Prefer: wait.
 */
describe('HTTP API commands and queries (e2e)', function () {
  this.timeout(180_000);
  const smtp = new SmtpSink();
  let p: TestPipeline;
  let api: ApiHarness;
  let admin = '';
  let teacher = '';
  const S = 'STU-1';
  const PARENT = 'PAR-1';
  const T = 'TCH-1';
  const SEC = 'SEC-A';
  const SEC2 = 'SEC-B';

  before(async () => {
    // EMAIL goes over real SMTP to this sink, so delivery is checked where the message lands.
    p = new TestPipeline(testConfig({ SMTP_URL: await smtp.start() }));
    api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 }); // the limit is tested in security.e2e
    await p.start();
    await api.start();
    admin = await api.token('ADM-1', 'admin');
    teacher = await api.token(T, 'teacher');
  });
  after(async () => {
    await api.stop();
    await p.stop();
    await smtp.stop();
  });

  /** A command that must be accepted and applied by every read model it affects before the answer. */
  async function command(method: string, url: string, body: unknown, token = admin): Promise<HttpResult> {
    const r = await api.call(method, url, { token, body, headers: { prefer: 'wait=15' } });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    expect(r.body.eventId).to.be.a('string');
    expect(r.headers.get('location')).to.equal(r.body.location);
    expect((r.body.status as { complete: boolean }).complete, JSON.stringify(r.body.status)).to.equal(true);
    return r;
  }
  const get = async (url: string, token = admin): Promise<Record<string, unknown>> => {
    const r = await api.call('GET', url, { token });
    expect(r.status, `${url}: ${JSON.stringify(r.body)}`).to.equal(200);
    return r.body;
  };
  const user = (userId: string, userType: string, roles: string[]) => ({
    userId,
    userType,
    firstName: 'Ana',
    lastName: 'Pérez',
    email: `${userId.toLowerCase()}@school.example`,
    roles,
  });

  it('users: create, update, role change, parent link, deactivate; queries show each', async () => {
    await command('POST', '/api/v1/users', user(S, 'STUDENT', ['STUDENT']));
    await command('POST', '/api/v1/users', user(PARENT, 'PARENT', ['PARENT']));
    await command('POST', '/api/v1/users', user(T, 'TEACHER', ['TEACHER']));
    // The teacher of SEC2's assignment and schedule (below): a teacher must exist to be assigned.
    await command('POST', '/api/v1/users', user('TCH-2', 'TEACHER', ['TEACHER']));
    await command('POST', '/api/v1/users', user('STU-GONE', 'STUDENT', ['STUDENT']));
    const created = await command('POST', '/api/v1/users', { ...user('X', 'TEACHER', ['TEACHER']), userId: undefined });
    expect(created.headers.get('location')).to.equal(`/api/v1/events/${String(created.body.eventId)}`);
    const status = await get(String(created.body.location));
    expect(status).to.include({ eventType: 'user.created', complete: true });

    await command('PATCH', `/api/v1/users/${S}`, { firstName: 'Anita', lastName: null, email: null, phone: '+51 1' });
    expect(await get(`/api/v1/users/${S}`)).to.include({ firstName: 'Anita', phone: '+51 1' });
    await command('POST', `/api/v1/users/${T}/roles`, { previousRoles: ['TEACHER'], newRoles: ['TEACHER', 'ADMIN'] });
    expect((await get(`/api/v1/users/${T}`)).roles).to.deep.equal(['TEACHER', 'ADMIN']);
    await command('POST', `/api/v1/users/${S}/parents`, { parentUserId: PARENT, relationship: 'MOTHER' });
    expect((await get(`/api/v1/users/${PARENT}`)).children).to.deep.equal([S]);
    // Resources speak the contract: ids by name, no storage fields (responses are validated against openapi.yaml too).
    expect(await get(`/api/v1/users/${PARENT}`))
      .to.include({ userId: PARENT })
      .and.not.have.any.keys('_id', '_hwm');
    const s360 = await get(`/api/v1/users/${S}/student360`);
    expect(s360).to.deep.include({ userId: S, parents: [PARENT] });
    expect((s360.profile as Record<string, unknown>).firstName).to.equal('Anita');
    await command('POST', '/api/v1/users/STU-GONE/deactivate', { reason: 'moved away' });
    expect(await get('/api/v1/users/STU-GONE')).to.include({ status: 'DEACTIVATED' });

    const students = await get('/api/v1/users/type/STUDENT?limit=1');
    expect((students.items as unknown[]).length).to.equal(1);
    const next = await get(`/api/v1/users/type/STUDENT?limit=1&cursor=${String(students.nextCursor)}`);
    expect((next.items as Array<{ userId: string }>)[0]!.userId).to.not.equal((students.items as Array<{ userId: string }>)[0]!.userId);
    const v = await api.call('POST', '/api/v1/users/bulk-validate', { token: admin, body: { userIds: [S, 'NOPE', 'STU-GONE'] } });
    expect(v.body.results).to.deep.equal([
      { userId: S, exists: true, active: true, student: true },
      { userId: 'NOPE', exists: false, active: false, student: false },
      { userId: 'STU-GONE', exists: true, active: false, student: true },
    ]);
  });

  it('academic and assignments: year, sections, courses, teacher, schedule; queries show each', async () => {
    await command('POST', '/api/v1/academic/years', {
      academicYearId: '2025',
      name: 'School year 2025',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [{ periodId: '2025-T1', name: 'Term 1', startDate: '2025-03-03', endDate: '2025-06-27' }],
    });
    for (const id of [SEC, SEC2])
      await command('POST', '/api/v1/academic/sections', {
        sectionId: id,
        academicYearId: '2025',
        name: id,
        gradeLevel: 5,
        capacity: 1,
        homeroom: null,
      });
    await command('POST', `/api/v1/academic/sections/${SEC}/courses`, { courseId: 'MATH', courseName: 'Mathematics', weeklyHours: 6 });
    await command('POST', `/api/v1/academic/sections/${SEC2}/courses`, { courseId: 'MATH', courseName: 'Mathematics', weeklyHours: 6 });
    expect(await get(`/api/v1/academic/sections/${SEC}`)).to.deep.include({
      sectionId: SEC,
      capacity: 1,
      courses: [{ courseId: 'MATH', courseName: 'Mathematics', weeklyHours: 6 }],
    });
    expect(((await get('/api/v1/academic/courses/MATH')).sections as unknown[]).length).to.equal(2);

    await command('POST', '/api/v1/assignments', {
      assignmentId: 'ASG-1',
      teacherUserId: T,
      sectionId: SEC,
      courseId: 'MATH',
      weeklyHours: 6,
      startDate: '2025-03-03',
    });
    await command('POST', '/api/v1/assignments', {
      assignmentId: 'ASG-2',
      teacherUserId: 'TCH-2',
      sectionId: SEC2,
      courseId: 'MATH',
      weeklyHours: 6,
      startDate: '2025-03-03',
    });
    expect((await get(`/api/v1/assignments/teacher/${T}/courses`, teacher)).items).to.deep.equal([
      { assignmentId: 'ASG-1', sectionId: SEC, courseId: 'MATH', weeklyHours: 6 },
    ]);
    expect((await get(`/api/v1/assignments/section/${SEC}/teachers`, teacher)).items).to.deep.equal([
      { teacherUserId: T, courseId: 'MATH', weeklyHours: 6 },
    ]);
    await command('POST', '/api/v1/assignments/schedules', {
      sectionId: SEC,
      courseId: 'MATH',
      teacherUserId: T,
      dayOfWeek: 'MONDAY',
      startMinute: 480,
      endMinute: 570,
      room: null,
    });
    // SEC2 has a schedule too: a transfer there opens the student's attendance register (saga step 5 needs one).
    await command('POST', '/api/v1/assignments/schedules', {
      sectionId: SEC2,
      courseId: 'MATH',
      teacherUserId: 'TCH-2',
      dayOfWeek: 'TUESDAY',
      startMinute: 480,
      endMinute: 570,
      room: null,
    });
    const busy = await api.call('POST', '/api/v1/assignments/validate-availability', {
      token: admin,
      body: { teacherUserId: T, dayOfWeek: 'MONDAY', startMinute: 500, endMinute: 520 },
    });
    expect(busy.body.available).to.equal(false);
    const free = await api.call('POST', '/api/v1/assignments/validate-availability', {
      token: admin,
      body: { teacherUserId: T, dayOfWeek: 'MONDAY', startMinute: 600, endMinute: 660 },
    });
    expect(free.body).to.deep.equal({ available: true, conflicts: [] });
    await command('POST', '/api/v1/assignments/ASG-2/remove', {
      teacherUserId: 'TCH-2',
      sectionId: SEC2,
      courseId: 'MATH',
      reason: 'reassigned',
    });
    expect((await get(`/api/v1/assignments/section/${SEC2}/teachers`)).items).to.deep.equal([]);
  });

  it('enrollment: Location follows the saga to COMPLETED; a full section FAILS', async () => {
    const ok = await api.call('POST', '/api/v1/academic/enrollments', {
      token: admin,
      body: {
        enrollmentId: 'ENR-1',
        studentUserId: S,
        sectionId: SEC,
        academicYearId: '2025',
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
      },
    });
    expect(ok.status).to.equal(202);
    expect(ok.headers.get('location')).to.equal('/api/v1/academic/enrollments/ENR-1/saga');
    const done = await eventually(
      async () => {
        const r = await api.call('GET', '/api/v1/academic/enrollments/ENR-1/saga', { token: admin });
        return r.status === 200 && ['COMPLETED', 'FAILED'].includes(String(r.body.status)) ? r.body : undefined;
      },
      'saga ENR-1 ends',
      60_000,
    );
    expect(done.status).to.equal('COMPLETED');
    expect((done.timeline as unknown[]).length).to.be.greaterThan(3);
    // The student and the parent may read it; the section (capacity 1) is now full.
    expect((await get('/api/v1/academic/enrollments/ENR-1/saga', await api.token(PARENT, 'parent'))).status).to.equal('COMPLETED');
    await command('POST', '/api/v1/users', user('STU-2', 'STUDENT', ['STUDENT']));
    const full = await api.call('POST', '/api/v1/academic/enrollments', {
      token: admin,
      body: {
        enrollmentId: 'ENR-2',
        studentUserId: 'STU-2',
        sectionId: SEC,
        academicYearId: '2025',
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
      },
    });
    const failed = await eventually(
      async () => {
        const r = await api.call('GET', String(full.headers.get('location')), { token: admin });
        return r.status === 200 && ['COMPLETED', 'FAILED'].includes(String(r.body.status)) ? r.body : undefined;
      },
      'saga ENR-2 ends',
      60_000,
    );
    expect(failed).to.include({ status: 'FAILED' });
    expect((await get(`/api/v1/academic/enrollments/student/${S}`)).items).to.have.length(1);
    const list = await get('/api/v1/academic/enrollments?status=FAILED&limit=10');
    expect((list.items as Array<{ enrollmentId: string }>).map((i) => i.enrollmentId)).to.deep.equal(['ENR-2']);
  });

  it('grades and attendance: a teacher writes for their section; a transfer; queries show grades, averages and the summary', async () => {
    // The student is enrolled in SEC (ENR-1), which the teacher teaches: grades and marks need both.
    await command(
      'POST',
      '/api/v1/grades',
      {
        gradeId: 'GRD-1',
        studentUserId: S,
        sectionId: SEC,
        courseId: 'MATH',
        periodId: '2025-T1',
        evaluationType: 'EXAM',
        score: 15,
        maxScore: 20,
        comment: null,
      },
      teacher,
    );
    await command(
      'POST',
      '/api/v1/grades/GRD-1/corrections',
      { studentUserId: S, sectionId: SEC, courseId: 'MATH', periodId: '2025-T1', newScore: 18, reason: 'recount' },
      teacher,
    );
    const g = await get(`/api/v1/grades/student/${S}/period/2025-T1`);
    expect((g.grades as Array<{ score: number }>)[0]!.score).to.equal(18);
    expect((g.averages as unknown[]).length).to.equal(1);
    await command(
      'POST',
      '/api/v1/grades/competencies',
      { studentUserId: S, sectionId: SEC, courseId: 'MATH', periodId: '2025-T1', competencyId: 'C1', level: 'ACHIEVED', comment: null },
      teacher,
    );
    const avg = await api.call('POST', '/api/v1/grades/calculate-average', {
      token: teacher,
      body: { grades: [{ evaluationType: 'EXAM', score: 10, maxScore: 20 }] },
    });
    expect(avg.body).to.deep.equal({ average: 50, gradeCount: 1 }); // 10 of 20, on the 0–100 scale the processor uses

    // SEC has lessons on Mondays, SEC2 on Tuesdays: a mark on another day is refused (ATTENDANCE_NOT_A_SCHOOL_DAY).
    await command('POST', '/api/v1/attendance/marks', { studentUserId: S, sectionId: SEC, date: '2025-03-03', status: 'LATE' }, teacher);
    await command('POST', '/api/v1/attendance/mark-present', { sectionId: SEC, date: '2025-03-10', studentUserIds: [S] }, teacher);
    const absence = await command(
      'POST',
      '/api/v1/attendance/absences',
      { absenceId: 'ABS-1', studentUserId: S, sectionId: SEC, date: '2025-03-17', reason: null },
      teacher,
    );
    expect(absence.body.eventIds).to.have.length(1);
    await command(
      'POST',
      '/api/v1/attendance/tardiness',
      { studentUserId: S, sectionId: SEC, date: '2025-03-24', minutesLate: 5 },
      teacher,
    );
    expect(await get(`/api/v1/attendance/student/${S}/summary`)).to.include({ unjustifiedAbsences: 1 });
    await command(
      'POST',
      '/api/v1/attendance/absences/ABS-1/justify',
      { studentUserId: S, date: '2025-03-17', justification: 'doctor' },
      await api.token(PARENT, 'parent'),
    );
    const summary = await get(`/api/v1/attendance/student/${S}/summary`, await api.token(S, 'student'));
    expect(summary).to.include({ present: 1, late: 1, absent: 0, excused: 0, unjustifiedAbsences: 0, tardies: 1 });

    await command('POST', '/api/v1/academic/enrollments/ENR-1/transfer', {
      studentUserId: S,
      fromSectionId: SEC,
      toSectionId: SEC2,
      academicYearId: '2025',
      transferDate: '2025-05-12',
      reason: 'family request',
    });
    expect(await get(`/api/v1/academic/sections/${SEC2}`)).to.include({ seatsTaken: 1 });
    // Attendance moves the student's register when it reads its own repeated step 5: a mark in SEC2 sent before that
    // would be dead-lettered (ATTENDANCE_STUDENT_NOT_ENROLLED; docs/invariants.md, "in flight").
    await p.outcomesApplied('attendance', 'ENR-1', 'enrollment.attendance.initialized', 2);
    // Transferred to SEC2: a mark there counts in SEC2's own summary, and SEC's history stays as it was.
    await command('POST', '/api/v1/attendance/marks', { studentUserId: S, sectionId: SEC2, date: '2025-03-11', status: 'PRESENT' });
    const both = await eventually(async () => {
      const x = await get(`/api/v1/attendance/student/${S}/summary`);
      return (x.sections as unknown[]).length === 2 ? x : undefined;
    }, 'the SEC2 summary');
    expect(both).to.include({ sectionId: SEC2, present: 2, late: 1, tardies: 1 });
    expect(
      (both.sections as Array<{ sectionId: string; present: number; late: number; tardies: number }>).map((x) => [
        x.sectionId,
        x.present,
        x.late,
        x.tardies,
      ]),
    ).to.deep.equal([
      [SEC2, 1, 0, 0],
      [SEC, 1, 1, 1],
    ]);
    const s360 = await get(`/api/v1/users/${S}/student360`);
    expect(s360.attendanceBySection).to.deep.equal({ [SEC2]: { PRESENT: 1 }, [SEC]: { PRESENT: 1, LATE: 1 } });
  });

  it('a grade or a mark for a student without a COMPLETED enrollment in the section: 409 naming the rule, nothing published', async () => {
    // S was transferred to SEC2 (above); STU-2's enrollment in SEC failed (section full).
    await p.settled();
    const kafka = createKafka(p.config);
    const topics = ['grades-events', 'attendance-events'].map((t) => p.topic(t));
    const sizes = async () => Promise.all(topics.map((t) => topicSize(kafka, t)));
    const before = await sizes();
    const refused = async (url: string, body: Record<string, unknown>, token: string, errors: Array<{ field: string; rule: string }>) => {
      const r = await api.call('POST', url, { token, body, headers: { prefer: 'wait=5' } });
      expect(r.status, `${url} ${JSON.stringify(r.body)}`).to.equal(409);
      expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(r.body).to.include({ code: 'RULE_VIOLATION', status: 409 });
      expect((r.body.errors as Array<{ field: string; rule: string }>).map((e) => ({ field: e.field, rule: e.rule }))).to.deep.equal(
        errors,
      );
    };
    const grade = { sectionId: SEC, courseId: 'MATH', periodId: '2025-T1', evaluationType: 'EXAM', score: 12, maxScore: 20, comment: null };
    const notEnrolled = (rule: string, field = 'body.studentUserId') => [{ field, rule }];
    for (const student of [S, 'STU-2', 'STU-NOBODY'])
      await refused('/api/v1/grades', { ...grade, studentUserId: student }, teacher, notEnrolled('GRADE_STUDENT_NOT_ENROLLED'));
    const day = { sectionId: SEC, date: '2025-05-19' };
    await refused(
      '/api/v1/attendance/marks',
      { ...day, studentUserId: S, status: 'PRESENT' },
      teacher,
      notEnrolled('ATTENDANCE_STUDENT_NOT_ENROLLED'),
    );
    await refused(
      '/api/v1/attendance/absences',
      { ...day, studentUserId: S, reason: null },
      teacher,
      notEnrolled('ATTENDANCE_STUDENT_NOT_ENROLLED'),
    );
    await refused(
      '/api/v1/attendance/tardiness',
      { ...day, studentUserId: S, minutesLate: 5 },
      teacher,
      notEnrolled('ATTENDANCE_STUDENT_NOT_ENROLLED'),
    );
    // Of several students, each one without an enrollment there is named; none of the marks is published.
    await refused(
      '/api/v1/attendance/mark-present',
      { sectionId: SEC2, date: '2025-05-13', studentUserIds: [S, 'STU-2'] },
      admin,
      notEnrolled('ATTENDANCE_STUDENT_NOT_ENROLLED', 'body.studentUserIds[1]'),
    );
    // A payload rule is still a 400, checked first.
    const bad = await api.call('POST', '/api/v1/grades', { token: teacher, body: { ...grade, studentUserId: 'STU-2', score: 25 } });
    expect(bad.status).to.equal(400);
    expect((bad.body.errors as Array<{ rule: string }>).map((e) => e.rule)).to.deep.equal(['GRADE_SCORE_RANGE']);
    expect(await sizes(), 'grades-events and attendance-events end offsets').to.deep.equal(before);
  });

  it('notifications: request, send-immediate and bulk reach the SMTP server and are DELIVERED; the log and templates are queryable', async () => {
    const email = (userId: string): string => `${userId.toLowerCase()}@school.example`;
    const request = {
      channel: 'EMAIL',
      templateId: 'welcome',
      body: 'Hello',
      variables: {},
    };
    await command('POST', '/api/v1/notifications', {
      ...request,
      notificationId: 'NTF-1',
      recipientUserId: PARENT,
      subject: 'Requested',
      priority: 'LOW',
      address: null,
    });
    await command('POST', '/api/v1/notifications/send-immediate', {
      ...request,
      notificationId: 'NTF-NOW',
      recipientUserId: PARENT,
      subject: 'Immediate',
      address: null,
    });
    const bulk = await command('POST', '/api/v1/notifications/bulk', {
      ...request,
      recipientUserIds: [PARENT, S],
      subject: 'Bulk',
      priority: 'NORMAL',
    });
    expect(bulk.body.eventIds).to.have.length(2);
    const bulkIds = (
      await p.db.collection<{ _id: string; recipientUserId: string }>('notifications').find({ subject: 'Bulk' }).toArray()
    ).map((n) => [n._id, n.recipientUserId] as const);
    expect(bulkIds.map(([, to]) => to).sort()).to.deep.equal([PARENT, S].sort());

    const parent = await api.token(PARENT, 'parent');
    for (const [notificationId, recipient, subject] of [
      ['NTF-1', PARENT, 'Requested'],
      ['NTF-NOW', PARENT, 'Immediate'],
      ...bulkIds.map(([id, to]) => [id, to, 'Bulk'] as const),
    ] as const) {
      const n = await eventually(async () => {
        const x = await api.call('GET', `/api/v1/notifications/${notificationId}`, { token: recipient === PARENT ? parent : admin });
        return x.status === 200 && ['DELIVERED', 'FAILED'].includes(String(x.body.status)) ? x.body : undefined;
      }, `notification ${notificationId} to reach a final state`);
      expect(n.status, `${notificationId}: ${JSON.stringify(n.history)}`).to.equal('DELIVERED');
      expect((n.history as Array<{ status: string }>).map((h) => h.status)).to.deep.equal(['REQUESTED', 'SENT', 'DELIVERED']);
      // Exactly one message for this recipient and subject reached the SMTP server.
      const mails = smtp.received.filter((m) => m.subject === subject && m.to.includes(email(recipient)));
      expect(mails, `${notificationId} at the SMTP server`).to.have.length(1);
      expect(mails[0]).to.deep.include({ to: [email(recipient)], text: 'Hello' });
    }
    // Nothing else under these subjects (the enrollment test's welcome emails reach the sink too).
    expect(smtp.received.filter((m) => ['Requested', 'Immediate', 'Bulk'].includes(m.subject))).to.have.length(4);
    expect(await get('/api/v1/notifications/templates/welcome')).to.include({ templateId: 'welcome' });
  });

  it('Idempotency-Key: same body → first answer, no second event; other body → 409', async () => {
    const topic = p.topic('user-events');
    const before = await topicSize(createKafka(p.config), topic);
    const body = user('STU-IDEM', 'STUDENT', ['STUDENT']);
    const a = await api.call('POST', '/api/v1/users', { token: admin, body, headers: { 'idempotency-key': 'k-1' } });
    const b = await api.call('POST', '/api/v1/users', { token: admin, body, headers: { 'idempotency-key': 'k-1' } });
    expect(a.status).to.equal(202);
    expect(b.status).to.equal(202);
    expect(b.body.eventId).to.equal(a.body.eventId);
    expect(b.headers.get('idempotent-replayed')).to.equal('true');
    const c = await api.call('POST', '/api/v1/users', {
      token: admin,
      body: { ...body, firstName: 'Other' },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(c.status).to.equal(409);
    expect(c.body.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    expect(await topicSize(createKafka(p.config), topic)).to.equal(before + 1);
  });
});
