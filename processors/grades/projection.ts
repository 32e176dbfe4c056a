import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { toEvents } from '../shared/emit';
import { ENROLLMENT_FACTS, enrolledFact, enrolledFactOf, loadEnrolled, type EnrolledFacts } from '../shared/enrolled';
import { factKey, FactGate, loadParked, type Claim, type Need } from '../shared/gate';
import { ERASURE, erasureWrites, onPersonalDataErased } from '../shared/erasure';
import { narrow, unhandled } from '../shared/handled';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold, Emitted, Position, ProjectContext } from '../runtime/types';
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

/** What the gate holds back (processors/shared/gate.ts): grades, their corrections, evaluations. */
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
 * The facts of the sections a grade needs besides the enrollment, kept by the setup (setup.ts) from academic's
 * events, all grow-only: no event removes a course from a section or a period from a year, and a section keeps
 * its year.
 */
const courseFact = (sectionId: string, courseId: string): string => factKey('course', sectionId, courseId);
const sectionFact = (sectionId: string): string => factKey('section', sectionId);
const periodFact = (yearId: string, periodId: string): string => factKey('period', yearId, periodId);

/** The facts the setup's rows hold (loaded, or folded in this chunk). */
function setupFacts(s: SetupState): string[] {
  return [
    ...[...s.courses].flatMap(([x, courses]) => [...courses].map((c) => courseFact(x, c))),
    ...[...s.sectionYears.keys()].map(sectionFact),
    ...[...s.periods].flatMap(([y, periods]) => [...periods.keys()].map((p) => periodFact(y, p))),
  ];
}

/** The facts an academic event teaches (what waits on them is what it may release). */
function taughtBy(e: SchoolEvent): string[] {
  if (e.eventType === 'section.created') return [sectionFact(e.payload.sectionId)];
  if (e.eventType === 'course.assigned') return [courseFact(e.payload.sectionId, e.payload.courseId)];
  if (e.eventType === 'academic.year.started') return e.payload.gradingPeriods.map((p) => periodFact(e.payload.academicYearId, p.periodId));
  if (e.eventType === 'enrollment.completed' || e.eventType === 'enrollment.section.assigned') return [enrolledFactOf(e)];
  return [];
}

/**
 * What a gated event needs, in order: its student enrolled in its section, its course one of the section's, the
 * section's year known and its period one of that year's (GRADE_STUDENT_NOT_ENROLLED, GRADE_COURSE_NOT_IN_SECTION,
 * GRADE_PERIOD_NOT_IN_YEAR).
 */
function needsOf(e: Gated, setup: SetupState): Need[] {
  const p = e.payload;
  const needs: Need[] = [
    { fact: enrolledFact(p.studentUserId, p.sectionId), rule: 'GRADE_STUDENT_NOT_ENROLLED' },
    { fact: courseFact(p.sectionId, p.courseId), rule: 'GRADE_COURSE_NOT_IN_SECTION' },
    { fact: sectionFact(p.sectionId), rule: 'GRADE_PERIOD_NOT_IN_YEAR' },
  ];
  const year = setup.sectionYears.get(p.sectionId);
  if (year !== undefined) needs.push({ fact: periodFact(year, p.periodId), rule: 'GRADE_PERIOD_NOT_IN_YEAR' });
  return needs;
}

/**
 * The locks of an event's rows (the runtime takes a chunk's locks up front, in order, before the load). One
 * enrollment's steps come from three topics: serialised, a compensation cannot miss base records that a
 * concurrent transaction is inserting. A student's gated events and the facts about the student share a lock:
 * a grade is parked and its fact learned in one order or the other, never both unseen (a rebuild writes its
 * partitions in parallel), and a release touches only that student's averages. The section facts are locked by
 * the events that teach them (below) and shared by the gated events that read them (gradesSharedLockKeys).
 */
export function gradesLockKeys(event: SchoolEvent): string[] {
  const student = 'studentUserId' in event.payload ? [`student:${String(event.payload.studentUserId)}`] : [];
  if (event.eventType === 'grade.recorded' || event.eventType === 'grade.updated') return [averageLock(event.payload), ...student];
  if (event.eventType === 'competency.evaluated' || event.eventType === 'enrollment.completed') return student;
  // The erased person's rows are written by chunks holding this lock (a student's grades, evaluations, parked events).
  if (event.eventType === 'user.personal-data.erased') return [`student:${event.payload.userId}`];
  // Pairwise: a grade and its section's creation, a grade and its period's year, a section and its year.
  if (event.eventType === 'section.created') return [`ref:section:${event.payload.sectionId}`, `ref:year:${event.payload.academicYearId}`];
  if (event.eventType === 'course.assigned') return [`ref:section:${event.payload.sectionId}`];
  if (event.eventType === 'academic.year.started')
    return [`ref:year:${event.payload.academicYearId}`, ...event.payload.gradingPeriods.map((p) => `ref:period:${p.periodId}`)];
  return SAGA_STEPS.has(event.eventType) && 'enrollmentId' in event.payload
    ? [`enrollment:${event.payload.enrollmentId}`, ...(event.eventType === 'enrollment.section.assigned' ? student : [])]
    : [];
}

