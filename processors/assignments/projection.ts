import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold } from '../runtime/types';
import { ERASURE, erasureWrites, onPersonalDataErased } from '../shared/erasure';
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
  // A teacher's assignment rows are written by chunks holding the workload lock.
  if (event.eventType === 'user.personal-data.erased') return [`workload:${event.payload.userId}`];
  return [];
}

/** Every handled type a chunk at a time (load, fold, flush), and a person's erasure (issue 21). */
export const HANDLES: readonly EventType[] = [...FOLDED, ...ERASURE];
const IS_FOLDED: ReadonlySet<EventType> = new Set(FOLDED);

/** Where assignments keeps a decrypted personal value: why a teacher's assignment ended (the teacher's, by piiSubject). */
const eraseCopies = erasureWrites([{ table: 'assignments', subject: 'teacher_user_id', columns: ['removed_reason'] }], []);

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = AssignmentsState & { erased: string[] };

export function assignmentsFold(rules: Rules): ChunkFold<State> {
  return {
    handles: HANDLES,
    load: async (tx, events) => ({
      ...(await loadAssignments(
        tx,
        events.filter((e) => IS_FOLDED.has(e.eventType)).map((e) => narrow(e, FOLDED)),
      )),
      erased: [],
    }),
    fold(state, input, ctx) {
      const event = narrow(input, [...FOLDED, ...ERASURE]);
      if (event.eventType === 'user.personal-data.erased') {
        state.erased = onPersonalDataErased(state.erased, event.payload);
        return [];
      }
      return toEvents(event, foldAssignments(state, event, rules), ctx);
    },
    async flush(tx, state) {
      await flushAssignments(tx, state);
      // After the writes above, in a statement of its own: it must see the rows this chunk wrote.
      const erasing = oneStatement(eraseCopies(state.erased));
      if (erasing) await tx.query(erasing.text, erasing.values);
    },
  };
}
