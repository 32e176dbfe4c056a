import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { toEvents } from '../shared/emit';
import { ENROLLMENT_FACTS, loadGate, type Claim, type EnrolledGate, type EnrollmentFact } from '../shared/enrolled';
import { ERASURE, erasureWrites, onPersonalDataErased } from '../shared/erasure';
import { narrow, unhandled } from '../shared/handled';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold, Emitted, ProjectContext } from '../runtime/types';
import { averageKeyOf, foldGradeRecorded, foldGradeUpdated, storedGrade, type Folded } from './fold';
import { foldSetup, loadSetup, SETUP, setupWrites, type SetupState } from './setup';
import { flushGrades, loadGrades, type GradesState } from './store';

const averageLock = (k: { studentUserId: string; courseId: string; periodId: string }): string =>
  `avg:${k.studentUserId}:${k.courseId}:${k.periodId}`;

const SAGA_STEPS: ReadonlySet<EventType> = new Set([
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
]);

/** The grades themselves (fold.ts, store.ts): O(1) per grade. */
const GRADES = ['grade.recorded', 'grade.updated'] as const satisfies readonly EventType[];

/** What the enrolled-student gate holds back (processors/shared/enrolled.ts): grades, their corrections, evaluations. */
const GATED = [...GRADES, 'competency.evaluated'] as const satisfies readonly EventType[];
type Gated = SchoolEvent<(typeof GATED)[number]>;
const GATED_TYPES: ReadonlySet<EventType> = new Set(GATED);
/** Events the gate learns its facts from that nothing else here needs. */
const FACTS_ONLY = ['enrollment.completed'] as const satisfies readonly EventType[];

/**
 * Every handled type is applied a chunk at a time: the grades, the setup and saga events (setup.ts), the facts, and
 * a person's erasure (their comments in grades and competencies, and in parked events, become the marker).
 */
export const HANDLES: readonly EventType[] = [...GRADES, ...SETUP, ...FACTS_ONLY, ...ERASURE];
const GRADE_TYPES: ReadonlySet<EventType> = new Set(GRADES);
const FACT_TYPES: ReadonlySet<EventType> = new Set(ENROLLMENT_FACTS);
/** Not the setup's: read by the fold alone. */
const NOT_SETUP: ReadonlySet<EventType> = new Set([...GRADES, ...FACTS_ONLY, ...ERASURE]);

/**
 * Where grades keeps a person's decrypted personal values: the teacher's comment of a grade and of a competency
 * evaluation (the student's, by the schemas' piiSubject), and the personal fields of the events it parks.
 */
const eraseCopies = erasureWrites(
  [
    { table: 'grades', subject: 'student_user_id', columns: ['comment'] },
    { table: 'competencies', subject: 'student_user_id', columns: ['comment'] },
  ],
  GATED,
);

/**
 * The locks of an event's rows (the runtime takes a chunk's locks up front, in order, before the load). One
 * enrollment's steps come from three topics: serialised, a compensation cannot miss base records that a
 * concurrent transaction is inserting. A student's gated events and the facts about the student share a lock:
 * a grade is parked and its fact learned in one order or the other, never both unseen (a rebuild writes its
 * partitions in parallel), and a release touches only that student's averages.
 */
export function gradesLockKeys(event: SchoolEvent): string[] {
  const student = 'studentUserId' in event.payload ? [`student:${String(event.payload.studentUserId)}`] : [];
  if (event.eventType === 'grade.recorded' || event.eventType === 'grade.updated') return [averageLock(event.payload), ...student];
  if (event.eventType === 'competency.evaluated' || event.eventType === 'enrollment.completed') return student;
  // The erased person's rows are written by chunks holding this lock (a student's grades, evaluations, parked events).
  if (event.eventType === 'user.personal-data.erased') return [`student:${event.payload.userId}`];
  return SAGA_STEPS.has(event.eventType) && 'enrollmentId' in event.payload
    ? [`enrollment:${event.payload.enrollmentId}`, ...(event.eventType === 'enrollment.section.assigned' ? student : [])]
    : [];
}

/** What a gated event claims: its student in its section, about its grade or evaluation. */
function claimOf(e: Gated): Claim {
  const p = e.payload;
  const subject = e.eventType === 'competency.evaluated' ? `competency:${e.payload.evaluationId}` : `grade:${e.payload.gradeId}`;
  return { studentUserId: p.studentUserId, sectionId: p.sectionId, subject, rule: 'GRADE_STUDENT_NOT_ENROLLED' };
}

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = GradesState & { setup: SetupState; gate: EnrolledGate; erased: string[] };

