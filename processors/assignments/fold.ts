import type { Rules } from '../../lib/config';
import type { EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { EmitSpec } from '../shared/emit';
import { unhandled } from '../shared/handled';
import { detectConflicts, slotViolation, workload, type Slot } from './handlers';

/**
 * Assignments on load → fold → flush: the chunk's teachers' assignments and the schedules of the days and
 * teachers or sections its new schedules name are read once; every event is folded over them in memory (a
 * teacher's workload after each change, a new schedule's conflicts with what is there and with the
 * chunk's earlier ones); each table is written once. Pure.
 */
export const FOLDED = [
  'teacher.assigned.to.course',
  'teacher.assignment.removed',
  'schedule.created',
  'student.enrolled',
  'schedule.conflict.detected',
] as const;
export type FoldedEvent = SchoolEvent<(typeof FOLDED)[number]>;

export interface ConflictRow {
  scheduleId: string;
  conflictingScheduleId: string;
  conflictType: string;
  detectedAt: string;
}

export interface AssignmentRow {
  assignmentId: string;
  teacherUserId: string;
  sectionId: string;
  courseId: string;
  weeklyHours: number;
  startDate: string;
  active: boolean;
  removedReason: string | null;
}

export interface ScheduleRow extends Slot {
  courseId: string;
  room: string | null;
}

export interface WorkloadRow {
  teacherUserId: string;
  weeklyHours: number;
  assignmentCount: number;
  overloaded: boolean;
  updatedAt: string;
}

export interface AssignmentsState {
  assignments: Map<string, AssignmentRow>;
  changedAssignments: Set<string>;
  schedules: Map<string, ScheduleRow>;
  newSchedules: Set<string>;
  /** By teacher: the last workload the chunk computed. */
  workloads: Map<string, WorkloadRow>;
  /** Section → its earliest enrollment seen in the chunk. */
  eligible: Map<string, string>;
  /** By (schedule, conflicting schedule, type): the first detection seen in the chunk. */
  conflicts: Map<string, ConflictRow>;
}

export const emptyState = (): AssignmentsState => ({
  assignments: new Map(),
  changedAssignments: new Set(),
  schedules: new Map(),
  newSchedules: new Set(),
  workloads: new Map(),
  eligible: new Map(),
  conflicts: new Map(),
});

/** The teacher's workload over their active assignments now (emitted after every assignment change). */
function recomputeWorkload(state: AssignmentsState, teacher: string, rules: Pick<Rules, 'maxWeeklyHours'>, at: string): EmitSpec {
  const hours = [...state.assignments.values()].filter((a) => a.teacherUserId === teacher && a.active).map((a) => a.weeklyHours);
  const spec = workload(teacher, hours, rules.maxWeeklyHours);
  const p = spec.payload as EventPayloads['workload.updated'];
  const prev = state.workloads.get(teacher);
  state.workloads.set(teacher, {
    teacherUserId: teacher,
    weeklyHours: p.weeklyHours,
    assignmentCount: p.assignmentCount,
    overloaded: p.overloaded,
    updatedAt: prev && prev.updatedAt > at ? prev.updatedAt : at,
  });
  return spec;
}

/** Refuses a schedule whose slot breaks SCHEDULE_SLOT_INVALID (decided from the event alone, before any fact it waits for). */
export function refuseBadSlot(p: EventPayloads['schedule.created'], rules: Pick<Rules, 'schoolDay'>): void {
  const bad = slotViolation(p, rules.schoolDay);
  if (bad) throw new RuleViolationError(`schedule ${p.scheduleId}: ${bad.message}`, 'SCHEDULE_SLOT_INVALID');
}

/** Applies one event; the events it causes. Throws RuleViolationError to refuse it. */
export function foldAssignments(
  state: AssignmentsState,
  event: FoldedEvent,
  rules: Pick<Rules, 'maxWeeklyHours' | 'schoolDay'>,
): EmitSpec[] {
  switch (event.eventType) {
    case 'teacher.assigned.to.course': {
      const p = event.payload;
      const before = state.assignments.get(p.assignmentId);
      state.assignments.set(p.assignmentId, {
        assignmentId: p.assignmentId,
        teacherUserId: before?.teacherUserId ?? p.teacherUserId,
        sectionId: before?.sectionId ?? p.sectionId,
        courseId: before?.courseId ?? p.courseId,
        weeklyHours: p.weeklyHours,
        startDate: before?.startDate ?? p.startDate,
        active: true,
        removedReason: before?.removedReason ?? null,
      });
      state.changedAssignments.add(p.assignmentId);
      return [recomputeWorkload(state, p.teacherUserId, rules, event.timestamp)];
    }
    case 'teacher.assignment.removed': {
      const p = event.payload;
      const before = state.assignments.get(p.assignmentId);
      if (!before) throw new RuleViolationError(`assignment ${p.assignmentId} does not exist`);
      state.assignments.set(p.assignmentId, { ...before, active: false, removedReason: p.reason });
      state.changedAssignments.add(p.assignmentId);
      return [recomputeWorkload(state, p.teacherUserId, rules, event.timestamp)];
    }
    case 'schedule.created': {
      const p = event.payload;
      refuseBadSlot(p, rules);
      const existing = [...state.schedules.values()].filter(
        (s) => s.dayOfWeek === p.dayOfWeek && (s.teacherUserId === p.teacherUserId || s.sectionId === p.sectionId),
      );
      if (!state.schedules.has(p.scheduleId)) {
        state.schedules.set(p.scheduleId, { ...p, room: p.room ?? null });
        state.newSchedules.add(p.scheduleId);
      }
      // The decision only: conflicts are recorded from their events (below), live and in a rebuild alike; a
      // rebuild reading the partitions in another interleaving would see the pair from the other side.
      return detectConflicts(p, existing);
    }
    case 'student.enrolled': {
      const seen = state.eligible.get(event.payload.sectionId);
      if (seen === undefined || Date.parse(event.timestamp) < Date.parse(seen))
        state.eligible.set(event.payload.sectionId, event.timestamp);
      return [];
    }
    case 'schedule.conflict.detected': {
      const p = event.payload;
      const key = JSON.stringify([p.scheduleId, p.conflictingScheduleId, p.conflictType]);
      if (!state.conflicts.has(key))
        state.conflicts.set(key, {
          scheduleId: p.scheduleId,
          conflictingScheduleId: p.conflictingScheduleId,
          conflictType: p.conflictType,
          detectedAt: event.timestamp,
        });
      return [];
    }
    default:
      return unhandled(event);
  }
}
