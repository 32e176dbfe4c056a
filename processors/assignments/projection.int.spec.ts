import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { readStoreGauge } from '../runtime/store-gauges';
import { erasedAsRebuilt, fixedIds } from '../testing/erasure';
import { anEvent } from '../testing/gwt';
import { throwawayProjection } from '../testing/pg-projection';
import { createAssignments, migrations } from '.';

/** The assignments projection on throwaway schemas of the real PostgreSQL: exact rows, and chunking never changes them. */
describe('assignments projection (enrollments and conflicts folded; real PostgreSQL)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const { pool, store, apply } = throwawayProjection(config, createAssignments(config.rules), migrations);
  const rows = async (schema: string, sql: string): Promise<unknown[]> =>
    (await pool().query<Record<string, unknown>>(sql.replace(/\bS\./g, `"${schema}".`))).rows;
  const at = (day: number, hour = 8): Partial<SchoolEvent> => ({
    timestamp: `2025-09-0${day}T${String(hour).padStart(2, '0')}:00:00.000Z`,
  });
  const enrolled = (sectionId: string, day: number, hour?: number) =>
    anEvent('student.enrolled', { sectionId, enrollmentId: `ENR-${sectionId}-${day}-${hour ?? 8}` }, at(day, hour));
  const conflict = (scheduleId: string, conflictingScheduleId: string, day: number) =>
    anEvent('schedule.conflict.detected', { scheduleId, conflictingScheduleId, conflictType: 'TEACHER_DOUBLE_BOOKED' }, at(day));
  const records = (events: SchoolEvent[], partitions = 1): Ready[] => {
    const offsets = Array.from({ length: partitions }, () => 0);
    return events.map((event, i) => ({
      event,
      position: { topic: 'assignment-events', partition: i % partitions, offset: offsets[i % partitions]!++ },
    }));
  };
  /** The facts the gate needs: teachers created as TEACHER, and MATH one of the sections' courses. */
  const teachers = (...ids: string[]) =>
    ids.map((userId) => anEvent('user.created', { userId, userType: 'TEACHER', roles: ['TEACHER'] }, fixedIds(`u-${userId}`)));
  const courses = (...sections: string[]) =>
    sections.map((sectionId) => anEvent('course.assigned', { sectionId, courseId: 'MATH' }, fixedIds(`c-${sectionId}`)));
  const folded = async (schema: string) => ({
    eligible: await rows(
      schema,
      `select section_id, to_json(first_enrollment_at) #>> '{}' ts from S.eligible_sections order by section_id`,
    ),
    conflicts: await rows(
      schema,
      `select schedule_id, conflicting_schedule_id, conflict_type, to_json(detected_at) #>> '{}' ts from S.conflicts order by 1, 2, 3`,
    ),
  });

  it('given assignments, schedules, a conflict and enrollments: exactly these rows and derived events', async () => {
    const s = await store();
    const teacher = { teacherUserId: 'T-1', courseId: 'MATH' };
    const slot = { ...teacher, dayOfWeek: 'MONDAY' as const, room: null };
    const emitted = await apply(
      s,
      records([
        ...teachers('T-1'),
        ...courses('SEC-1', 'SEC-2'),
        anEvent('teacher.assigned.to.course', { ...teacher, assignmentId: 'A-1', sectionId: 'SEC-1', weeklyHours: 10 }),
        anEvent('teacher.assigned.to.course', { ...teacher, assignmentId: 'A-2', sectionId: 'SEC-2', weeklyHours: 12 }),
        anEvent('teacher.assignment.removed', { ...teacher, assignmentId: 'A-1', sectionId: 'SEC-1', reason: 'moved' }),
        anEvent('schedule.created', { ...slot, scheduleId: 'SCH-1', sectionId: 'SEC-1', startMinute: 480, endMinute: 570 }),
        anEvent('schedule.created', { ...slot, scheduleId: 'SCH-2', sectionId: 'SEC-2', startMinute: 540, endMinute: 600 }),
        conflict('SCH-2', 'SCH-1', 3),
        conflict('SCH-2', 'SCH-1', 4), // the same conflict reported again: recorded once, from its first report
        enrolled('SEC-1', 5),
        enrolled('SEC-1', 2),
        enrolled('SEC-2', 6),
      ]),
      11, // SEC-1's later enrollment is flushed before its earlier one arrives in the next chunk
    );
    expect(emitted.map((e) => [e.eventType, e.payload])).to.deep.equal([
      [
        'workload.updated',
        { teacherUserId: 'T-1', weeklyHours: 10, maxWeeklyHours: config.rules.maxWeeklyHours, overloaded: false, assignmentCount: 1 },
      ],
      [
        'workload.updated',
        { teacherUserId: 'T-1', weeklyHours: 22, maxWeeklyHours: config.rules.maxWeeklyHours, overloaded: false, assignmentCount: 2 },
      ],
      [
        'workload.updated',
        { teacherUserId: 'T-1', weeklyHours: 12, maxWeeklyHours: config.rules.maxWeeklyHours, overloaded: false, assignmentCount: 1 },
      ],
      [
        'schedule.conflict.detected',
        {
          scheduleId: 'SCH-2',
          conflictingScheduleId: 'SCH-1',
          conflictType: 'TEACHER_DOUBLE_BOOKED',
          teacherUserId: 'T-1',
          sectionId: 'SEC-2',
          dayOfWeek: 'MONDAY',
          startMinute: 540,
          endMinute: 600,
        },
      ],
    ]);
    expect(await folded(s.schema)).to.deep.equal({
      eligible: [
        { section_id: 'SEC-1', ts: '2025-09-02T08:00:00+00:00' },
        { section_id: 'SEC-2', ts: '2025-09-06T08:00:00+00:00' },
      ],
      conflicts: [
        { schedule_id: 'SCH-2', conflicting_schedule_id: 'SCH-1', conflict_type: 'TEACHER_DOUBLE_BOOKED', ts: '2025-09-03T08:00:00+00:00' },
      ],
    });
    expect(await rows(s.schema, 'select assignment_id, active, removed_reason from S.assignments order by 1')).to.deep.equal([
      { assignment_id: 'A-1', active: false, removed_reason: 'moved' },
      { assignment_id: 'A-2', active: true, removed_reason: null },
    ]);
    expect(await rows(s.schema, 'select teacher_user_id, weekly_hours, assignment_count, overloaded from S.workloads')).to.deep.equal([
      { teacher_user_id: 'T-1', weekly_hours: 12, assignment_count: 1, overloaded: false },
    ]);
  });

  it('one chunk of everything gives the same rows as one chunk per event, and as another partition interleaving', async () => {
    const events: SchoolEvent[] = [];
    for (let i = 0; i < 60; i++) events.push(enrolled(`SEC-${i % 7}`, 1 + (i % 9), 8 + (i % 5)));
    for (let i = 0; i < 20; i++) events.push(conflict(`SCH-${i % 4}`, `SCH-${(i % 4) + 10}`, 1 + (i % 9)));
    const all = records(events, 3);
    const whole = await store();
    const single = await store();
    const interleaved = await store();
    await apply(whole, all, 1000);
    await apply(single, all, 1);
    await apply(
      interleaved,
      [2, 1, 0].flatMap((p) => all.filter((r) => r.position.partition === p)),
      13,
    );
    const expected = await folded(single.schema);
    expect(expected.eligible).to.have.length(7);
    expect(await folded(whole.schema)).to.deep.equal(expected);
    // Which report of a conflict comes first depends on the interleaving; the earliest enrollment does not.
    const interleavedRows = await folded(interleaved.schema);
    expect(interleavedRows.eligible).to.deep.equal(expected.eligible);
    expect(interleavedRows.conflicts.map((c) => ({ ...(c as object), ts: undefined }))).to.deep.equal(
      expected.conflicts.map((c) => ({ ...(c as object), ts: undefined })),
    );
  });

  describe("the gate: an assignment or schedule waits for its teacher, a TEACHER, and its course, one of its section's", () => {
    const on = (topic: string, events: SchoolEvent[]): Ready[] =>
      events.map((event, offset) => ({ event, position: { topic, partition: 0, offset } }));
    const t1 = { teacherUserId: 'T-1', sectionId: 'SEC-1', courseId: 'MATH' };
    const slot = { dayOfWeek: 'MONDAY' as const, startMinute: 480, endMinute: 540, room: null };
    const work = on('assignment-events', [
      anEvent('teacher.assigned.to.course', { ...t1, assignmentId: 'A-1', weeklyHours: 6 }, fixedIds('a-1')),
      anEvent('teacher.assignment.removed', { ...t1, assignmentId: 'A-1', reason: 'moved' }, fixedIds('r-1')),
      anEvent('teacher.assigned.to.course', { ...t1, assignmentId: 'A-2', weeklyHours: 4 }, fixedIds('a-2')),
      anEvent('schedule.created', { ...t1, ...slot, scheduleId: 'SCH-1' }, fixedIds('s-1')),
      // ART is never one of SEC-1's courses, and S-9 is a STUDENT: both stay parked, for an operator.
      anEvent(
        'schedule.created',
        { ...t1, ...slot, courseId: 'ART', scheduleId: 'SCH-ART', startMinute: 600, endMinute: 660 },
        fixedIds('s-2'),
      ),
      anEvent('teacher.assigned.to.course', { ...t1, teacherUserId: 'S-9', assignmentId: 'A-S', weeklyHours: 2 }, fixedIds('a-s')),
    ]);
    const facts = [
      ...on('user-events', [
        ...teachers('T-1'),
        anEvent('user.created', { userId: 'S-9', userType: 'STUDENT', roles: ['STUDENT'] }, fixedIds('u-S-9')),
      ]),
      ...on('academic-events', courses('SEC-1')),
    ];
    const state = async (schema: string) => ({
      assignments: await rows(schema, 'select assignment_id, active, removed_reason from S.assignments order by 1'),
      schedules: await rows(schema, 'select schedule_id from S.schedules order by 1'),
      workloads: await rows(schema, 'select teacher_user_id, weekly_hours, assignment_count from S.workloads order by 1'),
      parked: await rows(schema, 'select subject_id, rule from S.parked_events order by source_topic, source_offset'),
    });

    it('parked until the facts come, then applied in the order read; the same rows in any order and chunking', async () => {
      const early = await store();
      expect(await apply(early, work, 3), 'nothing applied, nothing emitted').to.deep.equal([]);
      expect(await state(early.schema)).to.deep.equal({
        assignments: [],
        schedules: [],
        workloads: [],
        parked: [
          { subject_id: 'assignment:A-1', rule: 'TEACHER_NOT_A_TEACHER' },
          { subject_id: 'assignment:A-1', rule: 'TEACHER_NOT_A_TEACHER' }, // the removal, behind its assignment
          { subject_id: 'assignment:A-2', rule: 'TEACHER_NOT_A_TEACHER' },
          { subject_id: 'schedule:SCH-1', rule: 'TEACHER_NOT_A_TEACHER' },
          { subject_id: 'schedule:SCH-ART', rule: 'TEACHER_NOT_A_TEACHER' },
          { subject_id: 'assignment:A-S', rule: 'TEACHER_NOT_A_TEACHER' },
        ],
      });
      // T-1 known, SEC-1's courses not yet: everything of T-1 moves to the course rule.
      await apply(early, facts.slice(0, 1), 1);
      expect((await state(early.schema)).parked.map((r) => (r as { rule: string }).rule)).to.deep.equal([
        ...Array<string>(5).fill('ASSIGNMENT_COURSE_NOT_IN_SECTION'),
        'TEACHER_NOT_A_TEACHER',
      ]);
      const released = await apply(early, facts.slice(1), 1);
      expect(released.map((e) => [e.eventType, (e.payload as { weeklyHours?: number }).weeklyHours])).to.deep.equal([
        ['workload.updated', 6],
        ['workload.updated', 0], // A-1 removed, in the order read
        ['workload.updated', 4],
      ]);
      const expected = {
        assignments: [
          { assignment_id: 'A-1', active: false, removed_reason: 'moved' },
          { assignment_id: 'A-2', active: true, removed_reason: null },
        ],
        schedules: [{ schedule_id: 'SCH-1' }],
        workloads: [{ teacher_user_id: 'T-1', weekly_hours: 4, assignment_count: 1 }],
        parked: [
          { subject_id: 'schedule:SCH-ART', rule: 'ASSIGNMENT_COURSE_NOT_IN_SECTION' },
          { subject_id: 'assignment:A-S', rule: 'TEACHER_NOT_A_TEACHER' },
        ],
      };
      expect(await state(early.schema)).to.deep.equal(expected);
      for (const [records, size] of [
        [[...facts, ...work], 100],
        [[...work, ...facts], 100],
        [[...facts.slice(2), ...work.slice(0, 3), ...facts.slice(0, 2), ...work.slice(3)], 2],
      ] as const) {
        const s = await store();
        await apply(s, [...records], size);
        expect(await state(s.schema), `${records.map((r) => r.event?.eventId).join(' ')} in chunks of ${size}`).to.deep.equal(expected);
      }
    });

    it('a schedule with an impossible slot is refused on arrival, whatever it waits for; the processor counts what it parks', async () => {
      const s = await store();
      const bad = anEvent('schedule.created', {
        ...t1,
        ...slot,
        teacherUserId: 'T-404',
        scheduleId: 'SCH-X',
        startMinute: 600,
        endMinute: 540,
      });
      const error = await apply(s, on('assignment-events', [bad]), 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'RULE_VIOLATION' });
      await apply(s, work.slice(4), 1);
      const [count] = createAssignments(config.rules).gauges!;
      expect(count!.name).to.equal('school_events_assignments_parked_events');
      expect(await readStoreGauge(pool(), s.schema, count!)).to.deep.equal([
        { labels: { rule: 'TEACHER_NOT_A_TEACHER', stale: 'false' }, value: 2 },
      ]);
    });
  });

  it('user.personal-data.erased: a teacher’s removal reasons read as a rebuild reads them (the marker); another teacher’s stay', async () => {
    const removal = (teacherUserId: string, assignmentId: string, reason: string) => [
      anEvent(
        'teacher.assigned.to.course',
        { teacherUserId, courseId: 'MATH', assignmentId, sectionId: 'SEC-1', weeklyHours: 4 },
        fixedIds(`a-${assignmentId}`),
      ),
      anEvent(
        'teacher.assignment.removed',
        { teacherUserId, courseId: 'MATH', assignmentId, sectionId: 'SEC-1', reason },
        fixedIds(`r-${assignmentId}`),
      ),
    ];
    const read = (schema: string) =>
      rows(schema, 'select assignment_id, teacher_user_id, active, removed_reason from S.assignments order by 1');
    const live = await erasedAsRebuilt({
      store,
      apply,
      subject: 'T-1',
      records: (note) =>
        records([
          ...teachers('T-1', 'T-2'),
          ...courses('SEC-1'),
          ...removal('T-1', 'A-1', note('burnout')),
          ...removal('T-2', 'A-2', 'moved'),
          ...removal('T-1', 'A-3', note('family')),
        ]),
      read,
    });
    expect(await read(live.schema)).to.deep.equal([
      { assignment_id: 'A-1', teacher_user_id: 'T-1', active: false, removed_reason: ERASED_MARKER },
      { assignment_id: 'A-2', teacher_user_id: 'T-2', active: false, removed_reason: 'moved' },
      { assignment_id: 'A-3', teacher_user_id: 'T-1', active: false, removed_reason: ERASED_MARKER },
    ]);
  });
});
