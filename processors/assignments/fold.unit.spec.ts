import { expect } from 'chai';
import { anEvent } from '../testing/gwt';
import { emptyState, foldAssignments } from './fold';

describe('assignments fold', () => {
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
      foldAssignments(state, e);
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
      foldAssignments(state, e);
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
});
