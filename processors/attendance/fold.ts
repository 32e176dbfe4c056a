import type { Rules } from '../../lib/config';
import type { AttendanceStatus, EventPayloads } from '../../schemas/generated/events';
import type { EmitSpec } from '../shared/emit';
import type { RuleCode } from '../shared/invariants';
import { latestToday } from './days';
import { absencePattern, initializeAttendance, tardinessPattern } from './handlers';

/**
 * Attendance on load → fold → flush: pure functions over the chunk's loaded state. Summaries move by
 * deltas (a re-mark moves one count from the old status to the new), so no event re-reads a student's
 * history; the pattern rules look only at their window (absences) or month (tardies), which the load
 * brings in for the students concerned.
 */

export interface Mark {
  attendanceId: string;
  studentUserId: string;
  sectionId: string;
  date: string;
  status: AttendanceStatus;
  markedBy: string;
}
export interface Absence {
  absenceId: string;
  studentUserId: string;
  sectionId: string;
  date: string;
  reason: string | null;
  recordedBy: string;
  justified: boolean;
  justification: string | null;
}
export interface Tardy {
  tardinessId: string;
  studentUserId: string;
  sectionId: string;
  date: string;
  minutesLate: number;
}
export interface Summary {
  studentUserId: string;
  sectionId: string;
  present: number;
  absent: number;
  late: number;
  excused: number;
  unjustifiedAbsences: number;
  tardies: number;
  updatedAt: string;
}

/** A mark's day: one mark per student, section and date (a second is a correction of the first). */
export const dayKey = (m: { studentUserId: string; sectionId: string; date: string }): string =>
  `${m.studentUserId}\u0000${m.sectionId}\u0000${m.date}`;

/** Puts a mark into the chunk's state, indexed by id and by day. */
export function putMark(s: AttendanceState, m: Mark): void {
  s.marks.set(m.attendanceId, m);
  if (!s.markByDay.has(dayKey(m))) s.markByDay.set(dayKey(m), m.attendanceId);
}

/** A summary is a student's in one section: a transfer keeps both histories. */
export const summaryKey = (student: string, section: string): string => `${student}\u0000${section}`;

export interface AttendanceState {
  marks: Map<string, Mark>;
  /** dayKey → the id of the day's mark. */
  markByDay: Map<string, string>;
  absences: Map<string, Absence>;
  tardies: Map<string, Tardy>;
  /** By summaryKey(student, section). */
  summaries: Map<string, Summary>;
  changed: { marks: Set<string>; absences: Set<string>; tardies: Set<string>; summaries: Set<string> };
  /** Schedule ids of the sections the chunk names (loaded and added); the new ones. */
  schedules: Map<string, Set<string>>;
  newSchedules: Array<{ sectionId: string; scheduleId: string }>;
  /** Registers opened (saga step 5), by enrollment. */
  registers: Map<string, { enrollmentId: string; studentUserId: string; sectionId: string; openedAt: string }>;
}

export const emptyState = (): AttendanceState => ({
  marks: new Map(),
  markByDay: new Map(),
  absences: new Map(),
  tardies: new Map(),
  summaries: new Map(),
  changed: { marks: new Set(), absences: new Set(), tardies: new Set(), summaries: new Set() },
  schedules: new Map(),
  newSchedules: [],
  registers: new Map(),
});

/** A section's schedule (what step 5 needs to know: whether the section has one). */
export function foldSchedule(s: AttendanceState, p: EventPayloads['schedule.created']): Folded {
  const ids = s.schedules.get(p.sectionId) ?? new Set<string>();
  s.schedules.set(p.sectionId, ids);
  if (!ids.has(p.scheduleId)) {
    ids.add(p.scheduleId);
    s.newSchedules.push({ sectionId: p.sectionId, scheduleId: p.scheduleId });
  }
  return { emit: [] };
}

/**
 * Step 5's decision: a register needs a schedule. The register itself is opened from the outcome event
 * (foldRegister), live and in a rebuild alike, so a rebuild never decides again from schedules another
 * interleaving may not have read yet.
 */
export function foldGradesInitialized(s: AttendanceState, p: EventPayloads['enrollment.grades.initialized']): Folded {
  return { emit: initializeAttendance(p, s.schedules.get(p.sectionId)?.size ?? 0) };
}

