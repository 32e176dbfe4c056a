import type pg from 'pg';
import { projectionSchema } from '../runtime/names';
import { quoteIdent } from '../runtime/sql';
import type { AttendanceCounts } from '../users/student360';

/** Reads of the attendance read models. */
export function attendanceQueries(pool: pg.Pool, schema = projectionSchema('attendance')) {
  const s = quoteIdent(schema);
  return {
    async studentSummary(studentUserId: string) {
      const r = await pool.query<AttendanceCounts & Record<string, unknown>>(
        `select student_user_id "studentUserId", section_id "sectionId", present, absent, late, excused, unjustified_absences "unjustifiedAbsences", tardies, updated_at "updatedAt"
         from ${s}.summaries where student_user_id = $1`,
        [studentUserId],
      );
      return r.rows[0];
    },
  };
}
