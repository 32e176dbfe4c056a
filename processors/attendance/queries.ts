import type pg from 'pg';
import { quoteIdent } from '../runtime/postgres-store';

/** Reads of the attendance read models. */
export function attendanceQueries(pool: pg.Pool, schema = 'proj_attendance') {
  const s = quoteIdent(schema);
  return {
    async studentSummary(studentUserId: string) {
      const r = await pool.query(
        `select student_user_id "studentUserId", section_id "sectionId", present, absent, late, excused, unjustified_absences "unjustifiedAbsences", tardies, updated_at "updatedAt"
         from ${s}.summaries where student_user_id = $1`,
        [studentUserId],
      );
      return r.rows[0] as Record<string, unknown> | undefined;
    },
  };
}
