import type { DayOfWeek, EventPayloads } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';

/** Assignments: teacher assignments, schedules, conflict detection, workload. Pure functions. */

export interface Slot {
  scheduleId: string;
  sectionId: string;
  teacherUserId: string;
  dayOfWeek: DayOfWeek;
  startMinute: number;
  endMinute: number;
}

const overlaps = (a: Slot, b: Slot): boolean => a.dayOfWeek === b.dayOfWeek && a.startMinute < b.endMinute && b.startMinute < a.endMinute;

/** A new schedule double-books its teacher or its section's slot: one event per conflicting schedule and kind. */
export function detectConflicts(created: Slot, existing: Slot[]): EmitSpec[] {
  const out: EmitSpec[] = [];
  for (const other of existing) {
    if (other.scheduleId === created.scheduleId || !overlaps(created, other)) continue;
    const kinds = [
      ...(other.teacherUserId === created.teacherUserId ? (['TEACHER_DOUBLE_BOOKED'] as const) : []),
      ...(other.sectionId === created.sectionId ? (['SECTION_SLOT_TAKEN'] as const) : []),
    ];
    for (const conflictType of kinds) {
      out.push(
        emit(
          'schedule.conflict.detected',
          {
            scheduleId: created.scheduleId,
            conflictingScheduleId: other.scheduleId,
            conflictType,
            teacherUserId: created.teacherUserId,
            sectionId: created.sectionId,
            dayOfWeek: created.dayOfWeek,
            startMinute: created.startMinute,
            endMinute: created.endMinute,
          },
          `${other.scheduleId}:${conflictType}`,
        ),
      );
    }
  }
  return out;
}

export function validSlot(p: EventPayloads['schedule.created']): string | undefined {
  if (p.startMinute < 0 || p.endMinute > 24 * 60 || p.endMinute <= p.startMinute)
    return `slot ${p.startMinute}-${p.endMinute} is not a valid time range`;
  return undefined;
}

/** After every assignment change: the teacher's weekly hours, flagged above the maximum. */
export function workload(teacherUserId: string, activeHours: number[], maxWeeklyHours: number): EmitSpec {
  const weeklyHours = activeHours.reduce((s, h) => s + h, 0);
  return emit('workload.updated', {
    teacherUserId,
    weeklyHours,
    maxWeeklyHours,
    overloaded: weeklyHours > maxWeeklyHours,
    assignmentCount: activeHours.length,
  });
}
