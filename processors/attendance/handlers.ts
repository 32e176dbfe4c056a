import type { Rules } from '../../lib/config';
import type { EventPayloads } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';

/** Attendance: marks, absences, tardies, summaries, pattern alerts; saga step 5. Pure functions. */

const DAY = 86_400_000;
const day = (d: string): number => Date.parse(`${d}T00:00:00Z`);
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Unjustified absence days within the window ending at `date`: the rule fires when the
 * count reaches the threshold exactly, so one pattern raises one alert, and the alert id
 * comes from the student and window end (a replayed or re-emitted alert is the same one).
 */
export function absencePattern(studentUserId: string, sectionId: string, date: string, absenceDates: string[], rules: Rules): EmitSpec[] {
  const to = day(date);
  const from = to - (rules.absenceWindowDays - 1) * DAY;
  const inWindow = new Set(absenceDates.filter((d) => day(d) >= from && day(d) <= to));
  if (inWindow.size !== rules.absencesInWindow) return [];
  return [
    emit('attendance.pattern.alert', {
      alertId: `${studentUserId}:absences:${date}`,
      studentUserId,
      sectionId,
      patternType: 'ABSENCES_IN_WINDOW',
      count: inWindow.size,
      threshold: rules.absencesInWindow,
      fromDate: iso(from),
      toDate: date,
    }),
  ];
}

/** The last day of the calendar month of `date`. */
export const monthEnd = (date: string): string => iso(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)), 0));

/** Tardies in the calendar month of `date`; fires once, when the count reaches the threshold. */
export function tardinessPattern(studentUserId: string, sectionId: string, date: string, tardyDates: string[], rules: Rules): EmitSpec[] {
  const month = date.slice(0, 7);
  const count = tardyDates.filter((d) => d.slice(0, 7) === month).length;
  if (count !== rules.tardiesPerMonth) return [];

  return [
    emit('attendance.pattern.alert', {
      alertId: `${studentUserId}:tardies:${month}`,
      studentUserId,
      sectionId,
      patternType: 'TARDIES_IN_MONTH',
      count,
      threshold: rules.tardiesPerMonth,
      fromDate: `${month}-01`,
      toDate: monthEnd(date),
    }),
  ];
}

/** Step 5: the register needs the section's schedule. */
export function initializeAttendance(p: EventPayloads['enrollment.grades.initialized'], scheduleCount: number): EmitSpec[] {
  if (scheduleCount === 0) {
    return [
      emit('enrollment.attendance.initialization.failed', {
        enrollmentId: p.enrollmentId,
        sectionId: p.sectionId,
        reason: 'NO_SCHEDULE',
        message: `section ${p.sectionId} has no schedule`,
      }),
    ];
  }
  return [
    emit('enrollment.attendance.initialized', { enrollmentId: p.enrollmentId, studentUserId: p.studentUserId, sectionId: p.sectionId }),
  ];
}