/** The register of an enrollment (a transfer moves it to the new section). */
export function foldRegister(s: AttendanceState, p: EventPayloads['enrollment.attendance.initialized'], at: string): Folded {
  s.registers.set(p.enrollmentId, { enrollmentId: p.enrollmentId, studentUserId: p.studentUserId, sectionId: p.sectionId, openedAt: at });
  return { emit: [] };
}

export type Folded = { emit: EmitSpec[] } | { violation: string; rule: RuleCode };

const COUNT: Record<AttendanceStatus, 'present' | 'absent' | 'late' | 'excused'> = {
  PRESENT: 'present',
  ABSENT: 'absent',
  LATE: 'late',
  EXCUSED: 'excused',
};

/**
 * The student's summary in the section after `change`, stamped with the latest time of the events that moved it:
 * the latest, not the last applied, since a released event can be applied after a later one (live and a rebuild
 * release in different orders events that waited on different facts).
 */
function touch(s: AttendanceState, student: string, section: string, at: string, change: (x: Summary) => void): void {
  const key = summaryKey(student, section);
  const x = s.summaries.get(key) ?? {
    studentUserId: student,
    sectionId: section,
    present: 0,
    absent: 0,
    late: 0,
    excused: 0,
    unjustifiedAbsences: 0,
    tardies: 0,
    updatedAt: at,
  };
  const next = { ...x, updatedAt: x.updatedAt > at ? x.updatedAt : at };
  change(next);
  s.summaries.set(key, next);
  s.changed.summaries.add(key);
}

/**
 * Absent days of a student in [from, to]: an unjustified absence record, or an ABSENT mark with no
 * justified absence that day (the same definition the per-event projection queried).
 */
export function absentDays(s: AttendanceState, student: string, from: string, to: string): string[] {
  const inRange = (d: string): boolean => d >= from && d <= to;
  const justified = new Set<string>();
  const days = new Set<string>();
  for (const a of s.absences.values()) {
    if (a.studentUserId !== student || !inRange(a.date)) continue;
    if (a.justified) justified.add(a.date);
    else days.add(a.date);
  }
  for (const m of s.marks.values())
    if (m.studentUserId === student && m.status === 'ABSENT' && inRange(m.date) && !justified.has(m.date)) days.add(m.date);
  return [...days];
}

/** First day of the absence window ending at `date`. */
export function windowStart(date: string, rules: Pick<Rules, 'absenceWindowDays'>): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - (rules.absenceWindowDays - 1) * 86_400_000).toISOString().slice(0, 10);
}

type Violation = Extract<Folded, { violation: string }>;

/** Rule ATTENDANCE_MARK_FIXED: a mark with the id of `own` (stored, or parked before it) keeps its student, date and section. */
export function markFixedViolation(
  own: Omit<Mark, 'attendanceId'> | undefined,
  p: EventPayloads['attendance.marked'],
): Violation | undefined {
  if (own && (own.studentUserId !== p.studentUserId || own.date !== p.date || own.sectionId !== p.sectionId))
    return {
      violation: `attendance ${p.attendanceId} is ${own.studentUserId}'s mark of ${own.date} in ${own.sectionId}; a correction cannot move it`,
      rule: 'ATTENDANCE_MARK_FIXED',
    };
  return undefined;
}

/**
 * Rule ATTENDANCE_DATE_IN_FUTURE, by the event's own clock: dated after the day its timestamp falls on anywhere
 * (UTC+14), as the API decides it by its clock when it publishes. A rebuild a year later decides the same.
 */
export function futureDateViolation(e: { timestamp: string; payload: { date: string } }): Violation | undefined {
  const today = latestToday(new Date(e.timestamp));
  return e.payload.date > today
    ? {
        violation: `dated ${e.payload.date}, after ${today}, the latest today when it was published (${e.timestamp})`,
        rule: 'ATTENDANCE_DATE_IN_FUTURE',
      }
    : undefined;
}

/** Rule TARDINESS_MINUTES. */
export function tardinessViolation(p: EventPayloads['tardiness.recorded']): Violation | undefined {
  return p.minutesLate <= 0 ? { violation: `tardiness ${p.tardinessId}: minutesLate must be > 0`, rule: 'TARDINESS_MINUTES' } : undefined;
}

