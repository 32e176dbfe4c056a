import type pg from 'pg';
import { projectionSchema } from '../runtime/names';
import { quoteIdent } from '../runtime/sql';
import type { AttendanceCounts } from '../users/student360';

/** A student's counts in one section. */
export interface SectionAttendance extends AttendanceCounts {
  sectionId: string;
  unjustifiedAbsences: number;
  tardies: number;
  updatedAt: string;
}

/** A student's attendance: the counts over every section, the section last marked, and each section's own. */
export interface AttendanceSummary extends Omit<SectionAttendance, 'sectionId'> {
  studentUserId: string;
  /** The section of the latest change (the student's current one, usually). */
  sectionId: string;
  sections: SectionAttendance[];
}

const COUNTS = ['present', 'absent', 'late', 'excused', 'unjustifiedAbsences', 'tardies'] as const;

/** Totals over a student's sections (pure; sections newest first). */
export function summarise(studentUserId: string, sections: SectionAttendance[]): AttendanceSummary | undefined {
  const latest = sections[0];
  if (!latest) return undefined;
  const total = Object.fromEntries(COUNTS.map((c) => [c, sections.reduce((n, s) => n + s[c], 0)])) as Record<
    (typeof COUNTS)[number],
    number
  >;
  return { studentUserId, sectionId: latest.sectionId, ...total, updatedAt: latest.updatedAt, sections };
}

/** Reads of the attendance read models. */
export function attendanceQueries(pool: pg.Pool, schema = projectionSchema('attendance')) {
  const s = quoteIdent(schema);
  return {
    async studentSummary(studentUserId: string): Promise<AttendanceSummary | undefined> {
      const r = await pool.query<SectionAttendance>(
        `select section_id "sectionId", present, absent, late, excused, unjustified_absences "unjustifiedAbsences", tardies,
                to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') "updatedAt"
         from ${s}.summaries where student_user_id = $1 order by updated_at desc, section_id`,
        [studentUserId],
      );
      return summarise(studentUserId, r.rows);
    },
  };
}
