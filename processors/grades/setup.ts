import type { PoolClient } from 'pg';
import type { EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import type { Statement } from '../runtime/sql';
import { emit, type EmitSpec } from '../shared/emit';
import { unhandled } from '../shared/handled';
import { baseRecords, initializeGrades } from './handlers';

/**
 * grades' setup and saga events on load → fold → flush (the grades themselves are in fold.ts/store.ts): the
 * sections, courses, grading periods and enrollment references a chunk names are read once, the events fold
 * over them in memory (step 4's decision, its base records, their compensation), and each table is written
 * once.
 */
export const SETUP = [
  'section.created',
  'course.assigned',
  'academic.year.started',
  'competency.evaluated',
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
] as const;
export type SetupEvent = SchoolEvent<(typeof SETUP)[number]>;

interface Period {
  periodId: string;
  startDate: string;
  endDate: string;
}
type Competency = EventPayloads['competency.evaluated'] & { evaluatedAt: string };
interface BaseRecord {
  enrollmentId: string;
  studentUserId: string;
  sectionId: string;
  courseId: string;
  periodId: string;
}

export interface SetupState {
  sectionYears: Map<string, string>;
  courses: Map<string, Set<string>>;
  /** By academic year, then period. */
  periods: Map<string, Map<string, Period>>;
  refs: Map<string, { studentUserId: string | null; compensated: boolean }>;
  changed: { sectionYears: Set<string>; courses: Array<{ sectionId: string; courseId: string }>; periods: Set<string>; refs: Set<string> };
  competencies: Map<string, Competency>;
  /** Base records to write, by enrollment (none for one compensated). */
  records: Map<string, BaseRecord[]>;
  /** Enrollments whose base records are deleted (compensated). */
  deleted: Set<string>;
}

const emptySetup = (): SetupState => ({
  sectionYears: new Map(),
  courses: new Map(),
  periods: new Map(),
  refs: new Map(),
  changed: { sectionYears: new Set(), courses: [], periods: new Set(), refs: new Set() },
  competencies: new Map(),
  records: new Map(),
  deleted: new Set(),
});

/**
 * The sections, their courses, years and periods, and the enrollment references a chunk names: four queries at
 * most. `gatedSections`: the sections of its grades and evaluations too (the gate's facts, projection.ts).
 */
export async function loadSetup(tx: PoolClient, events: SetupEvent[], gatedSections: readonly string[] = []): Promise<SetupState> {
  const s = emptySetup();
  const sections = new Set<string>(gatedSections);
  const years = new Set<string>();
  const enrollments = new Set<string>();
  for (const e of events) {
    if (e.eventType === 'enrollment.section.assigned') sections.add(e.payload.sectionId);
    if (e.eventType === 'section.created') years.add(e.payload.academicYearId);
    if ('enrollmentId' in e.payload) enrollments.add(e.payload.enrollmentId);
  }
  if (sections.size) {
    const y = await tx.query<{ sectionId: string; yearId: string }>(
      'select section_id "sectionId", academic_year_id "yearId" from section_years where section_id = any($1::text[])',
      [[...sections]],
    );
    for (const r of y.rows) {
      s.sectionYears.set(r.sectionId, r.yearId);
      years.add(r.yearId);
    }
    const c = await tx.query<{ sectionId: string; courseId: string }>(
      'select section_id "sectionId", course_id "courseId" from section_courses where section_id = any($1::text[])',
      [[...sections]],
    );
    for (const r of c.rows) s.courses.set(r.sectionId, (s.courses.get(r.sectionId) ?? new Set<string>()).add(r.courseId));
  }
  if (years.size) {
    const p = await tx.query<Period & { yearId: string }>(
      `select academic_year_id "yearId", period_id "periodId", to_char(start_date, 'YYYY-MM-DD') "startDate", to_char(end_date, 'YYYY-MM-DD') "endDate"
       from grading_periods where academic_year_id = any($1::text[])`,
      [[...years]],
    );
    for (const r of p.rows)
      s.periods.set(
        r.yearId,
        (s.periods.get(r.yearId) ?? new Map<string, Period>()).set(r.periodId, {
          periodId: r.periodId,
          startDate: r.startDate,
          endDate: r.endDate,
        }),
      );
  }
  if (enrollments.size) {
    const r = await tx.query<{ enrollmentId: string; studentUserId: string | null; compensated: boolean }>(
      'select enrollment_id "enrollmentId", student_user_id "studentUserId", compensated from enrollment_refs where enrollment_id = any($1::text[])',
      [[...enrollments]],
    );
    for (const x of r.rows) s.refs.set(x.enrollmentId, { studentUserId: x.studentUserId, compensated: x.compensated });
  }
  return s;
}

/** CompensateGradeInitialization: delete what step 4 created, and keep it from being created later; idempotent. */
function compensate(s: SetupState, enrollmentId: string, reason: string): EmitSpec[] {
  const ref = s.refs.get(enrollmentId);
  s.refs.set(enrollmentId, { studentUserId: ref?.studentUserId ?? null, compensated: true });
  s.changed.refs.add(enrollmentId);
  s.records.delete(enrollmentId);
  s.deleted.add(enrollmentId);
  return [emit('enrollment.grades.compensated', { enrollmentId, studentUserId: ref?.studentUserId ?? 'unknown', reason })];
}

/** Applies one setup or saga event; the events it causes. */
export function foldSetup(s: SetupState, event: SetupEvent): EmitSpec[] {
  switch (event.eventType) {
    case 'section.created':
      s.sectionYears.set(event.payload.sectionId, event.payload.academicYearId);
      s.changed.sectionYears.add(event.payload.sectionId);
      return [];
    case 'course.assigned': {
      const { sectionId, courseId } = event.payload;
      const set = s.courses.get(sectionId) ?? new Set<string>();
      if (!set.has(courseId)) s.changed.courses.push({ sectionId, courseId });
      s.courses.set(sectionId, set.add(courseId));
      return [];
    }
    case 'academic.year.started': {
      const year = s.periods.get(event.payload.academicYearId) ?? new Map<string, Period>();
      for (const p of event.payload.gradingPeriods)
        year.set(p.periodId, { periodId: p.periodId, startDate: p.startDate, endDate: p.endDate });
      s.periods.set(event.payload.academicYearId, year);
      s.changed.periods.add(event.payload.academicYearId);
      return [];
    }
    case 'competency.evaluated':
      s.competencies.set(event.payload.evaluationId, { ...event.payload, evaluatedAt: event.timestamp });
      return [];
    case 'enrollment.section.assigned': {
      const p = event.payload;
      s.refs.set(p.enrollmentId, { studentUserId: p.studentUserId, compensated: s.refs.get(p.enrollmentId)?.compensated ?? false });
      s.changed.refs.add(p.enrollmentId);
      const year = s.sectionYears.get(p.sectionId);
      const periods = [...(year ? (s.periods.get(year)?.values() ?? []) : [])].sort(
        (a, b) => a.startDate.localeCompare(b.startDate) || a.periodId.localeCompare(b.periodId),
      );
      // The decision only: its outcome event (below) writes the records, live and in a rebuild alike, so a
      // rebuild does not decide again from courses and periods that another interleaving may not have yet.
      return initializeGrades(
        p,
        [...(s.courses.get(p.sectionId) ?? [])].sort(),
        periods.map((x) => x.periodId),
      );
    }
    case 'enrollment.grades.initialized': {
      const p = event.payload;
      if (s.refs.get(p.enrollmentId)?.compensated) return [];
      // A transfer repeats step 4 for the new section: a record of a course both sections teach carries over and
      // moves to the new section (set from the event: a rebuild ends where live did).
      const mine = new Map((s.records.get(p.enrollmentId) ?? []).map((r) => [`${r.courseId}\u0000${r.periodId}`, r]));
      for (const r of baseRecords(p))
        mine.set(`${r.courseId}\u0000${r.periodId}`, {
          enrollmentId: p.enrollmentId,
          studentUserId: p.studentUserId,
          sectionId: p.sectionId,
          ...r,
        });
      s.records.set(p.enrollmentId, [...mine.values()]);
      return [];
    }
    case 'enrollment.attendance.initialization.failed':
      return compensate(s, event.payload.enrollmentId, event.payload.message);
    case 'enrollment.deadline.expired':
      // A saga stalled after step 4 fails like a failure of step 5. (Race, documented: if step 5 completes in the
      // milliseconds between the deadline check and academic's decision, academic keeps the saga but this has run.)
      return event.payload.status === 'GRADES_INITIALIZED'
        ? compensate(s, event.payload.enrollmentId, `deadline expired waiting for ${event.payload.stalledStep}`)
        : [];
    default:
      return unhandled(event);
  }
}

/** Everything the chunk changed: a statement per table and kind of change (the caller runs them as one). */
export function setupWrites(s: SetupState): Statement[] {
  const writes: Statement[] = [];
  const write = (text: string, values: unknown[]): void => void writes.push({ text, values });
  const years = [...s.changed.sectionYears].map((sectionId) => ({ sectionId, yearId: s.sectionYears.get(sectionId)! }));
  if (years.length)
    write(
      `insert into section_years select * from unnest($1::text[], $2::text[])
       on conflict (section_id) do update set academic_year_id = excluded.academic_year_id`,
      columns(years, ['sectionId', 'yearId']),
    );
  if (s.changed.courses.length)
    write(
      'insert into section_courses select * from unnest($1::text[], $2::text[]) on conflict do nothing',
      columns(s.changed.courses, ['sectionId', 'courseId']),
    );
  const periods = [...s.changed.periods].flatMap((yearId) => [...s.periods.get(yearId)!.values()].map((p) => ({ yearId, ...p })));
  if (periods.length)
    write(
      `insert into grading_periods select * from unnest($1::text[], $2::text[], $3::date[], $4::date[])
       on conflict (academic_year_id, period_id) do update set start_date = excluded.start_date, end_date = excluded.end_date`,
      columns(periods, ['yearId', 'periodId', 'startDate', 'endDate']),
    );
  const competencies = [...s.competencies.values()];
  if (competencies.length)
    write(
      `insert into competencies select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
       on conflict (evaluation_id) do update set level = excluded.level, comment = excluded.comment, evaluated_at = excluded.evaluated_at`,
      columns(competencies, [
        'evaluationId',
        'studentUserId',
        'courseId',
        'periodId',
        'competencyId',
        'level',
        'evaluatedBy',
        'comment',
        'evaluatedAt',
      ]),
    );
  const refs = [...s.changed.refs].map((enrollmentId) => ({ enrollmentId, ...s.refs.get(enrollmentId)! }));
  if (refs.length)
    write(
      `insert into enrollment_refs select * from unnest($1::text[], $2::text[], $3::bool[])
       on conflict (enrollment_id) do update set student_user_id = coalesce(excluded.student_user_id, enrollment_refs.student_user_id),
         compensated = enrollment_refs.compensated or excluded.compensated`,
      columns(refs, ['enrollmentId', 'studentUserId', 'compensated']),
    );
  if (s.deleted.size) write('delete from base_records where enrollment_id = any($1::text[])', [[...s.deleted]]);
  const records = [...s.records.values()].flat();
  if (records.length)
    write(
      `insert into base_records (enrollment_id, student_user_id, section_id, course_id, period_id)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       on conflict (enrollment_id, course_id, period_id) do update set section_id = excluded.section_id`,
      columns(records, ['enrollmentId', 'studentUserId', 'sectionId', 'courseId', 'periodId']),
    );
  return writes;
}