/** Rule ABSENCE_JUSTIFY_UNKNOWN: the absence (stored, or parked before it) exists and is the same student's. */
export function justifyViolation(
  a: Pick<Absence, 'studentUserId'> | undefined,
  p: EventPayloads['absence.justified'],
): Violation | undefined {
  if (!a) return { violation: `absence ${p.absenceId} does not exist`, rule: 'ABSENCE_JUSTIFY_UNKNOWN' };
  if (a.studentUserId !== p.studentUserId)
    return { violation: `absence ${p.absenceId} is ${a.studentUserId}'s, not ${p.studentUserId}'s`, rule: 'ABSENCE_JUSTIFY_UNKNOWN' };
  return undefined;
}

export function foldMarked(s: AttendanceState, p: EventPayloads['attendance.marked'], at: string, rules: Rules): Folded {
  const own = s.marks.get(p.attendanceId);
  const fixed = markFixedViolation(own, p);
  if (fixed) return fixed;
  // One mark per student, section and date: a second mark of the day (another id) corrects the first.
  const sameDay = own ? undefined : s.markByDay.get(dayKey(p));
  const before = own ?? (sameDay ? s.marks.get(sameDay) : undefined);
  const id = before?.attendanceId ?? p.attendanceId;
  putMark(s, { ...p, attendanceId: id });
  s.changed.marks.add(id);
  touch(s, p.studentUserId, p.sectionId, at, (x) => {
    if (before) x[COUNT[before.status]] -= 1;
    x[COUNT[p.status]] += 1;
  });
  if (p.status !== 'ABSENT') return { emit: [] };
  return {
    emit: absencePattern(p.studentUserId, p.sectionId, p.date, absentDays(s, p.studentUserId, windowStart(p.date, rules), p.date), rules),
  };
}

export function foldAbsence(s: AttendanceState, p: EventPayloads['absence.recorded'], at: string, rules: Rules): Folded {
  if (!s.absences.has(p.absenceId)) {
    s.absences.set(p.absenceId, { ...p, reason: p.reason ?? null, justified: false, justification: null });
    s.changed.absences.add(p.absenceId);
    touch(s, p.studentUserId, p.sectionId, at, (x) => (x.unjustifiedAbsences += 1));
  } else touch(s, p.studentUserId, p.sectionId, at, () => undefined); // recorded before: only stamped, as the recount did
  return {
    emit: absencePattern(p.studentUserId, p.sectionId, p.date, absentDays(s, p.studentUserId, windowStart(p.date, rules), p.date), rules),
  };
}

export function foldTardiness(s: AttendanceState, p: EventPayloads['tardiness.recorded'], at: string, rules: Rules): Folded {
  const minutes = tardinessViolation(p);
  if (minutes) return minutes;
  const fresh = !s.tardies.has(p.tardinessId);
  if (fresh) {
    s.tardies.set(p.tardinessId, {
      tardinessId: p.tardinessId,
      studentUserId: p.studentUserId,
      sectionId: p.sectionId,
      date: p.date,
      minutesLate: p.minutesLate,
    });
    s.changed.tardies.add(p.tardinessId);
  }
  touch(s, p.studentUserId, p.sectionId, at, (x) => (x.tardies += fresh ? 1 : 0));
  const month = p.date.slice(0, 7);
  const dates = [...s.tardies.values()]
    .filter((t) => t.studentUserId === p.studentUserId && t.date.slice(0, 7) === month)
    .map((t) => t.date);
  return { emit: tardinessPattern(p.studentUserId, p.sectionId, p.date, dates, rules) };
}

export function foldJustified(s: AttendanceState, p: EventPayloads['absence.justified'], at: string): Folded {
  const a = s.absences.get(p.absenceId);
  const unknown = justifyViolation(a, p);
  if (unknown || !a) return unknown!;
  s.absences.set(p.absenceId, { ...a, justified: true, justification: p.justification });
  s.changed.absences.add(p.absenceId);
  // An alert already raised stays in the record; later counts exclude the justified day.
  touch(s, a.studentUserId, a.sectionId, at, (x) => (x.unjustifiedAbsences -= a.justified ? 0 : 1));
  return { emit: [] };
}
