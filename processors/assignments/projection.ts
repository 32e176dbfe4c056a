import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold, Emitted, Position, ProjectContext } from '../runtime/types';
import { ERASURE, erasureWrites, onPersonalDataErased } from '../shared/erasure';
import { FactGate, loadParked, type Claim, type Need } from '../shared/gate';
import { narrow, unhandled } from '../shared/handled';
import { toEvents } from '../shared/emit';
import { AssignmentFacts, courseFact, loadAssignmentFacts, teacherFact, teacherFactOf } from './facts';
import { foldAssignments, FOLDED, refuseBadSlot, type AssignmentsState } from './fold';
import { flushAssignments, loadAssignments } from './store';

/**
 * The locks of an event's rows, taken by the runtime for a whole chunk up front, in order, before the load: a
 * teacher's workload, and the teacher's and the section's day for a new schedule (so concurrent chunks, a
 * rebuild's partitions, see each other's rows). The gate's facts are locked by the events that teach them and
 * shared by those that read them (assignmentsSharedLockKeys): an assignment is parked and its fact learned in one
 * order or the other, never both unseen.
 */
export function assignmentsLockKeys(event: SchoolEvent): string[] {
  if (event.eventType === 'teacher.assigned.to.course' || event.eventType === 'teacher.assignment.removed')
    return [`workload:${event.payload.teacherUserId}`];
  if (event.eventType === 'schedule.created')
    return [`t:${event.payload.teacherUserId}:${event.payload.dayOfWeek}`, `s:${event.payload.sectionId}:${event.payload.dayOfWeek}`];
  // A teacher's assignment rows are written by chunks holding the workload lock.
  if (event.eventType === 'user.personal-data.erased') return [`workload:${event.payload.userId}`];
  if (event.eventType === 'user.created') return teacherFactOf(event.payload) === undefined ? [] : [`ref:teacher:${event.payload.userId}`];
  if (event.eventType === 'course.assigned') return [`ref:section:${event.payload.sectionId}`];
  return [];
}

/** A gated event reads its teacher's and its section's facts: it queues behind their writers, not behind other assignments. */
export function assignmentsSharedLockKeys(event: SchoolEvent): string[] {
  if (event.eventType !== 'teacher.assigned.to.course' && event.eventType !== 'schedule.created') return [];
  return [`ref:teacher:${event.payload.teacherUserId}`, `ref:section:${event.payload.sectionId}`];
}

/** academic's and users' events the gate learns its facts from (facts.ts). */
const FACT_EVENTS = ['user.created', 'course.assigned'] as const satisfies readonly EventType[];

/**
 * What the gate holds back (processors/shared/gate.ts): assignments and schedules whose teacher is not known as a
 * TEACHER or whose course is not known as one of the section's; a removal only waits behind its parked assignment.
 */
const GATED = ['teacher.assigned.to.course', 'schedule.created', 'teacher.assignment.removed'] as const satisfies readonly EventType[];
type Gated = SchoolEvent<(typeof GATED)[number]>;
const GATED_TYPES: ReadonlySet<EventType> = new Set(GATED);

/** Every handled type a chunk at a time (load, fold, flush): its own events, the facts, and a person's erasure (issue 21). */
export const HANDLES = [...FOLDED, ...FACT_EVENTS, ...ERASURE] as const satisfies readonly EventType[];
const IS_FOLDED: ReadonlySet<EventType> = new Set(FOLDED);

/** What a gated event needs, in order: its teacher a TEACHER, its course one of its section's. */
const needsOf = (p: { teacherUserId: string; sectionId: string; courseId: string }): Need[] => [
  { fact: teacherFact(p.teacherUserId), rule: 'TEACHER_NOT_A_TEACHER' },
  { fact: courseFact(p.sectionId, p.courseId), rule: 'ASSIGNMENT_COURSE_NOT_IN_SECTION' },
];

/** The facts an event teaches (what waits on them is what it may release). */
function taughtBy(e: SchoolEvent): string[] {
  if (e.eventType === 'user.created') return [teacherFactOf(e.payload)].filter((f) => f !== undefined);
  if (e.eventType === 'course.assigned') return [courseFact(e.payload.sectionId, e.payload.courseId)];
  return [];
}

