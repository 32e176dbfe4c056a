import type { PoolClient } from 'pg';
import { columns } from '../runtime/columns';
import { emptyState, type AssignmentRow, type AssignmentsState, type FoldedEvent, type ScheduleRow } from './fold';

/**
 * What a chunk needs, one query per table: every assignment of the teachers it assigns or unassigns (their
 * workload sums them) and the ones it names, and the schedules of the days it schedules on, for the teachers
 * and sections concerned (a new schedule's conflicts are among them).
 */
export async function loadAssignments(tx: PoolClient, events: FoldedEvent[]): Promise<AssignmentsState> {
  const s = emptyState();
  const teachers = new Set<string>();
  const ids = new Set<string>();
  const days = new Set<string>();
  const sections = new Set<string>();
  const scheduleTeachers = new Set<string>();
  for (const e of events) {
    if (e.eventType === 'teacher.assigned.to.course' || e.eventType === 'teacher.assignment.removed') {
      teachers.add(e.payload.teacherUserId);
      ids.add(e.payload.assignmentId);
    } else if (e.eventType === 'schedule.created') {
      days.add(e.payload.dayOfWeek);
      sections.add(e.payload.sectionId);
      scheduleTeachers.add(e.payload.teacherUserId);
    }
  }
  if (teachers.size) {
    const r = await tx.query<AssignmentRow>(
      `select assignment_id "assignmentId", teacher_user_id "teacherUserId", section_id "sectionId", course_id "courseId",
              weekly_hours "weeklyHours", to_char(start_date, 'YYYY-MM-DD') "startDate", active, removed_reason "removedReason"
       from assignments where teacher_user_id = any($1::text[]) or assignment_id = any($2::text[])`,
      [[...teachers], [...ids]],
    );
    for (const a of r.rows) s.assignments.set(a.assignmentId, a);
  }
  if (days.size) {
    const r = await tx.query<ScheduleRow>(
      `select schedule_id "scheduleId", section_id "sectionId", course_id "courseId", teacher_user_id "teacherUserId",
              day_of_week "dayOfWeek", start_minute "startMinute", end_minute "endMinute", room
       from schedules where day_of_week = any($1::text[]) and (teacher_user_id = any($2::text[]) or section_id = any($3::text[]))`,
      [[...days], [...scheduleTeachers], [...sections]],
    );
    for (const x of r.rows) s.schedules.set(x.scheduleId, x);
  }
  return s;
}

/** The chunk's rows: one statement per table, merged with what is stored. */
export async function flushAssignments(tx: PoolClient, state: AssignmentsState): Promise<void> {
  const assignments = [...state.changedAssignments].map((id) => state.assignments.get(id)!);
  if (assignments.length)
    await tx.query(
      `insert into assignments (assignment_id, teacher_user_id, section_id, course_id, weekly_hours, start_date, active, removed_reason)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::date[], $7::bool[], $8::text[])
       on conflict (assignment_id) do update set weekly_hours = excluded.weekly_hours, active = excluded.active, removed_reason = excluded.removed_reason`,
      columns(assignments, [
        'assignmentId',
        'teacherUserId',
        'sectionId',
        'courseId',
        'weeklyHours',
        'startDate',
        'active',
        'removedReason',
      ]),
    );
  const schedules = [...state.newSchedules].map((id) => state.schedules.get(id)!);
  if (schedules.length)
    await tx.query(
      `insert into schedules (schedule_id, section_id, course_id, teacher_user_id, day_of_week, start_minute, end_minute, room)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[]) on conflict (schedule_id) do nothing`,
      columns(schedules, ['scheduleId', 'sectionId', 'courseId', 'teacherUserId', 'dayOfWeek', 'startMinute', 'endMinute', 'room']),
    );
  const workloads = [...state.workloads.values()];
  if (workloads.length)
    await tx.query(
      `insert into workloads (teacher_user_id, weekly_hours, assignment_count, overloaded, updated_at)
       select * from unnest($1::text[], $2::int[], $3::int[], $4::bool[], $5::timestamptz[])
       on conflict (teacher_user_id) do update set weekly_hours = excluded.weekly_hours, assignment_count = excluded.assignment_count,
         overloaded = excluded.overloaded, updated_at = greatest(workloads.updated_at, excluded.updated_at)`,
      columns(workloads, ['teacherUserId', 'weeklyHours', 'assignmentCount', 'overloaded', 'updatedAt']),
    );
  if (state.eligible.size)
    await tx.query(
      `insert into eligible_sections (section_id, first_enrollment_at) select * from unnest($1::text[], $2::timestamptz[])
       on conflict (section_id) do update set first_enrollment_at = least(eligible_sections.first_enrollment_at, excluded.first_enrollment_at)`,
      [[...state.eligible.keys()], [...state.eligible.values()]],
    );
  const conflicts = [...state.conflicts.values()];
  if (conflicts.length)
    await tx.query(
      `insert into conflicts (schedule_id, conflicting_schedule_id, conflict_type, detected_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) on conflict do nothing`,
      columns(conflicts, ['scheduleId', 'conflictingScheduleId', 'conflictType', 'detectedAt']),
    );
}
