import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { emit, postgresProjection, toEvents, type EmitSpec } from '../shared/emit';
import { narrow, unhandled } from '../shared/handled';
import type { ChunkFold } from '../runtime/types';
import { averageKeyOf, foldGradeRecorded, foldGradeUpdated } from './fold';
import { flushGrades, loadGrades, type GradesState } from './store';
import { baseRecords, initializeGrades } from './handlers';

const averageLock = (k: { studentUserId: string; courseId: string; periodId: string }): string =>
  `avg:${k.studentUserId}:${k.courseId}:${k.periodId}`;

const SAGA_STEPS: ReadonlySet<EventType> = new Set([
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
]);

/**
 * The locks projectGrades takes for an event (the runtime takes a chunk's locks up front, in order). One
 * enrollment's steps come from three topics: serialised, a compensation cannot miss base records that a
 * concurrent transaction is inserting.
 */
export function gradesLockKeys(event: SchoolEvent): string[] {
  if (event.eventType === 'grade.recorded' || event.eventType === 'grade.updated') return [averageLock(event.payload)];
  return SAGA_STEPS.has(event.eventType) && 'enrollmentId' in event.payload ? [`enrollment:${event.payload.enrollmentId}`] : [];
}

/** Applied a chunk at a time (load, fold, flush): the hot path. */
const FOLDED = ['grade.recorded', 'grade.updated'] as const satisfies readonly EventType[];

/** Applied one at a time: rare events (a school's setup, saga steps) on tables the fold does not touch. */
const PER_EVENT = [
  'section.created',
  'course.assigned',
  'academic.year.started',
  'competency.evaluated',
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
] as const satisfies readonly EventType[];
type Handled = (typeof PER_EVENT)[number];

export const HANDLES: readonly EventType[] = [...PER_EVENT, ...FOLDED];

/** CompensateGradeInitialization: delete what step 4 created, and keep it from being created later; idempotent. */
async function compensateGrades(tx: PoolClient, enrollmentId: string, reason: string): Promise<EmitSpec[]> {
  const r = await tx.query<{ student_user_id: string | null }>(
    `insert into enrollment_refs (enrollment_id, compensated) values ($1, true)
     on conflict (enrollment_id) do update set compensated = true returning student_user_id`,
    [enrollmentId],
  );
  await tx.query('delete from base_records where enrollment_id = $1', [enrollmentId]);
  return [emit('enrollment.grades.compensated', { enrollmentId, studentUserId: r.rows[0]?.student_user_id ?? 'unknown', reason })];
}

