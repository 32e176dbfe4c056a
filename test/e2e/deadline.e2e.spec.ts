import { expect } from 'chai';
import { eventually, randomName, testConfig } from '../support';
import { TestPipeline, type EnrollmentRow } from '../support/pipeline';

/** A saga whose next step never happens (the attendance processor is not running) fails by deadline and compensates. */
describe('saga deadlines (real stack, attendance processor absent)', function () {
  this.timeout(180000);
  let p: TestPipeline;
  const id = randomName('dl');
  const year = `Y-${id}`;
  const section = `SEC-${id}`;
  const student = `USR-${id}`;

  before(async () => {
    p = new TestPipeline(testConfig({ SAGA_DEADLINE_MS: '3000', SAGA_CHECK_INTERVAL_MS: '500' }), ['attendance']);
    await p.start();
    await p.publish('academic.year.started', {
      academicYearId: year,
      name: 'Y',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [{ periodId: `${year}-T1`, name: 'T1', startDate: '2025-03-03', endDate: '2025-07-11' }],
    });
    await p.publish('section.created', {
      sectionId: section,
      academicYearId: year,
      name: 'D',
      gradeLevel: 5,
      capacity: 10,
      homeroom: null,
    });
    await p.publish('course.assigned', { sectionId: section, courseId: 'CRS-MATH', courseName: 'Math', weeklyHours: 5 });
    await p.publish('user.created', {
      userId: student,
      userType: 'STUDENT',
      firstName: 'D',
      lastName: 'L',
      email: 'd@x.test',
      phone: null,
      birthDate: null,
      roles: ['STUDENT'],
    });
    await eventually(
      () =>
        p.db
          .collection('users')
          .findOne({ _id: student as never })
          .then((d) => d ?? undefined),
      'the student projected',
      60000,
    );
    await eventually(
      async () =>
        (await p.pool.query(`select 1 from "${p.schema('grades')}".section_courses where section_id = $1`, [section])).rowCount
          ? true
          : undefined,
      'courses projected',
      60000,
    );
  });
  after(async () => p?.stop());

  it('stalls after step 4, fails at INITIALIZE_ATTENDANCE by deadline, compensates every step newest first', async () => {
    const enrollmentId = `ENR-${id}`;
    await p.publish(
      'student.enrolled',
      {
        enrollmentId,
        studentUserId: student,
        sectionId: section,
        academicYearId: year,
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
        previousInstitution: null,
      },
      enrollmentId,
    );
    const stalled = await eventually(
      async () => {
        const e = await p.enrollment(enrollmentId);
        return e?.status === 'GRADES_INITIALIZED' ? e : undefined;
      },
      'the saga to reach step 5',
      60000,
    );
    expect(stalled.current_step).to.equal('INITIALIZE_ATTENDANCE');
    const e = await eventually(
      async () => {
        const x = await p.enrollment(enrollmentId);
        return x?.status === 'FAILED' ? x : undefined;
      },
      'the deadline to fail the saga',
      60000,
    );
    expect(e).to.deep.include({ failed_step: 'INITIALIZE_ATTENDANCE', seat_held: false, active: false });
    expect((e as EnrollmentRow & { deadline_expired: boolean }).deadline_expired).to.equal(true);
    expect(e.failure_reason).to.match(/deadline expired/);
    expect(e.compensated).to.deep.equal(['INITIALIZE_GRADES', 'ASSIGN_TO_SECTION', 'VALIDATE_USER', 'CREATE_ENROLLMENT']);
    // Grades writes base records when it reads back its own step-4 outcome, which may come after the
    // compensation: wait until it has applied that outcome, so "none" means none were left, not none yet.
    await p.outcomesApplied('grades', enrollmentId, 'enrollment.grades.initialized');
    const base = await p.pool.query(`select 1 from "${p.schema('grades')}".base_records where enrollment_id = $1`, [enrollmentId]);
    expect(base.rowCount).to.equal(0); // no orphan base records
    const seats = await p.pool.query<{ seats_taken: number }>(`select seats_taken from "${p.schema('academic')}".sections where id = $1`, [
      section,
    ]);
    expect(seats.rows[0]?.seats_taken).to.equal(0);
    const timeline = await p.pool.query<{ step: string; outcome: string }>(
      `select step, outcome from "${p.schema('academic')}".saga_timeline where enrollment_id = $1`,
      [enrollmentId],
    );
    expect(timeline.rows).to.deep.include({ step: 'INITIALIZE_ATTENDANCE', outcome: 'TIMED_OUT' });
  });
});
