import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { EventType, EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { ChunkFold } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { postgresProjection, type EmitSpec } from '../shared/emit';
import { emptyState, foldAssignments, FOLDED, type AssignmentsState } from './fold';
import { detectConflicts, validSlot, workload, type Slot } from './handlers';
import { flushAssignments } from './store';

/** The locks projectAssignments takes for an event (the runtime takes a chunk's locks up front, in order). */
export function assignmentsLockKeys(event: SchoolEvent): string[] {
  if (event.eventType === 'teacher.assigned.to.course' || event.eventType === 'teacher.assignment.removed')
    return [`workload:${event.payload.teacherUserId}`];
  if (event.eventType === 'schedule.created')
    return [`t:${event.payload.teacherUserId}:${event.payload.dayOfWeek}`, `s:${event.payload.sectionId}:${event.payload.dayOfWeek}`];
  return [];
}

async function workloadOf(tx: PoolClient, teacher: string, rules: Rules, at: string): Promise<EmitSpec> {
  // Serialise changes per teacher, so two partitions never compute the same teacher's total at once.
  await tx.query('select pg_advisory_xact_lock(hashtext(current_schema() || $1))', [`workload:${teacher}`]);
  const r = await tx.query<{ weekly_hours: number }>('select weekly_hours from assignments where teacher_user_id = $1 and active', [
    teacher,
  ]);
  const spec = workload(
    teacher,
    r.rows.map((x) => x.weekly_hours),
    rules.maxWeeklyHours,
  );
  const p = spec.payload as EventPayloads['workload.updated'];
  await tx.query(
    `insert into workloads values ($1, $2, $3, $4, $5) on conflict (teacher_user_id) do update set weekly_hours = excluded.weekly_hours,
       assignment_count = excluded.assignment_count, overloaded = excluded.overloaded,
       updated_at = greatest(workloads.updated_at, excluded.updated_at)`,
    [teacher, p.weeklyHours, p.assignmentCount, p.overloaded, at],
  );
  return spec;
}

/** Applied one by one (they read and lock the teacher's and the section's rows); the others are folded (fold.ts). */
const PER_EVENT = ['teacher.assigned.to.course', 'teacher.assignment.removed', 'schedule.created'] as const satisfies readonly EventType[];
type Handled = (typeof PER_EVENT)[number];
export const HANDLES = [...PER_EVENT, ...FOLDED] as const satisfies readonly EventType[];

async function decide(event: SchoolEvent<Handled>, tx: PoolClient, rules: Rules): Promise<EmitSpec[]> {
  switch (event.eventType) {
    case 'teacher.assigned.to.course': {
      const p = event.payload;
      await tx.query(
        `insert into assignments (assignment_id, teacher_user_id, section_id, course_id, weekly_hours, start_date) values ($1, $2, $3, $4, $5, $6)
         on conflict (assignment_id) do update set weekly_hours = excluded.weekly_hours, active = true`,
        [p.assignmentId, p.teacherUserId, p.sectionId, p.courseId, p.weeklyHours, p.startDate],
      );
      return [await workloadOf(tx, p.teacherUserId, rules, event.timestamp)];
    }
    case 'teacher.assignment.removed': {
      const p = event.payload;
      const r = await tx.query('update assignments set active = false, removed_reason = $2 where assignment_id = $1', [
        p.assignmentId,
        p.reason,
      ]);
      if (r.rowCount === 0) throw new RuleViolationError(`assignment ${p.assignmentId} does not exist`);
      return [await workloadOf(tx, p.teacherUserId, rules, event.timestamp)];
    }
    case 'schedule.created': {
      const p = event.payload;
      const invalid = validSlot(p);
      if (invalid) throw new RuleViolationError(`schedule ${p.scheduleId}: ${invalid}`);
      // Lock both the teacher's and the section's day, so concurrent new schedules see each other.
      await tx.query(
        'select pg_advisory_xact_lock(hashtext(current_schema() || $1)), pg_advisory_xact_lock(hashtext(current_schema() || $2))',
        [`t:${p.teacherUserId}:${p.dayOfWeek}`, `s:${p.sectionId}:${p.dayOfWeek}`],
      );
      const existing = await tx.query<Slot>(
        `select schedule_id "scheduleId", section_id "sectionId", teacher_user_id "teacherUserId", day_of_week "dayOfWeek", start_minute "startMinute", end_minute "endMinute"
         from schedules where day_of_week = $1 and (teacher_user_id = $2 or section_id = $3)`,
        [p.dayOfWeek, p.teacherUserId, p.sectionId],
      );
      await tx.query('insert into schedules values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (schedule_id) do nothing', [
        p.scheduleId,
        p.sectionId,
        p.courseId,
        p.teacherUserId,
        p.dayOfWeek,
        p.startMinute,
        p.endMinute,
        p.room,
      ]);
      // The decision only: conflicts are recorded from their events (below), live and in a rebuild alike; a
      // rebuild reading the partitions in another interleaving would see the pair from the other side.
      return detectConflicts(p, existing.rows);
    }
    default:
      return unhandled(event);
  }
}

export const projectAssignments = (rules: Rules): ReturnType<typeof postgresProjection> => postgresProjection(PER_EVENT, decide, rules);

/** Enrollments and conflicts a chunk at a time: nothing to load, one statement per table. */
export const assignmentsFold: ChunkFold<AssignmentsState> = {
  handles: FOLDED,
  load: () => Promise.resolve(emptyState()),
  fold(state, event) {
    foldAssignments(state, narrow(event, FOLDED));
    return [];
  },
  flush: flushAssignments,
};
