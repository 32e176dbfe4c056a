import { expect } from 'chai';
import { seededRandom } from '../../lib/rng';
import type { EvaluationType, SchoolEvent } from '../../schemas/generated/events';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { anEvent } from '../testing/gwt';
import { throwawayProjection } from '../testing/pg-projection';
import { createGrades, migrations } from '.';

/** The grades projection on throwaway schemas of the real PostgreSQL: exact rows, and chunking never changes them. */
describe('grades projection (load, fold, flush; real PostgreSQL)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const def = createGrades(config.rules);
  const { pool, store, apply } = throwawayProjection(config, def, migrations);
  const rows = async (schema: string, table: string, order: string): Promise<unknown[]> =>
    (await pool().query<Record<string, unknown>>(`select * from "${schema}".${table} order by ${order}`)).rows;
  const content = async (schema: string) => ({
    grades: await rows(schema, 'grades', 'grade_id'),
    sums: await rows(schema, 'grade_sums', 'student_user_id, course_id, period_id, evaluation_type'),
    averages: await rows(schema, 'period_averages', 'student_user_id, course_id, period_id'),
  });

  /** Step 4's outcome for a student in a section: what enrolls them as far as grades knows (rule GRADE_STUDENT_NOT_ENROLLED). */
  const enrolled = (studentUserId: string, sectionId = 'SEC-1', enrollmentId = `E-${studentUserId}`) =>
    anEvent('enrollment.grades.initialized', {
      enrollmentId,
      studentUserId,
      sectionId,
      courseIds: ['MATH'],
      periodIds: ['T1'],
    });

  /** 5 students enrolled (partition 3), then their grades × 2 courses over 3 partitions, with corrections and a duplicate. */
  function workload(): Ready[] {
    const rnd = seededRandom(11);
    const types: EvaluationType[] = ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT'];
    const enrollments = [0, 1, 2, 3, 4].map((i): Ready => ({
      event: enrolled(`S-${i}`),
      position: { topic: 'grades-events', partition: 3, offset: i },
    }));
    const events: SchoolEvent[] = [];
    for (let i = 0; i < 120; i++)
      events.push(
        anEvent('grade.recorded', {
          gradeId: `G-${i}`,
          studentUserId: `S-${i % 5}`,
          sectionId: 'SEC-1',
          courseId: i % 2 ? 'MATH' : 'ART',
          periodId: 'T1',
          evaluationType: types[i % types.length]!,
          score: Math.round(rnd() * 20),
          maxScore: 20,
          comment: null,
        }),
      );
    for (let i = 0; i < 120; i += 7)
      events.push(
        anEvent('grade.updated', {
          gradeId: `G-${i}`,
          studentUserId: `S-${i % 5}`,
          sectionId: 'SEC-1',
          courseId: i % 2 ? 'MATH' : 'ART',
          periodId: 'T1',
          newScore: Math.round(rnd() * 20),
        }),
      );
    events.push(events[3]!); // a duplicate at a new offset: applied once
    const offsets = [0, 0, 0];
    return [
      ...enrollments,
      ...events.map((event, i) => ({ event, position: { topic: 'grades-events', partition: i % 3, offset: offsets[i % 3]!++ } })),
    ];
  }

  it('given grades and a correction: exactly these rows and derived events', async () => {
    const s = await store();
    const g = { studentUserId: 'S-1', sectionId: 'SEC-1', courseId: 'MATH', periodId: 'T1', comment: null };
    const events: SchoolEvent[] = [
      enrolled('S-1'),
      anEvent('grade.recorded', { ...g, gradeId: 'G-1', evaluationType: 'EXAM', score: 16, maxScore: 20 }),
      anEvent('grade.recorded', { ...g, gradeId: 'G-2', evaluationType: 'QUIZ', score: 5, maxScore: 10 }),
      anEvent('grade.updated', { ...g, gradeId: 'G-1', newScore: 6 }),
    ];
    const emitted = await apply(
      s,
      events.map((event, offset) => ({ event, position: { topic: 'grades-events', partition: 0, offset } })),
      100,
    );
    const c = await content(s.schema);
    expect(c.grades.map((r) => [(r as { grade_id: string }).grade_id, (r as { score: number }).score])).to.deep.equal([
      ['G-1', 6],
      ['G-2', 5],
    ]);
    expect(c.sums).to.deep.equal([
      { student_user_id: 'S-1', course_id: 'MATH', period_id: 'T1', evaluation_type: 'EXAM', points: '30000000', grades: 1 },
      { student_user_id: 'S-1', course_id: 'MATH', period_id: 'T1', evaluation_type: 'QUIZ', points: '50000000', grades: 1 },
    ]);
    // 80 → (0.4*80 + 0.15*50)/0.55 = 71.82 → (0.4*30 + 0.15*50)/0.55 = 35.45
    expect(c.averages.map((r) => [(r as { average: number }).average, (r as { grade_count: number }).grade_count])).to.deep.equal([
      [35.45, 2],
    ]);
    expect(
      emitted.map((e) => [
        e.eventType,
        (e.payload as { average?: number; alertType?: string }).average ?? null,
        (e.payload as { alertType?: string }).alertType ?? null,
      ]),
    ).to.deep.equal([
      ['period.average.calculated', 80, null],
      ['period.average.calculated', 71.82, null],
      ['period.average.calculated', 35.45, null],
      ['student.performance.alert', 35.45, 'BELOW_PASSING'],
      ['student.performance.alert', 35.45, 'SHARP_DROP'],
    ]);
  });

  it('one chunk of everything gives the same rows as one chunk per event, and as another partition interleaving', async () => {
    const records = workload();
    const whole = await store();
    const single = await store();
    const interleaved = await store();
    await apply(whole, records, 1000);
    await apply(single, records, 1);
    // The enrollments first (a grade before its student's enrollment is refused: docs/invariants.md), then partition 2,
    // then 1, then 0: the averages' keys span partitions, so the sums must not depend on arrival.
    await apply(
      interleaved,
      [3, 2, 1, 0].flatMap((p) => records.filter((r) => r.position.partition === p)),
      17,
    );
    const expected = await content(single.schema);
    expect(expected.averages.length).to.equal(10);
    const strip = (c: Awaited<ReturnType<typeof content>>) => ({
      ...c,
      averages: c.averages.map((r) => ({ ...(r as object), updated_at: undefined })),
    });
    expect(await content(whole.schema)).to.deep.equal(expected);
    expect(strip(await content(interleaved.schema))).to.deep.equal(strip(expected));
  });

  it("setup and saga step 4 on the fold: the decision reads the chunk's courses and periods; a compensation deletes what step 4 wrote", async () => {
    const assigned = (enrollmentId: string) =>
      anEvent('enrollment.section.assigned', { enrollmentId, studentUserId: `U-${enrollmentId}`, sectionId: 'SEC-9' });
    const year = anEvent('academic.year.started', {
      academicYearId: 'Y9',
      gradingPeriods: [
        { periodId: 'T2', name: 'T2', startDate: '2025-07-01', endDate: '2025-12-01' },
        { periodId: 'T1', name: 'T1', startDate: '2025-03-01', endDate: '2025-06-30' },
      ],
    });
    const initialized = (enrollmentId: string) =>
      anEvent('enrollment.grades.initialized', {
        enrollmentId,
        studentUserId: `U-${enrollmentId}`,
        sectionId: 'SEC-9',
        courseIds: ['ART', 'MATH'],
        periodIds: ['T1', 'T2'],
      });
    const events: SchoolEvent[] = [
      assigned('E-0'), // before the section exists here: no courses
      anEvent('section.created', { sectionId: 'SEC-9', academicYearId: 'Y9' }),
      year,
      anEvent('course.assigned', { sectionId: 'SEC-9', courseId: 'MATH' }),
      anEvent('course.assigned', { sectionId: 'SEC-9', courseId: 'ART' }),
      assigned('E-1'),
      initialized('E-1'),
      assigned('E-2'),
      initialized('E-2'),
      anEvent('enrollment.attendance.initialization.failed', {
        enrollmentId: 'E-2',
        sectionId: 'SEC-9',
        reason: 'NO_SCHEDULE',
        message: 'none',
      }),
      initialized('E-2'), // redelivered step 4 outcome after the compensation: no records again
    ];
    const outcomes: unknown[] = [];
    for (const size of [1, 100]) {
      const s = await store();
      const emitted = await apply(
        s,
        events.map((event, offset) => ({ event, position: { topic: 'academic-events', partition: 0, offset } })),
        size,
      );
      outcomes.push({
        records: await rows(s.schema, 'base_records', 'enrollment_id, course_id, period_id'),
        refs: await rows(s.schema, 'enrollment_refs', 'enrollment_id'),
        emitted: emitted.map((e) => {
          const p = e.payload as { enrollmentId: string; courseIds?: string[]; periodIds?: string[]; reason?: string };
          return [p.enrollmentId, e.eventType, p.courseIds ?? p.reason ?? null, p.periodIds ?? null];
        }),
      });
    }
    const record = (courseId: string, periodId: string) => ({
      enrollment_id: 'E-1',
      student_user_id: 'U-E-1',
      section_id: 'SEC-9',
      course_id: courseId,
      period_id: periodId,
    });
    expect(outcomes[0]).to.deep.equal({
      records: [record('ART', 'T1'), record('ART', 'T2'), record('MATH', 'T1'), record('MATH', 'T2')],
      refs: [
        { enrollment_id: 'E-0', student_user_id: 'U-E-0', compensated: false, section_id: null }, // step 4 failed: enrolled nowhere
        { enrollment_id: 'E-1', student_user_id: 'U-E-1', compensated: false, section_id: 'SEC-9' },
        { enrollment_id: 'E-2', student_user_id: 'U-E-2', compensated: true, section_id: 'SEC-9' },
      ],
      emitted: [
        ['E-0', 'enrollment.grades.initialization.failed', 'NO_COURSES', null],
        ['E-1', 'enrollment.grades.initialized', ['ART', 'MATH'], ['T1', 'T2']], // periods by start date
        ['E-2', 'enrollment.grades.initialized', ['ART', 'MATH'], ['T1', 'T2']],
        ['E-2', 'enrollment.grades.compensated', 'none', null],
      ],
    });
    expect(outcomes[1]).to.deep.equal(outcomes[0]);
  });

  it('refuses a grade that breaks a rule, naming the rule (dead-lettered by the runtime with it), and changes nothing', async () => {
    const s = await store();
    const grade = (gradeId: string, score: number, maxScore: number): Ready => ({
      event: anEvent('grade.recorded', { gradeId, studentUserId: 'S-1', courseId: 'MATH', periodId: 'T1', score, maxScore }),
      position: { topic: 'grades-events', partition: 0, offset: Number(gradeId.slice(2)) },
    });
    for (const [bad, rule] of [
      [grade('G-1', 1e308, 1e308), 'GRADE_MAX_SCORE'],
      [grade('G-2', 21, 20), 'GRADE_SCORE_RANGE'],
    ] as const) {
      const error = await apply(s, [bad], 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, rule).to.include({ code: 'RULE_VIOLATION', rule });
    }
    expect(await content(s.schema)).to.deep.equal({ grades: [], sums: [], averages: [] });
  });

  it('refuses a grade of a student not enrolled in its section (never, elsewhere, transferred away, compensated), and changes nothing', async () => {
    const s = await store();
    let offset = 0;
    const at = (event: SchoolEvent): Ready => ({ event, position: { topic: 'grades-events', partition: 0, offset: offset++ } });
    const g = { studentUserId: 'S-1', sectionId: 'SEC-1', courseId: 'MATH', periodId: 'T1', evaluationType: 'EXAM' as const, score: 10 };
    await apply(s, [at(enrolled('S-1')), at(anEvent('grade.recorded', { ...g, gradeId: 'G-OK', maxScore: 20 }))], 10);
    const before = { ...(await content(s.schema)), refs: await rows(s.schema, 'enrollment_refs', 'enrollment_id') };
    expect(before.grades).to.have.length(1);
    // Transferred (step 4 again, for SEC-2): SEC-1 no longer; and S-2's enrollment was compensated.
    await apply(s, [at(enrolled('S-1', 'SEC-2'))], 1);
    await apply(
      s,
      [
        at(enrolled('S-2')),
        at(anEvent('enrollment.attendance.initialization.failed', { enrollmentId: 'E-S-2', reason: 'NO_SCHEDULE', message: 'none' })),
      ],
      10,
    );
    const after = { ...(await content(s.schema)), refs: await rows(s.schema, 'enrollment_refs', 'enrollment_id') };
    for (const [gradeId, payload] of [
      ['G-NEVER', { studentUserId: 'S-9' }],
      ['G-ELSEWHERE', { sectionId: 'SEC-3' }],
      ['G-MOVED', {}],
      ['G-COMPENSATED', { studentUserId: 'S-2' }],
    ] as const) {
      const error = await apply(s, [at(anEvent('grade.recorded', { ...g, maxScore: 20, gradeId, ...payload }))], 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, gradeId).to.include({ code: 'RULE_VIOLATION', rule: 'GRADE_STUDENT_NOT_ENROLLED' });
    }
    expect({ ...(await content(s.schema)), refs: await rows(s.schema, 'enrollment_refs', 'enrollment_id') }).to.deep.equal(after);
    expect(after.grades).to.deep.equal(before.grades);
    // In the new section the student is graded.
    await apply(s, [at(anEvent('grade.recorded', { ...g, sectionId: 'SEC-2', gradeId: 'G-NEW', maxScore: 20 }))], 1);
    expect((await content(s.schema)).grades).to.have.length(2);
  });
});
