import { expect } from 'chai';
import { seededRandom } from '../../lib/rng';
import type { EvaluationType, SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { readStoreGauge } from '../runtime/store-gauges';
import { completed, enrolled, onAcademic, school } from '../testing/enrolled';
import { byTeacher, erasedAsRebuilt, erasureAt, fixedIds } from '../testing/erasure';
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

  /** Grades of 5 students × 2 courses spread over 3 partitions, with corrections and a duplicate. */
  function workload(): Ready[] {
    const rnd = seededRandom(11);
    const types: EvaluationType[] = ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT'];
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
    // The students' enrollments first (read with partition 0): grades of the other partitions that come before them are parked.
    return [
      ...enrolled([0, 1, 2, 3, 4].map((i) => [`S-${i}`, 'SEC-1'] as const)),
      ...events.map((event, i) => ({ event, position: { topic: 'grades-events', partition: i % 3, offset: offsets[i % 3]!++ } })),
    ];
  }

  it('given grades and a correction: exactly these rows and derived events', async () => {
    const s = await store();
    const g = { studentUserId: 'S-1', sectionId: 'SEC-1', courseId: 'MATH', periodId: 'T1', comment: null };
    const events: SchoolEvent[] = [
      anEvent('grade.recorded', { ...g, gradeId: 'G-1', evaluationType: 'EXAM', score: 16, maxScore: 20 }),
      anEvent('grade.recorded', { ...g, gradeId: 'G-2', evaluationType: 'QUIZ', score: 5, maxScore: 10 }),
      anEvent('grade.updated', { ...g, gradeId: 'G-1', newScore: 6 }),
    ];
    const emitted = await apply(
      s,
      [
        ...enrolled([['S-1', 'SEC-1']]),
        ...events.map((event, offset) => ({ event, position: { topic: 'grades-events', partition: 0, offset } })),
      ],
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
    // Partition 2 first, then 1, then 0: the averages' keys span partitions, so the sums must not depend on arrival.
    await apply(
      interleaved,
      [2, 1, 0].flatMap((p) => records.filter((r) => r.position.partition === p)),
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
    for (const x of [whole, single, interleaved])
      expect(await rows(x.schema, 'parked_events', 'event_id'), 'all released').to.deep.equal([]);
  });

  describe('GRADE_STUDENT_NOT_ENROLLED: parked until the enrollment is known, then released', () => {
    const g = { courseId: 'MATH', periodId: 'T1', evaluationType: 'EXAM' as const, maxScore: 20, comment: null };
    const recorded = (gradeId: string, studentUserId: string, sectionId: string, score: number) =>
      anEvent('grade.recorded', { ...g, gradeId, studentUserId, sectionId, score });
    const updated = (gradeId: string, studentUserId: string, sectionId: string, newScore: number) =>
      anEvent('grade.updated', { gradeId, studentUserId, sectionId, courseId: 'MATH', periodId: 'T1', newScore });
    const onGrades = (events: SchoolEvent[], partition: number): Ready[] =>
      events.map((event, offset) => ({ event, position: { topic: 'grades-events', partition, offset } }));
    // academic-events: S-1 completes in SEC-1, then is transferred to SEC-3 (academic's section.assigned of a completed
    // enrollment); S-2 only reaches step 3 in SEC-1 (a section.assigned of a saga still running is no fact).
    const facts = onAcademic([
      completed('S-1', 'SEC-1', 'E-1'),
      anEvent('enrollment.section.assigned', { enrollmentId: 'E-2', studentUserId: 'S-2', sectionId: 'SEC-1' }),
      anEvent('enrollment.section.assigned', { enrollmentId: 'E-1', studentUserId: 'S-1', sectionId: 'SEC-3' }),
    ]).concat(school(['SEC-1', 'SEC-3'])); // the sections' reference facts after the enrollments (the interleaving appends them last)
    const grades = [
      ...onGrades([recorded('G-1', 'S-1', 'SEC-1', 10), updated('G-1', 'S-1', 'SEC-1', 14)], 0), // a correction behind its grade
      ...onGrades([recorded('G-4', 'S-1', 'SEC-3', 20)], 1), // in the section S-1 is transferred to
      ...onGrades([recorded('G-2', 'S-1', 'SEC-2', 5), updated('G-2', 'S-1', 'SEC-2', 6)], 2), // S-1 is never in SEC-2
      ...onGrades([recorded('G-3', 'S-2', 'SEC-1', 8)], 3), // S-2's saga never completes
      ...onGrades([anEvent('competency.evaluated', { evaluationId: 'EV-1', studentUserId: 'S-1', sectionId: 'SEC-1' })], 4),
    ];
    const state = async (schema: string) => ({
      ...(await content(schema)),
      competencies: (await rows(schema, 'competencies', 'evaluation_id')).map((r) => (r as { evaluation_id: string }).evaluation_id),
      parked: (
        await pool().query(
          `select student_user_id, section_id, event_id, subject_id, event_type, rule, source_topic, source_partition, source_offset
           from "${schema}".parked_events order by event_id`,
        )
      ).rows,
    });

    it('the same rows whether the grades come before the enrollment facts, after them, or interleaved, chunked any way', async () => {
      const orders: Array<[string, Ready[], number]> = [
        ['facts first', [...facts, ...grades], 100],
        ['grades first', [...grades, ...facts], 100],
        ['grades first, one by one', [...grades, ...facts], 1],
        ['interleaved', [grades[0]!, facts[0]!, ...grades.slice(1, 4), facts[1]!, ...grades.slice(4), facts[2]!, ...facts.slice(3)], 2],
      ];
      const seen: Array<{ name: string; rows: unknown; emitted: string[] }> = [];
      for (const [name, records, size] of orders) {
        const s = await store();
        const emitted = await apply(s, records, size);
        seen.push({ name, rows: await state(s.schema), emitted: emitted.map((e) => e.eventId).sort() });
      }
      const [first, ...others] = seen;
      const r = first!.rows as Awaited<ReturnType<typeof state>>;
      expect(r.grades.map((x) => [(x as { grade_id: string }).grade_id, (x as { score: number }).score])).to.deep.equal([
        ['G-1', 14],
        ['G-4', 20],
      ]);
      expect(r.competencies).to.deep.equal(['EV-1']);
      const parked = (eventId: string, subject: string, type: string, sectionId: string, partition: number, offset: number) => ({
        student_user_id: subject === 'grade:G-3' ? 'S-2' : 'S-1',
        section_id: sectionId,
        event_id: eventId,
        subject_id: subject,
        event_type: type,
        rule: 'GRADE_STUDENT_NOT_ENROLLED',
        source_topic: 'grades-events',
        source_partition: partition,
        source_offset: String(offset),
      });
      const ids = (i: number): string => grades[i]!.event!.eventId;
      expect(r.parked).to.deep.equal(
        [
          parked(ids(3), 'grade:G-2', 'grade.recorded', 'SEC-2', 2, 0),
          parked(ids(4), 'grade:G-2', 'grade.updated', 'SEC-2', 2, 1), // behind its grade, never dead-lettered as unknown
          parked(ids(5), 'grade:G-3', 'grade.recorded', 'SEC-1', 3, 0),
        ].sort((a, b) => a.event_id.localeCompare(b.event_id)),
      );
      for (const o of others) expect(o.rows, o.name).to.deep.equal(first!.rows);
      // Released grades emit what they would have on arrival (their averages), with the same ids.
      for (const o of others) expect(o.emitted, o.name).to.deep.equal(first!.emitted);
      expect(first!.emitted.length).to.be.greaterThan(0);
    });

    it('while parked the read models do not move; a duplicate of a parked grade and a bad correction of it are refused on arrival', async () => {
      const s = await store();
      await apply(s, onGrades([recorded('G-1', 'S-1', 'SEC-1', 10)], 0), 10);
      expect(await content(s.schema)).to.deep.equal({ grades: [], sums: [], averages: [] });
      for (const [bad, rule] of [
        [recorded('G-1', 'S-1', 'SEC-9', 12), 'GRADE_DUPLICATE'],
        [updated('G-1', 'S-1', 'SEC-1', 25), 'GRADE_SCORE_RANGE'],
        [
          anEvent('grade.updated', { gradeId: 'G-1', studentUserId: 'S-9', courseId: 'MATH', periodId: 'T1', newScore: 1 }),
          'GRADE_CORRECTION_UNKNOWN',
        ],
      ] as const) {
        const error = await apply(s, [{ event: bad, position: { topic: 'grades-events', partition: 0, offset: 5 } }], 1).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, rule).to.include({ code: 'RULE_VIOLATION', rule });
      }
      expect((await state(s.schema)).parked).to.have.length(1);
      // Visible in the processor's metrics: parked by rule, not stale yet; the oldest one's age.
      const [count, oldest] = def.gauges!;
      expect(count!.name).to.equal('school_events_grades_parked_events');
      expect(await readStoreGauge(pool(), s.schema, count!)).to.deep.equal([
        { labels: { rule: 'GRADE_STUDENT_NOT_ENROLLED', stale: 'false' }, value: 1 },
      ]);
      expect((await readStoreGauge(pool(), s.schema, oldest!))[0]!.value).to.be.within(0, 60);
      await apply(s, enrolled([['S-1', 'SEC-1']]), 1);
      expect((await content(s.schema)).grades).to.have.length(1);
      expect((await state(s.schema)).parked).to.deep.equal([]);
      expect(await readStoreGauge(pool(), s.schema, count!)).to.deep.equal([]);
    });
  });

  it('GRADE_COURSE_NOT_IN_SECTION, GRADE_PERIOD_NOT_IN_YEAR: parked until academic says so, the same rows in any order; a late course releases its grades', async () => {
    const g = { studentUserId: 'S-1', sectionId: 'SEC-5', evaluationType: 'EXAM' as const, score: 10, maxScore: 20, comment: null };
    const grades = [
      anEvent('grade.recorded', { ...g, gradeId: 'G-OK', courseId: 'MATH', periodId: 'P-1' }),
      anEvent('grade.recorded', { ...g, gradeId: 'G-BIO', courseId: 'BIO', periodId: 'P-1' }), // BIO is not taught in SEC-5 (yet)
      anEvent('grade.updated', { ...g, gradeId: 'G-BIO', courseId: 'BIO', periodId: 'P-1', newScore: 12 }), // behind its grade
      anEvent('grade.recorded', { ...g, gradeId: 'G-OLD', courseId: 'MATH', periodId: 'P-1999' }), // a period of another year
      anEvent('competency.evaluated', {
        evaluationId: 'EV-1',
        studentUserId: 'S-1',
        sectionId: 'SEC-5',
        courseId: 'MATH',
        periodId: 'P-1',
      }),
    ].map((event, offset) => ({ event, position: { topic: 'grades-events', partition: 0, offset } }));
    const reference = [
      ...onAcademic([completed('S-1', 'SEC-5')], 0, 0),
      ...onAcademic(
        [
          anEvent('section.created', { sectionId: 'SEC-5', academicYearId: 'Y-5' }),
          anEvent('course.assigned', { sectionId: 'SEC-5', courseId: 'MATH' }),
          anEvent('section.created', { sectionId: 'SEC-OLD', academicYearId: 'Y-1999' }),
        ],
        0,
        1,
      ),
      ...onAcademic(
        [
          anEvent('academic.year.started', {
            academicYearId: 'Y-5',
            gradingPeriods: [{ periodId: 'P-1', name: 'P1', startDate: '2025-01-01', endDate: '2025-06-30' }],
          }),
          anEvent('academic.year.started', {
            academicYearId: 'Y-1999',
            gradingPeriods: [{ periodId: 'P-1999', name: 'P', startDate: '1999-01-01', endDate: '1999-06-30' }],
          }),
        ],
        0,
        2,
      ),
    ];
    const state = async (schema: string) => ({
      grades: (await rows(schema, 'grades', 'grade_id')).map((r) => [(r as { grade_id: string }).grade_id, (r as { score: number }).score]),
      competencies: (await rows(schema, 'competencies', 'evaluation_id')).length,
      parked: (await pool().query(`select subject_id, rule from "${schema}".parked_events order by source_offset`)).rows.map(
        (r: { subject_id: string; rule: string }) => [r.subject_id, r.rule],
      ),
    });
    const seen: unknown[] = [];
    for (const [records, size] of [
      [[...reference, ...grades], 100],
      [[...grades, ...reference], 100],
      [[...grades, ...reference], 1],
      [[...reference.slice(3), ...grades.slice(0, 2), ...reference.slice(0, 3), ...grades.slice(2)], 2],
    ] as const) {
      const s = await store();
      await apply(s, [...records], size);
      seen.push(await state(s.schema));
      if (seen.length === 1) {
        // BIO becomes one of SEC-5's courses: its grade and the correction behind it are applied, in order.
        await apply(s, onAcademic([anEvent('course.assigned', { sectionId: 'SEC-5', courseId: 'BIO' })], 10, 1), 1);
        expect((await state(s.schema)).grades).to.deep.include(['G-BIO', 12]);
        expect((await state(s.schema)).parked.map((r) => r[0])).to.deep.equal(['grade:G-OLD']);
      }
    }
    expect(seen[0]).to.deep.equal({
      grades: [['G-OK', 10]],
      competencies: 1,
      parked: [
        ['grade:G-BIO', 'GRADE_COURSE_NOT_IN_SECTION'],
        ['grade:G-BIO', 'GRADE_COURSE_NOT_IN_SECTION'],
        ['grade:G-OLD', 'GRADE_PERIOD_NOT_IN_YEAR'],
      ], // in the order read
    });
    for (const other of seen.slice(1)) expect(other).to.deep.equal(seen[0]);
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
        { enrollment_id: 'E-0', student_user_id: 'U-E-0', compensated: false },
        { enrollment_id: 'E-1', student_user_id: 'U-E-1', compensated: false },
        { enrollment_id: 'E-2', student_user_id: 'U-E-2', compensated: true },
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

  it('user.personal-data.erased: the person’s comments, and their fields in parked events, read as a rebuild reads them (the marker); later, in the same chunk, again', async () => {
    const x = ERASED_MARKER;
    const base = { courseId: 'MATH', periodId: 'T1', evaluationType: 'EXAM' as const, maxScore: 20 };
    const grade = (gradeId: string, studentUserId: string, sectionId: string, comment: string, id: string) =>
      anEvent('grade.recorded', { ...base, gradeId, studentUserId, sectionId, score: 10, comment }, fixedIds(id));
    /** S-1's grade, competency and parked grade with its correction (S-1 is not in SEC-2), S-2's grade and parked grade. */
    const records = (note: (v: string) => string): Ready[] => [
      ...enrolled([
        ['S-1', 'SEC-1'],
        ['S-2', 'SEC-1'],
      ]),
      ...[
        byTeacher(grade('G-1', 'S-1', 'SEC-1', note('home trouble'), 'e-1')),
        grade('G-2', 'S-2', 'SEC-1', 'S-2 fine', 'e-2'),
        anEvent(
          'competency.evaluated',
          { evaluationId: 'EV-1', studentUserId: 'S-1', sectionId: 'SEC-1', comment: note('shy') },
          fixedIds('e-3'),
        ),
        byTeacher(grade('G-3', 'S-1', 'SEC-2', note('parked'), 'e-4')),
        anEvent(
          'grade.updated',
          { courseId: 'MATH', periodId: 'T1', gradeId: 'G-3', studentUserId: 'S-1', sectionId: 'SEC-2', newScore: 11, reason: note('why') },
          fixedIds('e-5'),
        ),
        grade('G-4', 'S-2', 'SEC-2', 'S-2 parked', 'e-6'),
      ].map((event, offset) => ({ event, position: { topic: 'grades-events', partition: 0, offset } })),
    ];
    const read = async (schema: string) => ({
      ...(await content(schema)),
      competencies: await rows(schema, 'competencies', 'evaluation_id'),
      parked: await rows(schema, 'parked_events', 'event_id').then((r) =>
        r.map((x): unknown => ({ ...(x as object), parked_at: undefined })),
      ),
    });
    /** Each personal value kept: grades' comments, competencies' comments, the comment or reason and the address of each parked event. */
    const personal = async (schema: string) => {
      const all = await read(schema);
      return {
        grades: all.grades.map((r) => [(r as { grade_id: string }).grade_id, (r as { comment: string | null }).comment]),
        competencies: all.competencies.map((r) => (r as { comment: string | null }).comment),
        parked: all.parked.map((r) => {
          const e = (r as { event: SchoolEvent }).event;
          const p = e.payload as { comment?: string; reason?: string };
          return [e.eventId, p.comment ?? p.reason, e.metadata.ipAddress];
        }),
      };
    };
    const live = await erasedAsRebuilt({ store, apply, records, read });
    expect(await personal(live.schema)).to.deep.equal({
      grades: [
        ['G-1', x],
        ['G-2', 'S-2 fine'],
      ],
      competencies: [x],
      parked: [
        ['e-4', x, '10.0.0.7'],
        ['e-5', x, null],
        ['e-6', 'S-2 parked', null],
      ], // the teacher's address is theirs
    });
    // The teacher's erasure reaches the metadata of what they triggered; a grade released afterwards carries the marker.
    await apply(live, [erasureAt('T-1', 2)], 1);
    expect((await personal(live.schema)).parked).to.deep.equal([
      ['e-4', x, x],
      ['e-5', x, null],
      ['e-6', 'S-2 parked', null],
    ]);
    await apply(live, [...school(['SEC-2']), ...onAcademic([completed('S-1', 'SEC-2')], 10)], 1);
    expect((await personal(live.schema)).grades).to.deep.equal([
      ['G-1', x],
      ['G-2', 'S-2 fine'],
      ['G-3', x],
    ]);
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
});
