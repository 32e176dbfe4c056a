import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { AttendanceStatus, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { emptyState, windowStart, type AttendanceState, type Summary } from './fold';

type Folded = SchoolEvent<'attendance.marked' | 'absence.recorded' | 'tardiness.recorded' | 'absence.justified'>;

const DATE = `to_char(date, 'YYYY-MM-DD')`;

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

const monthEnd = (date: string): string =>
  new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)), 0)).toISOString().slice(0, 10);

/**
 * Everything a chunk's folded events need, one query per table: the marks, absences and tardies they
 * name by id, the absent days of the absence window (absences) or month (tardies) before each event
 * for the students concerned, and their summaries.
 */
export async function loadAttendance(tx: PoolClient, events: Folded[], rules: Rules): Promise<AttendanceState> {
  const s = emptyState();
  const markIds: string[] = [];
  const absenceIds: string[] = [];
  const tardyIds: string[] = [];
  const students = new Set<string>();
  const windows: Array<{ student: string; from: string; to: string }> = [];
  const months: Array<{ student: string; from: string; to: string }> = [];
  for (const e of events) {
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
  const marks = await tx.query<{
    attendance_id: string;
    student_user_id: string;
    section_id: string;
    d: string;
    status: AttendanceStatus;
    marked_by: string;
  }>(
    `select attendance_id, student_user_id, section_id, ${DATE} d, status, marked_by from marks where attendance_id = any($1::text[])
     union
     select m.attendance_id, m.student_user_id, m.section_id, to_char(m.date, 'YYYY-MM-DD'), m.status, m.marked_by from marks m, unnest($2::text[], $3::date[], $4::date[]) k(s, f, t)
       where m.status = 'ABSENT' and m.student_user_id = k.s and m.date between k.f and k.t`,
    [markIds, w.students, w.from, w.to],
  );
  for (const r of marks.rows)
    s.marks.set(r.attendance_id, {
      attendanceId: r.attendance_id,
      studentUserId: r.student_user_id,
      sectionId: r.section_id,
      date: r.d,
      status: r.status,
      markedBy: r.marked_by,
    });

  const absences = await tx.query<{
    absence_id: string;
    student_user_id: string;
    section_id: string;
    d: string;
    reason: string | null;
    recorded_by: string;
    justified: boolean;
    justification: string | null;
  }>(
    `select absence_id, student_user_id, section_id, ${DATE} d, reason, recorded_by, justified, justification from absences where absence_id = any($1::text[])
     union
     select a.absence_id, a.student_user_id, a.section_id, to_char(a.date, 'YYYY-MM-DD'), a.reason, a.recorded_by, a.justified, a.justification
       from absences a, unnest($2::text[], $3::date[], $4::date[]) k(s, f, t) where a.student_user_id = k.s and a.date between k.f and k.t`,
    [absenceIds, w.students, w.from, w.to],
  );
  for (const r of absences.rows)
    s.absences.set(r.absence_id, {
      absenceId: r.absence_id,
      studentUserId: r.student_user_id,
      sectionId: r.section_id,
      date: r.d,
      reason: r.reason,
      recordedBy: r.recorded_by,
      justified: r.justified,
      justification: r.justification,
    });

  const tardies = await tx.query<{ tardiness_id: string; student_user_id: string; section_id: string; d: string; minutes_late: number }>(
    `select tardiness_id, student_user_id, section_id, ${DATE} d, minutes_late from tardies where tardiness_id = any($1::text[])
     union
     select x.tardiness_id, x.student_user_id, x.section_id, to_char(x.date, 'YYYY-MM-DD'), x.minutes_late
       from tardies x, unnest($2::text[], $3::date[], $4::date[]) k(s, f, t) where x.student_user_id = k.s and x.date between k.f and k.t`,
    [tardyIds, t.students, t.from, t.to],
  );
  for (const r of tardies.rows)
    s.tardies.set(r.tardiness_id, {
      tardinessId: r.tardiness_id,
      studentUserId: r.student_user_id,
      sectionId: r.section_id,
      date: r.d,
      minutesLate: r.minutes_late,
    });

  const summaries = await tx.query<{
    student_user_id: string;
    section_id: string;
    present: number;
    absent: number;
    late: number;
    excused: number;
    unjustified_absences: number;
    tardies: number;
    at: string;
  }>(
    `select student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies,
            to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') at
     from summaries where student_user_id = any($1::text[])`,
    [[...students]],
  );
  for (const r of summaries.rows)
    s.summaries.set(r.student_user_id, {
      studentUserId: r.student_user_id,
      sectionId: r.section_id,
      present: r.present,
      absent: r.absent,
      late: r.late,
      excused: r.excused,
      unjustifiedAbsences: r.unjustified_absences,
      tardies: r.tardies,
      updatedAt: r.at,
    });
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
       on conflict (student_user_id) do update set section_id = excluded.section_id, present = excluded.present, absent = excluded.absent,
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
}
