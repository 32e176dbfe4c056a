import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { emit, postgresProjection, type EmitSpec } from '../shared/emit';
import { unhandled } from '../shared/handled';
import { baseRecords, checkGrade, decideAverage, initializeGrades, type GradeRow } from './handlers';

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

async function recompute(
  tx: PoolClient,
  key: { studentUserId: string; sectionId: string; courseId: string; periodId: string },
  rules: Rules,
  at: string,
): Promise<EmitSpec[]> {
  // Grades of one course are different aggregates (different partitions, concurrent transactions): serialise
  // the recomputation per student, course and period, so the last writer reads every committed grade. The key
  // includes the schema: a rebuild into another schema must not wait on the live projection.
  await tx.query('select pg_advisory_xact_lock(hashtext(current_schema() || $1))', [averageLock(key)]);
  const grades = await tx.query<GradeRow>(
    `select grade_id "gradeId", evaluation_type "evaluationType", score, max_score "maxScore" from grades
     where student_user_id = $1 and course_id = $2 and period_id = $3 order by grade_id`,
    [key.studentUserId, key.courseId, key.periodId],
  );
  const prev = await tx.query<{ average: number }>(
    'select average from period_averages where student_user_id = $1 and course_id = $2 and period_id = $3 for update',
    [key.studentUserId, key.courseId, key.periodId],
  );
  const d = decideAverage(key, grades.rows, prev.rows[0]?.average, rules);
  if (d.average !== undefined) {
    await tx.query(
      `insert into period_averages (student_user_id, course_id, period_id, section_id, average, grade_count, updated_at) values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (student_user_id, course_id, period_id) do update set average = excluded.average, grade_count = excluded.grade_count,
         section_id = excluded.section_id, updated_at = greatest(period_averages.updated_at, excluded.updated_at)`,
      [key.studentUserId, key.courseId, key.periodId, key.sectionId, d.average, grades.rows.length, at],
    );
  }
  return d.emit;
}

export const HANDLES = [
  'section.created',
  'course.assigned',
  'academic.year.started',
  'grade.recorded',
  'grade.updated',
  'competency.evaluated',
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

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

async function decide(event: SchoolEvent<Handled>, tx: PoolClient, rules: Rules): Promise<EmitSpec[]> {
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
    case 'grade.recorded': {
      const p = event.payload;
      const check = checkGrade(p);
      if (!check.ok) throw new RuleViolationError(`grade ${p.gradeId}: ${check.reason}`);
      const r = await tx.query(
        `insert into grades (grade_id, student_user_id, section_id, course_id, period_id, evaluation_type, score, max_score, recorded_by, comment, recorded_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) on conflict (grade_id) do nothing`,
        [
          p.gradeId,
          p.studentUserId,
          p.sectionId,
          p.courseId,
          p.periodId,
          p.evaluationType,
          p.score,
          p.maxScore,
          p.recordedBy,
          p.comment,
          event.timestamp,
        ],
      );
      if (r.rowCount === 0) throw new RuleViolationError(`grade ${p.gradeId} was already recorded; use grade.updated to change it`);
      return recompute(tx, p, rules, event.timestamp);
    }
    case 'grade.updated': {
      const p = event.payload;
      const current = await tx.query<{ max_score: number }>('select max_score from grades where grade_id = $1 for update', [p.gradeId]);
      if (!current.rows[0]) throw new RuleViolationError(`grade ${p.gradeId} does not exist`);
      const check = checkGrade({ score: p.newScore, maxScore: current.rows[0].max_score });
      if (!check.ok) throw new RuleViolationError(`grade ${p.gradeId}: ${check.reason}`);
      await tx.query('update grades set score = $2, updated_at = $3 where grade_id = $1', [p.gradeId, p.newScore, event.timestamp]);
      return recompute(tx, p, rules, event.timestamp);
    }
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

export const projectGrades = (rules: Rules): ReturnType<typeof postgresProjection> => postgresProjection(HANDLES, decide, rules);