async function decide(event: SchoolEvent<Handled>, tx: PoolClient): Promise<EmitSpec[]> {
  switch (event.eventType) {
    case 'section.created':
      await tx.query(
        'insert into section_years values ($1, $2) on conflict (section_id) do update set academic_year_id = excluded.academic_year_id',
        [event.payload.sectionId, event.payload.academicYearId],
      );
      return [];
    case 'course.assigned':
      await tx.query('insert into section_courses values ($1, $2) on conflict do nothing', [
        event.payload.sectionId,
        event.payload.courseId,
      ]);
      return [];
    case 'academic.year.started':
      for (const p of event.payload.gradingPeriods) {
        await tx.query(
          `insert into grading_periods values ($1, $2, $3, $4) on conflict (academic_year_id, period_id) do update set start_date = excluded.start_date, end_date = excluded.end_date`,
          [event.payload.academicYearId, p.periodId, p.startDate, p.endDate],
        );
      }
      return [];
    case 'competency.evaluated': {
      const p = event.payload;
      await tx.query(
        `insert into competencies values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (evaluation_id) do update set level = excluded.level, comment = excluded.comment, evaluated_at = excluded.evaluated_at`,
        [p.evaluationId, p.studentUserId, p.courseId, p.periodId, p.competencyId, p.level, p.evaluatedBy, p.comment, event.timestamp],
      );
      return [];
    }
    case 'enrollment.section.assigned': {
      const p = event.payload;
      await tx.query(
        `insert into enrollment_refs (enrollment_id, student_user_id) values ($1, $2)
         on conflict (enrollment_id) do update set student_user_id = excluded.student_user_id`,
        [p.enrollmentId, p.studentUserId],
      );
      const courses = await tx.query<{ course_id: string }>(
        'select course_id from section_courses where section_id = $1 order by course_id',
        [p.sectionId],
      );
      const periods = await tx.query<{ period_id: string }>(
        `select gp.period_id from grading_periods gp join section_years sy on sy.academic_year_id = gp.academic_year_id
         where sy.section_id = $1 order by gp.start_date, gp.period_id`,
        [p.sectionId],
      );
      // The decision only: its outcome event (below) writes the records, live and in a rebuild alike, so a
      // rebuild does not decide again from courses and periods that another interleaving may not have yet.
      return initializeGrades(
        p,
        courses.rows.map((r) => r.course_id),
        periods.rows.map((r) => r.period_id),
      );
    }
    case 'enrollment.grades.initialized': {
      const p = event.payload;
      const records = baseRecords(p);
      // A transfer repeats step 4 for the new section: a record of a course both sections teach carries over
      // and moves to the new section (set from the event: a rebuild ends where live did).
      await tx.query(
        `insert into base_records (enrollment_id, student_user_id, section_id, course_id, period_id)
         select $1, $2, $3, r.course_id, r.period_id from unnest($4::text[], $5::text[]) r (course_id, period_id)
         where not exists (select 1 from enrollment_refs where enrollment_id = $1 and compensated)
         on conflict (enrollment_id, course_id, period_id) do update set section_id = excluded.section_id`,
        [p.enrollmentId, p.studentUserId, p.sectionId, records.map((r) => r.courseId), records.map((r) => r.periodId)],
      );
      return [];
    }
    case 'enrollment.attendance.initialization.failed':
      return compensateGrades(tx, event.payload.enrollmentId, event.payload.message);
    case 'enrollment.deadline.expired':
      // A saga stalled after step 4 fails like a failure of step 5. (Race, documented: if step 5 completes in the
      // milliseconds between the deadline check and academic's decision, academic keeps the saga but this has run.)
      return event.payload.status === 'GRADES_INITIALIZED'
        ? compensateGrades(tx, event.payload.enrollmentId, `deadline expired waiting for ${event.payload.stalledStep}`)
        : [];
    default:
      return unhandled(event);
  }
}

export const projectGrades = postgresProjection(PER_EVENT, decide, undefined);

/** grade.recorded and grade.updated on the load–fold–flush model: O(1) per grade, a few statements per chunk. */
export function gradesFold(rules: Rules): ChunkFold<GradesState> {
  return {
    handles: FOLDED,
    load: (tx, events) =>
      loadGrades(
        tx,
        events.map((e) => narrow(e, FOLDED)),
      ),
    fold(state, event, ctx) {
      const e = narrow(event, FOLDED);
      const stored = state.grades.get(e.payload.gradeId);
      const view = { grade: stored, average: state.averages.get(averageKeyOf(stored ?? e.payload)) };
      const r =
        e.eventType === 'grade.recorded'
          ? foldGradeRecorded(e.payload, e.timestamp, view, rules)
          : foldGradeUpdated(e.payload, e.timestamp, view, rules);
      if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
      state.grades.set(r.grade.gradeId, r.grade);
      state.changedGrades.add(r.grade.gradeId);
      const k = averageKeyOf(r.grade);
      const prev = state.averages.get(k);
      const { studentUserId, courseId, periodId } = r.grade;
      state.averages.set(k, {
        studentUserId,
        courseId,
        periodId,
        ...r.average,
        updatedAt: prev?.updatedAt !== undefined && prev.updatedAt > e.timestamp ? prev.updatedAt : e.timestamp,
        averaged: (prev?.averaged ?? false) || r.averaged,
      });
      state.changedAverages.add(k);
      return toEvents(e, r.emit, ctx);
    },
    flush: flushGrades,
  };
}
