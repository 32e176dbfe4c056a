import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { unhandled } from '../shared/handled';
import { postgresProjection, type EmitSpec } from '../shared/emit';
import { absencePattern, initializeAttendance, tardinessPattern } from './handlers';

/** An absent day: an unjustified absence record, or an ABSENT mark with no justified absence that day. */
async function absenceDates(tx: PoolClient, student: string): Promise<string[]> {
  const r = await tx.query<{ d: string }>(
    `select to_char(date, 'YYYY-MM-DD') d from absences where student_user_id = $1 and not justified
     union
     select to_char(m.date, 'YYYY-MM-DD') from marks m where m.student_user_id = $1 and m.status = 'ABSENT'
       and not exists (select 1 from absences a where a.student_user_id = m.student_user_id and a.date = m.date and a.justified)`,
    [student],
  );
  return r.rows.map((x) => x.d);
}

async function refreshSummary(tx: PoolClient, student: string, section: string, at: string): Promise<void> {
  await tx.query(
    `insert into summaries (student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies, updated_at)
     select $1, $2,
       (select count(*) from marks where student_user_id = $1 and status = 'PRESENT'),
       (select count(*) from marks where student_user_id = $1 and status = 'ABSENT'),
       (select count(*) from marks where student_user_id = $1 and status = 'LATE'),
       (select count(*) from marks where student_user_id = $1 and status = 'EXCUSED'),
       (select count(*) from absences where student_user_id = $1 and not justified),
       (select count(*) from tardies where student_user_id = $1),
       $3
     on conflict (student_user_id) do update set section_id = excluded.section_id, present = excluded.present, absent = excluded.absent, late = excluded.late,
       excused = excluded.excused, unjustified_absences = excluded.unjustified_absences, tardies = excluded.tardies, updated_at = excluded.updated_at`,
    [student, section, at],
  );
}

export const HANDLES = [
  'schedule.created',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialized',
  'attendance.marked',
  'absence.recorded',
  'tardiness.recorded',
  'absence.justified',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

async function decide(event: SchoolEvent<Handled>, tx: PoolClient, rules: Rules): Promise<EmitSpec[]> {
  switch (event.eventType) {
    case 'schedule.created':
      await tx.query('insert into section_schedules values ($1, $2) on conflict do nothing', [
        event.payload.sectionId,
        event.payload.scheduleId,
      ]);
      return [];
    case 'enrollment.grades.initialized': {
      const p = event.payload;
      const n = await tx.query<{ n: string }>('select count(*) n from section_schedules where section_id = $1', [p.sectionId]);
      // The decision only: the register is opened from its outcome event (below), live and in a rebuild alike,
      // so a rebuild does not decide again from schedules another interleaving may not have yet.
      return initializeAttendance(p, Number(n.rows[0]?.n ?? 0));
    }
    case 'enrollment.attendance.initialized': {
      const p = event.payload;
      await tx.query(
        'insert into registers values ($1, $2, $3, $4) on conflict (enrollment_id) do update set section_id = excluded.section_id, opened_at = excluded.opened_at',
        [p.enrollmentId, p.studentUserId, p.sectionId, event.timestamp],
      );
      return [];
    }
    case 'attendance.marked': {
      const p = event.payload;
      await tx.query(
        `insert into marks values ($1, $2, $3, $4, $5, $6) on conflict (attendance_id) do update set status = excluded.status, marked_by = excluded.marked_by`,
        [p.attendanceId, p.studentUserId, p.sectionId, p.date, p.status, p.markedBy],
      );
      await refreshSummary(tx, p.studentUserId, p.sectionId, event.timestamp);
      return p.status === 'ABSENT'
        ? absencePattern(p.studentUserId, p.sectionId, p.date, await absenceDates(tx, p.studentUserId), rules)
        : [];
    }
    case 'absence.recorded': {
      const p = event.payload;
      await tx.query(
        'insert into absences (absence_id, student_user_id, section_id, date, reason, recorded_by) values ($1, $2, $3, $4, $5, $6) on conflict do nothing',
        [p.absenceId, p.studentUserId, p.sectionId, p.date, p.reason, p.recordedBy],
      );
      await refreshSummary(tx, p.studentUserId, p.sectionId, event.timestamp);
      return absencePattern(p.studentUserId, p.sectionId, p.date, await absenceDates(tx, p.studentUserId), rules);
    }
    case 'tardiness.recorded': {
      const p = event.payload;
      if (p.minutesLate <= 0) throw new RuleViolationError(`tardiness ${p.tardinessId}: minutesLate must be > 0`);
      await tx.query('insert into tardies values ($1, $2, $3, $4, $5) on conflict do nothing', [
        p.tardinessId,
        p.studentUserId,
        p.sectionId,
        p.date,
        p.minutesLate,
      ]);
      await refreshSummary(tx, p.studentUserId, p.sectionId, event.timestamp);
      const dates = await tx.query<{ d: string }>(`select to_char(date, 'YYYY-MM-DD') d from tardies where student_user_id = $1`, [
        p.studentUserId,
      ]);
      return tardinessPattern(
        p.studentUserId,
        p.sectionId,
        p.date,
        dates.rows.map((x) => x.d),
        rules,
      );
    }
    case 'absence.justified': {
      const p = event.payload;
      const r = await tx.query<{ section_id: string }>(
        'update absences set justified = true, justification = $2 where absence_id = $1 returning section_id',
        [p.absenceId, p.justification],
      );
      if (!r.rows[0]) throw new RuleViolationError(`absence ${p.absenceId} does not exist`);
      await refreshSummary(tx, p.studentUserId, r.rows[0].section_id, event.timestamp);
      return []; // an alert already raised stays in the record; later counts exclude the justified day
    }
    default:
      return unhandled(event);
  }
}

export const projectAttendance = (rules: Rules): ReturnType<typeof postgresProjection> => postgresProjection(HANDLES, decide, rules);