/** A gated event reads its section's facts: it queues behind their writers, not behind the other grades. */
export function gradesSharedLockKeys(event: SchoolEvent): string[] {
  if (!GATED_TYPES.has(event.eventType)) return [];
  const p = narrow(event, GATED).payload;
  return [`ref:section:${p.sectionId}`, `ref:period:${p.periodId}`];
}

/** Where a gated event is filed: its student in its section, about its grade or evaluation. */
function claimOf(e: Gated): Claim {
  const p = e.payload;
  const subject = e.eventType === 'competency.evaluated' ? `competency:${e.payload.evaluationId}` : `grade:${e.payload.gradeId}`;
  return { studentUserId: p.studentUserId, sectionId: p.sectionId, subject };
}

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = GradesState & { setup: SetupState; gate: FactGate; enrolled: EnrolledFacts; erased: string[] };

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
 * A gated event on arrival (or admitted again when a fact it waited on came, at the position it was read):
 * refused (dead-lettered) on what it says and on grades' own rows, parked behind a parked event about the same
 * grade or evaluation, applied when every fact it needs is known, parked on the first one that is not. A
 * correction is not itself gated: it follows its grade.
 */
function admit(state: State, e: Gated, rules: Rules, ctx: ProjectContext, position: Position): Emitted {
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
  if (behind) {
    state.gate.parkBehind(e, behind, claim.subject, position);
    return [];
  }
  const need = state.gate.firstUnknown(needsOf(e, state.setup));
  if (!need) return apply(state, e, rules, ctx);
  state.gate.park(e, claim, need, position);
  return [];
}

/** Everything grades handles on the load–fold–flush model: O(1) per grade, a few statements per chunk. */
export function gradesFold(rules: Rules): ChunkFold<State> {
  return {
    handles: HANDLES,
    async load(tx, events) {
      const subjects = events.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => claimOf(narrow(e, GATED)).subject);
      const parked = await loadParked(tx, events.flatMap(taughtBy), subjects, { exclusive: gradesLockKeys, shared: gradesSharedLockKeys });
      // The parked events this chunk may release or park behind need their rows and facts too.
      const all = [...events, ...parked.map((r) => r.event)];
      const gated = all.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => narrow(e, GATED).payload);
      const grades = all.filter((e) => GRADE_TYPES.has(e.eventType)).map((e) => narrow(e, GRADES));
      const setupEvents = all.filter((e) => !NOT_SETUP.has(e.eventType)).map((e) => narrow(e, SETUP));
      const setup = await loadSetup(
        tx,
        setupEvents,
        gated.map((p) => p.sectionId),
      );
      const facts = events.filter((e) => FACT_TYPES.has(e.eventType)).map((e) => narrow(e, ENROLLMENT_FACTS));
      const enrolled = await loadEnrolled(tx, facts, gated);
      const gate = new FactGate([...enrolled.known, ...setupFacts(setup)], parked);
      return { ...(await loadGrades(tx, grades)), setup, gate, enrolled, erased: [] };
    },
    fold(state, input, ctx) {
      const event = narrow(input, HANDLES);
      const readmit = (e: SchoolEvent, position: Position): Emitted => admit(state, narrow(e, GATED), rules, ctx, position);
      const release = (facts: ReadonlyArray<string | undefined>): Emitted => facts.flatMap((f) => state.gate.teach(f, readmit, ctx.logger));
      if (GATED_TYPES.has(event.eventType)) return admit(state, narrow(event, GATED), rules, ctx, ctx.position);
      if (event.eventType === 'enrollment.completed') return release([state.enrolled.learn(narrow(event, ['enrollment.completed']))]);
      if (event.eventType === 'user.personal-data.erased') {
        state.erased = onPersonalDataErased(state.erased, event.payload);
        return [];
      }
      const out = toEvents(event, foldSetup(state.setup, narrow(event, SETUP)), ctx);
      if (event.eventType === 'enrollment.section.assigned')
        out.push(...release([state.enrolled.learn(narrow(event, ['enrollment.section.assigned']))]));
      else out.push(...release(taughtBy(event)));
      return out;
    },
    async flush(tx, state) {
      await flushGrades(tx, state);
      const all = oneStatement([...setupWrites(state.setup), ...state.enrolled.writes(), ...state.gate.writes()]);
      if (all) await tx.query(all.text, all.values);
      // After the writes above, in a statement of its own: it must see the rows this chunk wrote.
      const erasing = oneStatement(eraseCopies(state.erased));
      if (erasing) await tx.query(erasing.text, erasing.values);
    },
  };
}
