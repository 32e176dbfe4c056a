import type { PoolClient, QueryResultRow } from 'pg';
import type { Rules } from '../../lib/config';
import type { SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { monthEnd } from './handlers';
import {
  emptyState,
  putMark,
  summaryKey,
  windowStart,
  type Absence,
  type AttendanceState,
  type Mark,
  type Summary,
  type Tardy,
} from './fold';

type Folded = SchoolEvent<
  | 'attendance.marked'
  | 'absence.recorded'
  | 'tardiness.recorded'
  | 'absence.justified'
  | 'schedule.created'
  | 'enrollment.grades.initialized'
  | 'enrollment.attendance.initialized'
>;

// Columns as the fold's types name them; the id column first (it selects the rows a chunk names).
const MARK = `attendance_id "attendanceId", student_user_id "studentUserId", section_id "sectionId", status, marked_by "markedBy"`;
const ABSENCE = `absence_id "absenceId", student_user_id "studentUserId", section_id "sectionId", reason, recorded_by "recordedBy", justified, justification`;
const TARDY = `tardiness_id "tardinessId", student_user_id "studentUserId", section_id "sectionId", minutes_late "minutesLate"`;

interface Ranges {
  students: string[];
  from: string[];
  to: string[];
}
/** One [from, to] date range per student, covering every range asked for that student. */
function ranges(wanted: Array<{ student: string; from: string; to: string }>): Ranges {
  const m = new Map<string, { from: string; to: string }>();
  for (const w of wanted) {
    const r = m.get(w.student);
    m.set(w.student, r ? { from: w.from < r.from ? w.from : r.from, to: w.to > r.to ? w.to : r.to } : { from: w.from, to: w.to });
  }
  return { students: [...m.keys()], from: [...m.values()].map((r) => r.from), to: [...m.values()].map((r) => r.to) };
}

/**
 * The rows a chunk names by id, plus its students' rows within their date ranges (`also` filters those),
 * in one query.
 */
async function byIdOrRange<R extends QueryResultRow>(
  tx: PoolClient,
  table: string,
  cols: string,
  ids: string[],
  r: Ranges,
  also = 'true',
): Promise<R[]> {
  const select = `select ${cols}, to_char(date, 'YYYY-MM-DD') "date" from ${table}`;
  const idColumn = cols.slice(0, cols.indexOf(' '));
  const q = await tx.query<R>(
    `${select} where ${idColumn} = any($1::text[])
     union
     ${select}, unnest($2::text[], $3::date[], $4::date[]) k(s, f, t) where ${also} and student_user_id = k.s and date between k.f and k.t`,
    [ids, r.students, r.from, r.to],
  );
  return q.rows;
}

/**
 * Everything a chunk's folded events need, one query per table: the marks, absences and tardies they
 * name by id, the absent days of the absence window (absences) or month (tardies) before each event
 * for the students concerned, and their summaries (every section of theirs).
 */
export async function loadAttendance(tx: PoolClient, events: Folded[], rules: Rules): Promise<AttendanceState> {
  const s = emptyState();
  const markIds: string[] = [];
  const absenceIds: string[] = [];
  const tardyIds: string[] = [];
  const students = new Set<string>();
  const windows: Array<{ student: string; from: string; to: string }> = [];
  const months: Array<{ student: string; from: string; to: string }> = [];
  const sections = new Set<string>();
  for (const e of events) {
    if (e.eventType === 'schedule.created' || e.eventType === 'enrollment.grades.initialized') sections.add(e.payload.sectionId);
    if (
      e.eventType === 'schedule.created' ||
      e.eventType === 'enrollment.grades.initialized' ||
      e.eventType === 'enrollment.attendance.initialized'
    )
      continue;
    const p = e.payload;
    students.add(p.studentUserId);
    switch (e.eventType) {
      case 'attendance.marked':
        markIds.push(e.payload.attendanceId);
        if (e.payload.status === 'ABSENT') windows.push({ student: p.studentUserId, from: windowStart(p.date, rules), to: p.date });
        break;
      case 'absence.recorded':
        absenceIds.push(e.payload.absenceId);
        windows.push({ student: p.studentUserId, from: windowStart(p.date, rules), to: p.date });
        break;
      case 'tardiness.recorded':
        tardyIds.push(e.payload.tardinessId);
        months.push({ student: p.studentUserId, from: `${p.date.slice(0, 7)}-01`, to: monthEnd(p.date) });
        break;
      case 'absence.justified':
        absenceIds.push(e.payload.absenceId);
        break;
    }
  }
  const w = ranges(windows);
  const t = ranges(months);
  for (const m of await byIdOrRange<Mark>(tx, 'marks', MARK, markIds, w, "status = 'ABSENT'")) putMark(s, m);
  // The marks already on the days the chunk marks (a second mark of a day corrects the first).
  const days = events.flatMap((e) => (e.eventType === 'attendance.marked' ? [e.payload] : []));
  if (days.length) {
    const sameDay = await tx.query<Mark>(
      `select ${MARK}, to_char(date, 'YYYY-MM-DD') "date" from marks, unnest($1::text[], $2::text[], $3::date[]) k (s, sec, d)
       where student_user_id = k.s and section_id = k.sec and date = k.d order by attendance_id`,
      columns(days, ['studentUserId', 'sectionId', 'date']),
    );
    for (const m of sameDay.rows) putMark(s, m);
  }
  for (const a of await byIdOrRange<Absence>(tx, 'absences', ABSENCE, absenceIds, w)) s.absences.set(a.absenceId, a);
  for (const x of await byIdOrRange<Tardy>(tx, 'tardies', TARDY, tardyIds, t)) s.tardies.set(x.tardinessId, x);

  const summaries = await tx.query<Summary>(
    `select student_user_id "studentUserId", section_id "sectionId", present, absent, late, excused,
            unjustified_absences "unjustifiedAbsences", tardies,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') "updatedAt"
     from summaries where student_user_id = any($1::text[])`,
    [[...students]],
  );
  for (const x of summaries.rows) s.summaries.set(summaryKey(x.studentUserId, x.sectionId), x);
  if (sections.size) {
    const schedules = await tx.query<{ sectionId: string; scheduleId: string }>(
      'select section_id "sectionId", schedule_id "scheduleId" from section_schedules where section_id = any($1::text[])',
      [[...sections]],
    );
    for (const x of schedules.rows) s.schedules.set(x.sectionId, (s.schedules.get(x.sectionId) ?? new Set<string>()).add(x.scheduleId));
  }
  return s;
}

const pick = <T>(m: Map<string, T>, ids: Set<string>): T[] => [...ids].map((id) => m.get(id)!);

/** What the chunk changed, one statement per table. */
export async function flushAttendance(tx: PoolClient, s: AttendanceState): Promise<void> {
  const marks = pick(s.marks, s.changed.marks);
  if (marks.length)
    await tx.query(
      `insert into marks (attendance_id, student_user_id, section_id, date, status, marked_by)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[])
       on conflict (attendance_id) do update set status = excluded.status, marked_by = excluded.marked_by`,
      columns(marks, ['attendanceId', 'studentUserId', 'sectionId', 'date', 'status', 'markedBy']),
    );
  const absences = pick(s.absences, s.changed.absences);
  if (absences.length)
    await tx.query(
      `insert into absences (absence_id, student_user_id, section_id, date, reason, recorded_by, justified, justification)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::boolean[], $8::text[])
       on conflict (absence_id) do update set justified = excluded.justified, justification = excluded.justification`,
      columns(absences, ['absenceId', 'studentUserId', 'sectionId', 'date', 'reason', 'recordedBy', 'justified', 'justification']),
    );
  const tardies = pick(s.tardies, s.changed.tardies);
  if (tardies.length)
    await tx.query(
      `insert into tardies (tardiness_id, student_user_id, section_id, date, minutes_late)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::int[]) on conflict do nothing`,
      columns(tardies, ['tardinessId', 'studentUserId', 'sectionId', 'date', 'minutesLate']),
    );
  const summaries: Summary[] = pick(s.summaries, s.changed.summaries);
  if (summaries.length)
    await tx.query(
      `insert into summaries (student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies, updated_at)
       select * from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::timestamptz[])
       on conflict (student_user_id, section_id) do update set present = excluded.present, absent = excluded.absent,
         late = excluded.late, excused = excluded.excused, unjustified_absences = excluded.unjustified_absences, tardies = excluded.tardies,
         updated_at = excluded.updated_at`,
      columns(summaries, [
        'studentUserId',
        'sectionId',
        'present',
        'absent',
        'late',
        'excused',
        'unjustifiedAbsences',
        'tardies',
        'updatedAt',
      ]),
    );
  if (s.newSchedules.length)
    await tx.query(
      'insert into section_schedules (section_id, schedule_id) select * from unnest($1::text[], $2::text[]) on conflict do nothing',
      columns(s.newSchedules, ['sectionId', 'scheduleId']),
    );
  const registers = [...s.registers.values()];
  if (registers.length)
    await tx.query(
      `insert into registers (enrollment_id, student_user_id, section_id, opened_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
       on conflict (enrollment_id) do update set section_id = excluded.section_id, opened_at = excluded.opened_at`,
      columns(registers, ['enrollmentId', 'studentUserId', 'sectionId', 'openedAt']),
    );
}
