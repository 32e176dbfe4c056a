import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold, Emitted, Position, ProjectContext } from '../runtime/types';
import { toEvents } from '../shared/emit';
import { ENROLLMENT_FACTS, enrolledFact, enrolledFactOf, loadEnrolled, type EnrolledFacts } from '../shared/enrolled';
import { FactGate, loadParked, type Claim, type Need } from '../shared/gate';
import { dayOfWeek, loadSchoolDays, schoolDayFact, schoolDayOf, type SchoolDays } from './days';
import { loadSchoolYears, sectionYearFact, yearDatesFact, type SchoolYears } from './years';
import { ERASURE, erasureWrites, onPersonalDataErased } from '../shared/erasure';
import { narrow, unhandled } from '../shared/handled';
import {
  foldAbsence,
  foldGradesInitialized,
  foldJustified,
  foldMarked,
  foldRegister,
  foldSchedule,
  foldTardiness,
  futureDateViolation,
  justifyViolation,
  markFixedViolation,
  tardinessViolation,
  type AttendanceState,
  type Folded,
} from './fold';
import { flushAttendance, loadAttendance } from './store';

/** The attendance events and saga steps, applied a chunk at a time (load, fold, flush). */
const FOLDED = [
  'attendance.marked',
  'absence.recorded',
  'tardiness.recorded',
  'absence.justified',
  'schedule.created',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialized',
] as const satisfies readonly EventType[];
type FoldedEvent = SchoolEvent<(typeof FOLDED)[number]>;
const FOLDED_TYPES: ReadonlySet<EventType> = new Set(FOLDED);

/**
 * What the gate holds back (processors/shared/gate.ts): marks, absences and tardies of a student not known enrolled
 * in their section, or dated on a day of the week the section has no lesson; a justification only waits behind its
 * parked absence.
 */
const GATED = ['attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified'] as const satisfies readonly EventType[];
type Gated = SchoolEvent<(typeof GATED)[number]>;
const GATED_TYPES: ReadonlySet<EventType> = new Set(GATED);
const FACT_TYPES: ReadonlySet<EventType> = new Set(ENROLLMENT_FACTS);
/** academic's events the school years are learned from (processors/attendance/years.ts). */
const YEAR_FACTS = ['section.created', 'academic.year.started'] as const satisfies readonly EventType[];

/**
 * Every handled type is folded: attendance's own events, academic's the gate learns from, and a person's erasure
 * (their absences' reasons and justifications, and the personal fields of parked events, become the marker).
 */
export const HANDLES: readonly EventType[] = [...FOLDED, ...ENROLLMENT_FACTS, ...YEAR_FACTS, ...ERASURE];

/**
 * Where attendance keeps a person's decrypted personal values: an absence's reason and justification (the
 * student's, by the schemas' piiSubject), and the personal fields of the events it parks.
 */
const eraseCopies = erasureWrites([{ table: 'absences', subject: 'student_user_id', columns: ['reason', 'justification'] }], GATED);

/** Types that read and write a student's marks, windows, summaries and parked events (locked per student). */
const STUDENT_TYPES: ReadonlySet<EventType> = new Set([...GATED, ...ENROLLMENT_FACTS]);
/**
 * A student's summary and windows are loaded, folded and written back by one chunk at a time: our
 * producers key these events by student (one partition), the lock covers any producer that does not. The facts
 * about the student take the same lock: a mark is parked and its fact learned in one order or the other, never
 * both unseen (a rebuild writes its partitions in parallel).
 */
export const attendanceLockKeys = (event: SchoolEvent): string[] => {
  // The erased person's absences and parked events are written by chunks holding this lock.
  if (event.eventType === 'user.personal-data.erased') return [`attendance:${event.payload.userId}`];
  // A section's school days and year are written by its schedules and its creation, and read (shared) by its marks
  // (attendanceSharedLockKeys); a year's dates by its start, read by every mark (`ref:years`: a year starts rarely).
  // Pairwise: a mark and its section's schedule or creation, a mark and a year's start, a section and its year.
  if (event.eventType === 'schedule.created') return [`ref:days:${event.payload.sectionId}`];
  if (event.eventType === 'section.created') return [`ref:days:${event.payload.sectionId}`, `ref:year:${event.payload.academicYearId}`];
  if (event.eventType === 'academic.year.started') return ['ref:years', `ref:year:${event.payload.academicYearId}`];
  return STUDENT_TYPES.has(event.eventType) && 'studentUserId' in event.payload
    ? [`attendance:${String(event.payload.studentUserId)}`]
    : [];
};

