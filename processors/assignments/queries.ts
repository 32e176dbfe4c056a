import type pg from 'pg';
import type { DayOfWeek } from '../../schemas/generated/events';
import { projectionSchema } from '../runtime/names';
import { quoteIdent } from '../runtime/sql';

/** Reads of the assignments read models. */
export function assignmentsQueries(pool: pg.Pool, schema = projectionSchema('assignments')) {
  const s = quoteIdent(schema);
  return {
    async teacherCourses(teacherUserId: string) {
      const r = await pool.query(
        `select assignment_id "assignmentId", section_id "sectionId", course_id "courseId", weekly_hours "weeklyHours" from ${s}.assignments
         where teacher_user_id = $1 and active order by section_id, course_id`,
        [teacherUserId],
      );
      return r.rows as Array<Record<string, unknown>>;
    },
    async sectionTeachers(sectionId: string) {
      const r = await pool.query(
        `select teacher_user_id "teacherUserId", course_id "courseId", weekly_hours "weeklyHours" from ${s}.assignments where section_id = $1 and active order by course_id`,
        [sectionId],
      );
      return r.rows as Array<Record<string, unknown>>;
    },
    /** The days of the week on which a section's schedule has a slot (the API's ATTENDANCE_NOT_A_SCHOOL_DAY). */
    async sectionDays(sectionId: string): Promise<DayOfWeek[]> {
      const r = await pool.query<{ day: DayOfWeek }>(`select distinct day_of_week "day" from ${s}.schedules where section_id = $1`, [
        sectionId,
      ]);
      return r.rows.map((x) => x.day);
    },
    /** POST /assignments/validate-availability: the teacher's schedules that overlap a slot (empty = available). */
    async overlapping(teacherUserId: string, dayOfWeek: DayOfWeek, startMinute: number, endMinute: number) {
      const r = await pool.query(
        `select schedule_id "scheduleId", section_id "sectionId", start_minute "startMinute", end_minute "endMinute" from ${s}.schedules
         where teacher_user_id = $1 and day_of_week = $2 and start_minute < $4 and $3 < end_minute order by start_minute`,
        [teacherUserId, dayOfWeek, startMinute, endMinute],
      );
      return r.rows as Array<Record<string, unknown>>;
    },
  };
}
