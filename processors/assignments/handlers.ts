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

/** The school day, in minutes after midnight (RULE_SCHOOL_DAY). */
export interface DaySpan {
  startMinute: number;
  endMinute: number;
}

const clock = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** Rule SCHEDULE_SLOT_INVALID: the slot starts before it ends, within the school day; the field at fault and why. Shared with the API. */
export function slotViolation(
  p: Pick<EventPayloads['schedule.created'], 'startMinute' | 'endMinute'>,
  day: DaySpan,
): { field: 'startMinute' | 'endMinute'; message: string } | undefined {
  if (p.endMinute <= p.startMinute)
    return { field: 'endMinute', message: `slot ${p.startMinute}-${p.endMinute} does not end after it starts` };
  const span = `the school day ${clock(day.startMinute)}-${clock(day.endMinute)}`;
  if (p.startMinute < day.startMinute) return { field: 'startMinute', message: `slot starts at minute ${p.startMinute}, before ${span}` };
  if (p.endMinute > day.endMinute) return { field: 'endMinute', message: `slot ends at minute ${p.endMinute}, after ${span}` };
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