/** The dated events the school-day rule applies to (a justification names no section or date: it follows its absence). */
type Dated = SchoolEvent<'attendance.marked' | 'absence.recorded' | 'tardiness.recorded'>;
const DATED_TYPES: ReadonlySet<EventType> = new Set(['attendance.marked', 'absence.recorded', 'tardiness.recorded']);

/** A dated event reads its section's school days: it queues behind the section's schedules, not behind other marks. */
export const attendanceSharedLockKeys = (event: SchoolEvent): string[] =>
  DATED_TYPES.has(event.eventType) ? [`ref:days:${(event as Dated).payload.sectionId}`, 'ref:years'] : [];

/**
 * What a dated event needs, in order: its student enrolled in its section, its date a school day of the section,
 * and within the section's academic year.
 */
const needsOf = (e: Dated, years: SchoolYears): Need[] => [
  { fact: enrolledFact(e.payload.studentUserId, e.payload.sectionId), rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED' },
  { fact: schoolDayFact(e.payload.sectionId, dayOfWeek(e.payload.date)), rule: 'ATTENDANCE_NOT_A_SCHOOL_DAY' },
  ...years.needs(e.payload.sectionId, e.payload.date),
];

/** The facts an event teaches (what waits on them is what it may release). */
function taughtBy(e: SchoolEvent): string[] {
  if (e.eventType === 'schedule.created') return [schoolDayOf(e.payload)];
  if (e.eventType === 'section.created') return [sectionYearFact(e.payload.sectionId)];
  if (e.eventType === 'academic.year.started') return [yearDatesFact(e.payload.academicYearId)];
  if (e.eventType === 'enrollment.completed' || e.eventType === 'enrollment.section.assigned') return [enrolledFactOf(e)];
  return [];
}

/** Where a gated event is filed: its student in its section (a justification names none), about its mark, absence or tardy. */
function claimOf(e: Gated): Omit<Claim, 'sectionId'> & { sectionId?: string } {
  switch (e.eventType) {
    case 'attendance.marked':
      return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, subject: `mark:${e.payload.attendanceId}` };
    case 'absence.recorded':
      return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, subject: `absence:${e.payload.absenceId}` };
    case 'tardiness.recorded':
      return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, subject: `tardiness:${e.payload.tardinessId}` };
    case 'absence.justified':
      return { studentUserId: e.payload.studentUserId, subject: `absence:${e.payload.absenceId}` };
    default:
      return unhandled(e);
  }
}

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = AttendanceState & { gate: FactGate; enrolled: EnrolledFacts; days: SchoolDays; years: SchoolYears; erased: string[] };

function settle(r: Folded, event: SchoolEvent, ctx: ProjectContext): Emitted {
  if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
  return toEvents(event, r.emit, ctx);
}

/**
 * A gated event on arrival (or admitted again, at the position it was read, when a fact it waited on came):
 * refused (dead-lettered) on what it says and on attendance's own rows (or the parked event it would correct or
 * justify), parked behind a parked event about the same mark, absence or tardy, applied when every fact it needs
 * is known, parked on the first one that is not.
 */
function admit(s: State, e: Gated, rules: Rules, ctx: ProjectContext, position: Position): Emitted {
  const claim = claimOf(e);
  const behind = s.gate.behind(claim.subject);
  const first = behind ? s.gate.parkedAbout(claim.subject)[0] : undefined;
  const refuse = (v: Folded | undefined): void => {
    if (v && 'violation' in v) throw new RuleViolationError(v.violation, v.rule);
  };
  if (e.eventType !== 'absence.justified') refuse(futureDateViolation(e));
  switch (e.eventType) {
    case 'attendance.marked':
      refuse(markFixedViolation(s.marks.get(e.payload.attendanceId) ?? (first && narrow(first, ['attendance.marked']).payload), e.payload));
      break;
    case 'tardiness.recorded':
      refuse(tardinessViolation(e.payload));
      break;
    case 'absence.recorded':
      break;
    case 'absence.justified':
      if (!behind) return settle(foldJustified(s, e.payload, e.timestamp), e, ctx);
      refuse(justifyViolation(first && narrow(first, ['absence.recorded']).payload, e.payload));
      break;
    default:
      return unhandled(e);
  }
  if (behind) {
    s.gate.parkBehind(e, behind, claim.subject, position);
    return [];
  }
  // A justification reaches here only behind nothing: it was settled above.
  const need = s.gate.firstUnknown(needsOf(e as Dated, s.years));
  if (!need) return apply(s, e, rules, ctx);
  s.gate.park(e, { ...claim, sectionId: claim.sectionId ?? '' }, need, position);
  return [];
}

