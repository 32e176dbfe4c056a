import type pg from 'pg';
import type { Rules } from '../../lib/config';
import { projectionSchema } from '../runtime/names';
import { quoteIdent } from '../runtime/sql';
import { weightedAverage, type GradeRow } from './handlers';

/** Reads of the grades read models. */
export function gradesQueries(pool: pg.Pool, schema = projectionSchema('grades')) {
  const s = quoteIdent(schema);
  return {
    /** A student's grades and averages for one period, per course. */
    async studentPeriod(studentUserId: string, periodId: string) {
      const grades = await pool.query(
        `select grade_id "gradeId", course_id "courseId", evaluation_type "evaluationType", score, max_score "maxScore", recorded_at "recordedAt"
         from ${s}.grades where student_user_id = $1 and period_id = $2 order by course_id, recorded_at`,
        [studentUserId, periodId],
      );
      const averages = await pool.query(
        `select course_id "courseId", average, grade_count "gradeCount" from ${s}.period_averages where student_user_id = $1 and period_id = $2 order by course_id`,
        [studentUserId, periodId],
      );
      return { studentUserId, periodId, grades: grades.rows, averages: averages.rows };
    },
    /** Every period average of a student (the student 360's averages; one indexed range). */
    async averagesOf(studentUserId: string) {
      const r = await pool.query<{ periodId: string; courseId: string; average: number }>(
        `select period_id "periodId", course_id "courseId", average from ${s}.period_averages where student_user_id = $1 order by period_id, course_id`,
        [studentUserId],
      );
      return r.rows;
    },
  };
}

/** POST /grades/calculate-average: the same weighted average the processor publishes, for grades given by the caller. */
export const calculateAverage = (grades: GradeRow[], rules: Rules): number | undefined => weightedAverage(grades, rules.evaluationWeights);