/** Applies an admitted grade or correction: the grade, its average, the events they cause. */
function applyGrade(state: State, e: SchoolEvent<(typeof GRADES)[number]>, rules: Rules, ctx: ProjectContext): Emitted {
  const stored = state.grades.get(e.payload.gradeId);
  const view = { grade: stored, average: state.averages.get(averageKeyOf(stored ?? e.payload)) };
  const r =
    e.eventType === 'grade.recorded'
      ? foldGradeRecorded(e.payload, e.timestamp, view, rules)
      : foldGradeUpdated(e.payload, e.timestamp, view, rules);
  if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
  state.grades.set(r.grade.gradeId, r.grade);
  state.changedGrades.add(r.grade.gradeId);
  const k = averageKeyOf(r.grade);
  const prev = state.averages.get(k);
  const { studentUserId, courseId, periodId } = r.grade;
  state.averages.set(k, {
    studentUserId,
    courseId,
    periodId,
    ...r.average,
    updatedAt: prev?.updatedAt !== undefined && prev.updatedAt > e.timestamp ? prev.updatedAt : e.timestamp,
    averaged: (prev?.averaged ?? false) || r.averaged,
  });
  state.changedAverages.add(k);
  return toEvents(e, r.emit, ctx);
}

/** Applies an admitted gated event (on arrival, or released). */
function apply(state: State, e: Gated, rules: Rules, ctx: ProjectContext): Emitted {
  if (e.eventType === 'competency.evaluated') return toEvents(e, foldSetup(state.setup, e), ctx);
  return applyGrade(state, narrow(e, GRADES), rules, ctx);
}

/**
 * A gated event on arrival: refused (dead-lettered) on what it says and on grades' own rows, parked behind a
 * parked event about the same grade or evaluation, applied when its student is known to be enrolled in its
 * section, parked otherwise. A correction is not itself gated: it follows its grade.
 */
function admit(state: State, e: Gated, rules: Rules, ctx: ProjectContext): Emitted {
  const claim = claimOf(e);
  const behind = state.gate.behind(claim.subject);
  const refuse = (r: Folded): void => {
    if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
  };
  // The grade a parked grade.recorded will become: what a duplicate or a correction of it is checked against.
  const parked = behind ? state.gate.parkedAbout(claim.subject).find((x) => x.eventType === 'grade.recorded') : undefined;
  const parkedGrade = parked ? storedGrade(narrow(parked, ['grade.recorded']).payload, parked.timestamp) : undefined;
  switch (e.eventType) {
    case 'grade.recorded':
      refuse(
        foldGradeRecorded(e.payload, e.timestamp, { grade: state.grades.get(e.payload.gradeId) ?? parkedGrade, average: undefined }, rules),
      );
      break;
    case 'grade.updated':
      if (!behind) return applyGrade(state, e, rules, ctx);
      if (parkedGrade) refuse(foldGradeUpdated(e.payload, e.timestamp, { grade: parkedGrade, average: undefined }, rules));
      break;
    case 'competency.evaluated':
      break;
    default:
      return unhandled(e);
  }
  if (behind) state.gate.park(e, { ...behind, subject: claim.subject }, ctx.position);
  else if (state.gate.knows(claim.studentUserId, claim.sectionId)) return apply(state, e, rules, ctx);
  else state.gate.park(e, claim, ctx.position);
  return [];
}

/** Everything grades handles on the load–fold–flush model: O(1) per grade, a few statements per chunk. */
export function gradesFold(rules: Rules): ChunkFold<State> {
  return {
    handles: HANDLES,
    async load(tx, events) {
      const facts = events.filter((e) => FACT_TYPES.has(e.eventType)).map((e) => narrow(e, ENROLLMENT_FACTS));
      const claims = events.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => claimOf(narrow(e, GATED)));
      const gate = await loadGate(tx, facts, claims);
      // The parked events this chunk may release or park behind need their rows too.
      const all = [...events, ...gate.inbox.held().map((r) => r.event)];
      const grades = all.filter((e) => GRADE_TYPES.has(e.eventType)).map((e) => narrow(e, GRADES));
      const setup = all.filter((e) => !NOT_SETUP.has(e.eventType)).map((e) => narrow(e, SETUP));
      return { ...(await loadGrades(tx, grades)), setup: await loadSetup(tx, setup), gate, erased: [] };
    },
    fold(state, input, ctx) {
      const event = narrow(input, HANDLES);
      const release = (fact: EnrollmentFact): Emitted =>
        state.gate.release(state.gate.learn(fact), (e) => apply(state, narrow(e, GATED), rules, ctx), ctx.logger);
      if (GATED_TYPES.has(event.eventType)) return admit(state, narrow(event, GATED), rules, ctx);
      if (event.eventType === 'enrollment.completed') return release(narrow(event, ['enrollment.completed']));
      if (event.eventType === 'user.personal-data.erased') {
        state.erased = onPersonalDataErased(state.erased, event.payload);
        return [];
      }
      const out = toEvents(event, foldSetup(state.setup, narrow(event, SETUP)), ctx);
      if (event.eventType === 'enrollment.section.assigned') out.push(...release(narrow(event, ['enrollment.section.assigned'])));
      return out;
    },
    async flush(tx, state) {
      await flushGrades(tx, state);
      const all = oneStatement([...setupWrites(state.setup), ...state.gate.writes()]);
      if (all) await tx.query(all.text, all.values);
      // After the writes above, in a statement of its own: it must see the rows this chunk wrote.
      const erasing = oneStatement(eraseCopies(state.erased));
      if (erasing) await tx.query(erasing.text, erasing.values);
    },
  };
}
