import type pg from 'pg';
import { projectionSchema } from '../runtime/names';
import { quoteIdent } from '../runtime/sql';

/** Reads of the academic read models; each is one indexed query. `schema` is the live (or snapshot) schema. */
/** One of a student's enrollments as the API answers it (GET /academic/enrollments/student/{id}). */
export interface StudentEnrollment {
  enrollmentId: string;
  sectionId: string;
  academicYearId: string;
  status: string;
  currentStep: string;
  failedStep: string | null;
  failureReason: string | null;
  active: boolean;
  enrollmentDate: string;
  updatedAt: Date;
}

export function academicQueries(pool: pg.Pool, schema = projectionSchema('academic')) {
  const s = quoteIdent(schema);
  return {
    async section(sectionId: string) {
      const r = await pool.query(
        `select s.id "sectionId", s.academic_year_id "academicYearId", s.name, s.grade_level "gradeLevel", s.capacity, s.seats_taken "seatsTaken",
           coalesce(json_agg(json_build_object('courseId', c.course_id, 'courseName', c.course_name, 'weeklyHours', c.weekly_hours) order by c.course_id)
             filter (where c.course_id is not null), '[]') courses
         from ${s}.sections s left join ${s}.section_courses c on c.section_id = s.id where s.id = $1 group by s.id`,
        [sectionId],
      );
      return r.rows[0] as Record<string, unknown> | undefined;
    },
    async course(courseId: string) {
      const r = await pool.query(
        `select course_id "courseId", course_name "courseName", section_id "sectionId", weekly_hours "weeklyHours" from ${s}.section_courses where course_id = $1 order by section_id`,
        [courseId],
      );
      return r.rows.length ? { courseId, courseName: (r.rows[0] as { courseName: string }).courseName, sections: r.rows } : undefined;
    },
    /** One academic year: its dates and the ids of its grading periods (the API's period and date rules). */
    async year(
      academicYearId: string,
    ): Promise<{ academicYearId: string; startDate: string; endDate: string; periodIds: string[] } | undefined> {
      const r = await pool.query<{ startDate: string; endDate: string; periodIds: string[] | null }>(
        `select to_char(start_date, 'YYYY-MM-DD') "startDate", to_char(end_date, 'YYYY-MM-DD') "endDate",
           (select array_agg(p ->> 'periodId') from jsonb_array_elements(grading_periods) p) "periodIds"
         from ${s}.academic_years where id = $1`,
        [academicYearId],
      );
      const y = r.rows[0];
      return y && { academicYearId, startDate: y.startDate, endDate: y.endDate, periodIds: y.periodIds ?? [] };
    },
    /** Active and past enrollments of a student, newest request first. */
    async enrollmentsOfStudent(studentUserId: string) {
      const r = await pool.query<StudentEnrollment>(
        `select enrollment_id "enrollmentId", section_id "sectionId", academic_year_id "academicYearId", status, current_step "currentStep", failed_step "failedStep",
           failure_reason "failureReason", active, to_char(enrollment_date, 'YYYY-MM-DD') "enrollmentDate", updated_at "updatedAt"
         from ${s}.enrollments where student_user_id = $1 order by created_at desc, enrollment_id desc`,
        [studentUserId],
      );
      return r.rows;
    },
    /** Of `studentUserIds`, those with a COMPLETED enrollment in the section (the API's enrollment rules). */
    async completedIn(sectionId: string, studentUserIds: string[]): Promise<Set<string>> {
      const r = await pool.query<{ s: string }>(
        `select distinct student_user_id s from ${s}.enrollments where student_user_id = any($1::text[]) and section_id = $2 and status = 'COMPLETED'`,
        [studentUserIds, sectionId],
      );
      return new Set(r.rows.map((x) => x.s));
    },
    /** The saga of one enrollment: its state and the full timeline (step, outcome, time, event id). */
    async saga(enrollmentId: string) {
      const e = await pool.query(`select * from ${s}.enrollments where enrollment_id = $1`, [enrollmentId]);
      if (!e.rows[0]) return undefined;
      const t = await pool.query(
        `select step, outcome, event_type "eventType", event_id "eventId", detail, at from ${s}.saga_timeline where enrollment_id = $1 order by at, step`,
        [enrollmentId],
      );
      return { enrollment: e.rows[0] as Record<string, unknown>, timeline: t.rows };
    },
    /**
     * Sagas by status, current step and/or student, keyset-paginated by (updated_at, enrollment_id).
     * `stuckBefore`: only sagas neither COMPLETED nor FAILED that last changed before that instant.
     */
    async sagas(filter: {
      status?: string;
      step?: string;
      studentUserId?: string;
      stuckBefore?: Date;
      after?: { updatedAt: string; enrollmentId: string };
      limit: number;
    }) {
      const r = await pool.query(
        `select enrollment_id "enrollmentId", student_user_id "studentUserId", status, current_step "currentStep", failed_step "failedStep",
           failure_reason "failureReason", updated_at "updatedAt" from ${s}.enrollments
         where ($1::text is null or status = $1) and ($2::text is null or current_step = $2)
           and ($3::timestamptz is null or (updated_at, enrollment_id) > ($3, $4))
           and ($6::text is null or student_user_id = $6)
           and ($7::timestamptz is null or (status not in ('COMPLETED', 'FAILED') and updated_at < $7))
         order by updated_at, enrollment_id limit $5`,
        [
          filter.status ?? null,
          filter.step ?? null,
          filter.after?.updatedAt ?? null,
          filter.after?.enrollmentId ?? '',
          filter.limit,
          filter.studentUserId ?? null,
          filter.stuckBefore ?? null,
        ],
      );
      return r.rows as Array<Record<string, unknown>>;
    },
    /** Sagas that are neither completed nor failed and made no progress for longer than `olderThanMs`. */
    async stuck(olderThanMs: number, now: Date) {
      const r = await pool.query(
        `select enrollment_id "enrollmentId", status, current_step "currentStep", updated_at "updatedAt" from ${s}.enrollments
         where status not in ('COMPLETED', 'FAILED') and updated_at < $1 order by updated_at limit 500`,
        [new Date(now.getTime() - olderThanMs)],
      );
      return r.rows as Array<Record<string, unknown>>;
    },
  };
}
