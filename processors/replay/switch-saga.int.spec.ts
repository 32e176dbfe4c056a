import { expect } from 'chai';
import { eventually, randomName, testConfig } from '../../test/support';
import { TestPipeline } from '../../test/support/pipeline';
import { createLogger } from '../../lib/logger';
import { rebuild } from './rebuild';

/**
 * academic rebuilt and switched live while enrollment sagas run through all six processors: every record the
 * rebuild applied was also applied, and its derived events sent, by the live processor, so every saga ends.
 * (A rebuild held against live that ran past live's positions applied records whose saga events nobody sent:
 * those sagas stopped at a step.)
 */
describe('a Postgres rebuild switched under saga load (int)', function () {
  this.timeout(300_000);
  const p = new TestPipeline(testConfig({ LOG_LEVEL: 'error' }));
  const id = randomName('sw');
  const year = `Y-${id}`;
  const section = `SEC-${id}`;
  const student = (i: number): string => `USR-${id}-S${i}`;
  const STUDENTS = 400;

  before(async () => {
    await p.start();
    await p.publish('academic.year.started', {
      academicYearId: year,
      name: '2025',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [{ periodId: `${year}-T1`, name: 'T1', startDate: '2025-03-03', endDate: '2025-07-11' }],
    });
    await p.publish('section.created', {
      sectionId: section,
      academicYearId: year,
      name: 'A',
      gradeLevel: 5,
      capacity: STUDENTS,
      homeroom: null,
    });
    await p.publish('course.assigned', { sectionId: section, courseId: 'CRS-MATH', courseName: 'MATH', weeklyHours: 5 });
    await p.publish('schedule.created', {
      scheduleId: `SCH-${id}`,
      sectionId: section,
      courseId: 'CRS-MATH',
      teacherUserId: `USR-${id}-T`,
      dayOfWeek: 'MONDAY',
      startMinute: 480,
      endMinute: 560,
      room: null,
    });
    for (let i = 0; i < STUDENTS; i++)
      await p.publish('user.created', {
        userId: student(i),
        userType: 'STUDENT',
        firstName: `S${i}`,
        lastName: 'Test',
        email: `${student(i).toLowerCase()}@school.test`,
        phone: null,
        birthDate: null,
        roles: ['STUDENT'],
      });
    await p.settled();
  });
  after(async () => {
    await p.host.stop();
    await p.pool.query(`select nspname from pg_namespace where nspname like $1`, [`${p.schema('academic')}%`]).then(async (r) => {
      for (const row of r.rows as Array<{ nspname: string }>) await p.pool.query(`drop schema if exists "${row.nspname}" cascade`);
    });
    await p.pool.query('delete from public.replay_builds where projection = $1', [p.schema('academic')]);
    await p.stop();
  });

  it('every saga started before, during and after the switch ends COMPLETED', async () => {
    let n = 0;
    let stop = false;
    const enroll = async (): Promise<void> => {
      const enrollmentId = `ENR-${id}-${n}`;
      await p.publish(
        'student.enrolled',
        {
          enrollmentId,
          studentUserId: student(n),
          sectionId: section,
          academicYearId: year,
          enrollmentDate: '2025-03-03',
          enrollmentType: 'REGULAR',
          previousInstitution: null,
        },
        enrollmentId,
      );
      n++;
    };
    while (n < 50) await enroll();
    // Sagas keep starting (about 40 a second) while academic is rebuilt and switched.
    const load = (async () => {
      while (!stop && n < STUDENTS) {
        await enroll();
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const r = await rebuild(p.config, createLogger(p.config, 'switch-saga'), {
      name: 'academic',
      liveSchema: p.schema('academic'),
      liveGroup: `${p.run}-academic`,
      topicName: (t: string) => p.topic(t),
      pollMs: 100,
    }).finally(() => (stop = true));
    await load;
    expect(r.switched).to.equal(true);
    const statuses = await eventually(
      async () => {
        const rows = await p.pool.query<{ status: string; n: number }>(
          `select status, count(*)::int n from "${p.schema('academic')}".enrollments where enrollment_id like $1 group by status`,
          [`ENR-${id}-%`],
        );
        const by = Object.fromEntries(rows.rows.map((x) => [x.status, x.n]));
        return by.COMPLETED === n ? by : undefined;
      },
      `all ${n} sagas COMPLETED after the switch`,
      120_000,
      500,
    ).catch(async (e: unknown) => {
      const rows = await p.pool.query<{ status: string; step: string | null; n: number }>(
        `select status, current_step step, count(*)::int n from "${p.schema('academic')}".enrollments where enrollment_id like $1 group by 1, 2`,
        [`ENR-${id}-%`],
      );
      throw new Error(`${String(e)}; ${n} started, now: ${JSON.stringify(rows.rows)}`);
    });
    expect(statuses).to.deep.equal({ COMPLETED: n });
  });
});
