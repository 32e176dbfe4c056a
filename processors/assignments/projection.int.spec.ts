import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
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
      8, // SEC-1's later enrollment is flushed before its earlier one arrives in the next chunk
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
        records([...removal('T-1', 'A-1', note('burnout')), ...removal('T-2', 'A-2', 'moved'), ...removal('T-1', 'A-3', note('family'))]),
      read,
    });
    expect(await read(live.schema)).to.deep.equal([
      { assignment_id: 'A-1', teacher_user_id: 'T-1', active: false, removed_reason: ERASED_MARKER },
      { assignment_id: 'A-2', teacher_user_id: 'T-2', active: false, removed_reason: 'moved' },
      { assignment_id: 'A-3', teacher_user_id: 'T-1', active: false, removed_reason: ERASED_MARKER },
    ]);
  });
});
