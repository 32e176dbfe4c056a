import type { Rules } from '../../lib/config';
import type { SchoolEvent } from '../../schemas/generated/events';
import type { ChunkFold } from '../runtime/types';
import { narrow } from '../shared/handled';
import { toEvents } from '../shared/emit';
import { foldAssignments, FOLDED, type AssignmentsState } from './fold';
import { flushAssignments, loadAssignments } from './store';

/**
 * The locks of an event's rows, taken by the runtime for a whole chunk up front, in order, before the load: a
 * teacher's workload, and the teacher's and the section's day for a new schedule (so concurrent chunks, a
 * rebuild's partitions, see each other's rows).
 */
export function assignmentsLockKeys(event: SchoolEvent): string[] {
  if (event.eventType === 'teacher.assigned.to.course' || event.eventType === 'teacher.assignment.removed')
    return [`workload:${event.payload.teacherUserId}`];
  if (event.eventType === 'schedule.created')
    return [`t:${event.payload.teacherUserId}:${event.payload.dayOfWeek}`, `s:${event.payload.sectionId}:${event.payload.dayOfWeek}`];
  return [];
}

/** Every handled type a chunk at a time (load, fold, flush). */
export const HANDLES = FOLDED;

export function assignmentsFold(rules: Rules): ChunkFold<AssignmentsState> {
  return {
    handles: FOLDED,
    load: (tx, events) =>
      loadAssignments(
        tx,
        events.map((e) => narrow(e, FOLDED)),
      ),
    fold(state, input, ctx) {
      const event = narrow(input, FOLDED);
      return toEvents(event, foldAssignments(state, event, rules), ctx);
    },
    flush: flushAssignments,
  };
}