/** Where a gated event is filed: its teacher (the gate's person column) in its section, about its assignment or schedule. */
function claimOf(e: Gated): Claim {
  const p = e.payload;
  const subject = e.eventType === 'schedule.created' ? `schedule:${e.payload.scheduleId}` : `assignment:${e.payload.assignmentId}`;
  return { studentUserId: p.teacherUserId, sectionId: p.sectionId, subject };
}

/**
 * Where assignments keeps a decrypted personal value: why a teacher's assignment ended (the teacher's, by piiSubject),
 * also in a removal it parks.
 */
const eraseCopies = erasureWrites([{ table: 'assignments', subject: 'teacher_user_id', columns: ['removed_reason'] }], GATED);

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = AssignmentsState & { gate: FactGate; facts: AssignmentFacts; erased: string[] };

/**
 * A gated event on arrival (or admitted again, at the position it was read, when a fact it waited on came): a
 * schedule refused (dead-lettered) on its slot alone, parked behind a parked event about the same assignment or
 * schedule, applied when its teacher and course are known, parked on the first that is not. A removal is not
 * itself gated: it follows its assignment.
 */
function admit(state: State, e: Gated, rules: Rules, ctx: ProjectContext, position: Position): Emitted {
  if (e.eventType === 'schedule.created') refuseBadSlot(e.payload, rules);
  const claim = claimOf(e);
  const behind = state.gate.behind(claim.subject);
  if (behind) {
    state.gate.parkBehind(e, behind, claim.subject, position);
    return [];
  }
  const need = e.eventType === 'teacher.assignment.removed' ? undefined : state.gate.firstUnknown(needsOf(e.payload));
  if (!need) return toEvents(e, foldAssignments(state, e, rules), ctx);
  state.gate.park(e, claim, need, position);
  return [];
}

export function assignmentsFold(rules: Rules): ChunkFold<State> {
  return {
    handles: HANDLES,
    async load(tx, events) {
      const subjects = events.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => claimOf(narrow(e, GATED)).subject);
      const parked = await loadParked(tx, events.flatMap(taughtBy), subjects, {
        exclusive: assignmentsLockKeys,
        shared: assignmentsSharedLockKeys,
      });
      // The parked events this chunk may release or park behind need their rows and facts too.
      const all = [...events, ...parked.map((r) => r.event)];
      const gated = all.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => narrow(e, GATED).payload);
      const facts = await loadAssignmentFacts(
        tx,
        gated.map((p) => p.teacherUserId),
        gated.map((p) => p.sectionId),
      );
      const state = await loadAssignments(
        tx,
        all.filter((e) => IS_FOLDED.has(e.eventType)).map((e) => narrow(e, FOLDED)),
      );
      return { ...state, gate: new FactGate(facts.known, parked), facts, erased: [] };
    },
    fold(state, input, ctx) {
      const event = narrow(input, HANDLES);
      const readmit = (e: SchoolEvent, position: Position): Emitted => admit(state, narrow(e, GATED), rules, ctx, position);
      const release = (fact: string | undefined): Emitted => state.gate.teach(fact, readmit, ctx.logger);
      switch (event.eventType) {
        case 'teacher.assigned.to.course':
        case 'schedule.created':
        case 'teacher.assignment.removed':
          return admit(state, event, rules, ctx, ctx.position);
        case 'user.created':
          return release(state.facts.learnTeacher(event.payload));
        case 'course.assigned':
          return release(state.facts.learnCourse(event.payload));
        case 'user.personal-data.erased':
          state.erased = onPersonalDataErased(state.erased, event.payload);
          return [];
        case 'student.enrolled':
        case 'schedule.conflict.detected':
          return toEvents(event, foldAssignments(state, event, rules), ctx);
        default:
          return unhandled(event);
      }
    },
    async flush(tx, state) {
      await flushAssignments(tx, state);
      const all = oneStatement([...state.facts.writes(), ...state.gate.writes()]);
      if (all) await tx.query(all.text, all.values);
      // After the writes above, in a statement of its own: it must see the rows this chunk wrote.
      const erasing = oneStatement(eraseCopies(state.erased));
      if (erasing) await tx.query(erasing.text, erasing.values);
    },
  };
}
