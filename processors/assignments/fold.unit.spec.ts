import { expect } from 'chai';
import { anEvent } from '../testing/gwt';
import { RuleViolationError } from '../runtime/errors';
import { emptyState, foldAssignments } from './fold';

describe('assignments fold', () => {
  const rules = { maxWeeklyHours: 10, schoolDay: { startMinute: 7 * 60, endMinute: 18 * 60 } };
  const enrolled = (sectionId: string, timestamp: string) => ({
    ...anEvent('student.enrolled', {
      enrollmentId: `ENR-${timestamp}`,
      studentUserId: 'S-1',
      sectionId,
      academicYearId: '2025',
      enrollmentDate: '2025-09-01',
      previousInstitution: null,
    }),
    timestamp,
  });
  const conflict = (conflictingScheduleId: string, timestamp: string) => ({
    ...anEvent('schedule.conflict.detected', {
      scheduleId: 'SCH-2',
      conflictingScheduleId,
      conflictType: 'TEACHER_DOUBLE_BOOKED',
      teacherUserId: 'T-1',
      sectionId: 'SEC-1',
      dayOfWeek: 'MONDAY',
      startMinute: 480,
      endMinute: 540,
    }),
    timestamp,
  });

  it('given enrollments of a section in any order: its earliest enrollment', () => {
    const state = emptyState();
    for (const e of [
      enrolled('SEC-1', '2025-09-02T08:00:00.000Z'),
      enrolled('SEC-1', '2025-09-01T08:00:00.000Z'),
      enrolled('SEC-2', '2025-09-03T08:00:00.000Z'),
      enrolled('SEC-1', '2025-09-05T08:00:00.000Z'),
    ])
      foldAssignments(state, e, rules);
    expect([...state.eligible]).to.deep.equal([
      ['SEC-1', '2025-09-01T08:00:00.000Z'],
      ['SEC-2', '2025-09-03T08:00:00.000Z'],
    ]);
  });

  it('given the same conflict twice: one row, from its first detection', () => {
    const state = emptyState();
    for (const e of [
      conflict('SCH-1', '2025-09-01T08:00:00.000Z'),
      conflict('SCH-1', '2025-09-02T08:00:00.000Z'),
      conflict('SCH-3', '2025-09-02T08:00:00.000Z'),
    ])
      foldAssignments(state, e, rules);
    expect([...state.conflicts.values()]).to.deep.equal([
      {
        scheduleId: 'SCH-2',
        conflictingScheduleId: 'SCH-1',
        conflictType: 'TEACHER_DOUBLE_BOOKED',
        detectedAt: '2025-09-01T08:00:00.000Z',
      },
      {
        scheduleId: 'SCH-2',
        conflictingScheduleId: 'SCH-3',
        conflictType: 'TEACHER_DOUBLE_BOOKED',
        detectedAt: '2025-09-02T08:00:00.000Z',
      },
    ]);
  });

  it("a workload after every assignment change, over the chunk's and the loaded assignments", () => {
    const state = emptyState();
    state.assignments.set('A-0', {
      assignmentId: 'A-0',
      teacherUserId: 'T-1',
      sectionId: 'SEC-0',
      courseId: 'ART',
      weeklyHours: 4,
      startDate: '2025-03-03',
      active: true,
      removedReason: null,
    });
    const assign = (assignmentId: string, weeklyHours: number) =>
      anEvent('teacher.assigned.to.course', { assignmentId, teacherUserId: 'T-1', sectionId: 'SEC-1', courseId: 'MATH', weeklyHours });
    const hours = (specs: Array<{ payload: unknown }>) =>
      specs.map((x) => x.payload as { weeklyHours: number; assignmentCount: number; overloaded: boolean });
    expect(hours(foldAssignments(state, assign('A-1', 5), rules))).to.deep.include.members([
      { teacherUserId: 'T-1', weeklyHours: 9, maxWeeklyHours: 10, overloaded: false, assignmentCount: 2 },
    ]);
    expect(hours(foldAssignments(state, assign('A-2', 3), rules))[0]).to.include({ weeklyHours: 12, overloaded: true, assignmentCount: 3 });
    const removed = anEvent('teacher.assignment.removed', { assignmentId: 'A-0', teacherUserId: 'T-1', reason: 'moved' });
    expect(hours(foldAssignments(state, removed, rules))[0]).to.include({ weeklyHours: 8, overloaded: false, assignmentCount: 2 });
    expect(state.assignments.get('A-0')).to.include({ active: false, removedReason: 'moved' });
    expect([...state.changedAssignments].sort()).to.deep.equal(['A-0', 'A-1', 'A-2']);
    expect(state.workloads.get('T-1')).to.include({ weeklyHours: 8, assignmentCount: 2 });
    expect(() => foldAssignments(state, { ...removed, payload: { ...removed.payload, assignmentId: 'A-9' } }, rules)).to.throw(
      RuleViolationError,
      'assignment A-9 does not exist',
    );
  });

  it("a new schedule's conflicts include the chunk's earlier schedules; an invalid slot is refused", () => {
    const state = emptyState();
    const slot = (scheduleId: string, sectionId: string, startMinute: number) =>
      anEvent('schedule.created', {
        scheduleId,
        sectionId,
        teacherUserId: 'T-1',
        dayOfWeek: 'MONDAY',
        startMinute,
        endMinute: startMinute + 60,
      });
    expect(foldAssignments(state, slot('SCH-1', 'SEC-1', 480), rules)).to.deep.equal([]);
    const c = foldAssignments(state, slot('SCH-2', 'SEC-2', 500), rules);
    expect(c.map((x) => [x.type, (x.payload as { conflictType: string }).conflictType])).to.deep.equal([
      ['schedule.conflict.detected', 'TEACHER_DOUBLE_BOOKED'],
    ]);
    expect([...state.newSchedules]).to.deep.equal(['SCH-1', 'SCH-2']);
    expect(() => foldAssignments(state, slot('SCH-3', 'SEC-3', 1030), rules))
      .to.throw(RuleViolationError, 'schedule SCH-3: slot ends at minute 1090, after the school day 07:00-18:00')
      .with.property('rule', 'SCHEDULE_SLOT_INVALID');
    expect([...state.newSchedules], 'the refused one is not kept').to.deep.equal(['SCH-1', 'SCH-2']);
  });
});