/** Applies an admitted event (on arrival, or released). */
function apply(s: State, event: FoldedEvent, rules: Rules, ctx: ProjectContext): Emitted {
  return settle(foldOne(s, event, rules), event, ctx);
}

export function attendanceFold(rules: Rules): ChunkFold<State> {
  return {
    handles: HANDLES,
    async load(tx, events) {
      const subjects = events.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => claimOf(narrow(e, GATED)).subject);
      const parked = await loadParked(tx, events.flatMap(taughtBy), subjects, {
        exclusive: attendanceLockKeys,
        shared: attendanceSharedLockKeys,
      });
      // The parked events this chunk may release or park behind need their rows and facts too.
      const all = [...events, ...parked.map((r) => r.event)];
      const dated = all.filter((e) => DATED_TYPES.has(e.eventType)).map((e) => (e as Dated).payload);
      const facts = events.filter((e) => FACT_TYPES.has(e.eventType)).map((e) => narrow(e, ENROLLMENT_FACTS));
      const enrolled = await loadEnrolled(tx, facts, dated);
      const days = await loadSchoolDays(
        tx,
        dated.map((p) => p.sectionId),
      );
      const years = await loadSchoolYears(
        tx,
        dated.map((p) => p.sectionId),
        events.filter((e) => e.eventType === 'section.created').map((e) => narrow(e, ['section.created']).payload.academicYearId),
      );
      const state = await loadAttendance(
        tx,
        all.filter((e) => FOLDED_TYPES.has(e.eventType)).map((e) => narrow(e, FOLDED)),
        rules,
      );
      const gate = new FactGate([...enrolled.known, ...days.known, ...years.known()], parked);
      return { ...state, gate, enrolled, days, years, erased: [] };
    },
    fold(state, input, ctx) {
      const event = narrow(input, HANDLES);
      const readmit = (e: SchoolEvent, position: Position): Emitted => admit(state, narrow(e, GATED), rules, ctx, position);
      const release = (fact: string | undefined): Emitted => state.gate.teach(fact, readmit, ctx.logger);
      if (FACT_TYPES.has(event.eventType)) return release(state.enrolled.learn(narrow(event, ENROLLMENT_FACTS)));
      if (GATED_TYPES.has(event.eventType)) return admit(state, narrow(event, GATED), rules, ctx, ctx.position);
      if (event.eventType === 'user.personal-data.erased') {
        state.erased = onPersonalDataErased(state.erased, event.payload);
        return [];
      }
      if (event.eventType === 'section.created') return release(state.years.learnSection(event.payload));
      if (event.eventType === 'academic.year.started') return release(state.years.learnYear(event.payload));
      const out = apply(state, narrow(event, FOLDED), rules, ctx);
      if (event.eventType === 'schedule.created') out.push(...release(state.days.learn(event.payload)));
      return out;
    },
    async flush(tx, state) {
      await flushAttendance(tx, state);
      const all = oneStatement([...state.enrolled.writes(), ...state.days.writes(), ...state.years.writes(), ...state.gate.writes()]);
      if (all) await tx.query(all.text, all.values);
      // After the writes above, in a statement of its own: it must see the rows this chunk wrote.
      const erasing = oneStatement(eraseCopies(state.erased));
      if (erasing) await tx.query(erasing.text, erasing.values);
    },
  };
}

function foldOne(state: AttendanceState, event: FoldedEvent, rules: Rules): Folded {
  switch (event.eventType) {
    case 'attendance.marked':
      return foldMarked(state, event.payload, event.timestamp, rules);
    case 'absence.recorded':
      return foldAbsence(state, event.payload, event.timestamp, rules);
    case 'tardiness.recorded':
      return foldTardiness(state, event.payload, event.timestamp, rules);
    case 'absence.justified':
      return foldJustified(state, event.payload, event.timestamp);
    case 'schedule.created':
      return foldSchedule(state, event.payload);
    case 'enrollment.grades.initialized':
      return foldGradesInitialized(state, event.payload);
    case 'enrollment.attendance.initialized':
      return foldRegister(state, event.payload, event.timestamp);
    default:
      return unhandled(event);
  }
}
