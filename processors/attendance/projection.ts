import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { oneStatement } from '../runtime/sql';
import type { ChunkFold, Emitted, ProjectContext } from '../runtime/types';
import { toEvents } from '../shared/emit';
import { ENROLLMENT_FACTS, loadGate, type Claim, type EnrolledGate } from '../shared/enrolled';
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
 * What the enrolled-student gate holds back (processors/shared/enrolled.ts): marks, absences and tardies of a
 * student not known enrolled in their section; a justification only waits behind its parked absence.
 */
const GATED = ['attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified'] as const satisfies readonly EventType[];
type Gated = SchoolEvent<(typeof GATED)[number]>;
const GATED_TYPES: ReadonlySet<EventType> = new Set(GATED);
const FACT_TYPES: ReadonlySet<EventType> = new Set(ENROLLMENT_FACTS);

/**
 * Every handled type is folded: attendance's own events, academic's the gate learns from, and a person's erasure
 * (their absences' reasons and justifications, and the personal fields of parked events, become the marker).
 */
export const HANDLES: readonly EventType[] = [...FOLDED, ...ENROLLMENT_FACTS, ...ERASURE];

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
  return STUDENT_TYPES.has(event.eventType) && 'studentUserId' in event.payload
    ? [`attendance:${String(event.payload.studentUserId)}`]
    : [];
};

/** What a gated event claims: its student in its section (a justification names none), about its mark, absence or tardy. */
function claimOf(e: Gated): Omit<Claim, 'sectionId'> & { sectionId?: string } {
  const rule = 'ATTENDANCE_STUDENT_NOT_ENROLLED';
  switch (e.eventType) {
    case 'attendance.marked':
      return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, subject: `mark:${e.payload.attendanceId}`, rule };
    case 'absence.recorded':
      return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, subject: `absence:${e.payload.absenceId}`, rule };
    case 'tardiness.recorded':
      return {
        studentUserId: e.payload.studentUserId,
        sectionId: e.payload.sectionId,
        subject: `tardiness:${e.payload.tardinessId}`,
        rule,
      };
    case 'absence.justified':
      return { studentUserId: e.payload.studentUserId, subject: `absence:${e.payload.absenceId}`, rule };
    default:
      return unhandled(e);
  }
}

/** `erased`: the people the chunk erased, whose stored personal values its flush replaces by the marker. */
export type State = AttendanceState & { gate: EnrolledGate; erased: string[] };

function settle(r: Folded, event: SchoolEvent, ctx: ProjectContext): Emitted {
  if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
  return toEvents(event, r.emit, ctx);
}

/**
 * A gated event on arrival: refused (dead-lettered) on what it says and on attendance's own rows (or the parked
 * event it would correct or justify), parked behind a parked event about the same mark, absence or tardy,
 * applied when its student is known to be enrolled in its section, parked otherwise.
 */
function admit(s: State, e: Gated, rules: Rules, ctx: ProjectContext): Emitted {
  const claim = claimOf(e);
  const behind = s.gate.behind(claim.subject);
  const first = behind ? s.gate.parkedAbout(claim.subject)[0] : undefined;
  const refuse = (v: Folded | undefined): void => {
    if (v && 'violation' in v) throw new RuleViolationError(v.violation, v.rule);
  };
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
  if (behind) s.gate.park(e, { ...behind, subject: claim.subject }, ctx.position);
  else if (claim.sectionId !== undefined && s.gate.knows(claim.studentUserId, claim.sectionId)) return apply(s, e, rules, ctx);
  else s.gate.park(e, { ...claim, sectionId: claim.sectionId ?? '' }, ctx.position);
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
      const facts = events.filter((e) => FACT_TYPES.has(e.eventType)).map((e) => narrow(e, ENROLLMENT_FACTS));
      const claims = events.filter((e) => GATED_TYPES.has(e.eventType)).map((e) => claimOf(narrow(e, GATED)));
      const gate = await loadGate(tx, facts, claims);
      // The parked events this chunk may release or park behind need their rows too.
      const all = [...events, ...gate.inbox.held().map((r) => r.event)].filter((e) => FOLDED_TYPES.has(e.eventType));
      return {
        ...(await loadAttendance(
          tx,
          all.map((e) => narrow(e, FOLDED)),
          rules,
        )),
        gate,
        erased: [],
      };
    },
    fold(state, input, ctx) {
      const event = narrow(input, HANDLES);
      if (FACT_TYPES.has(event.eventType)) {
        const key = state.gate.learn(narrow(event, ENROLLMENT_FACTS));
        return state.gate.release(key, (e) => apply(state, narrow(e, FOLDED), rules, ctx), ctx.logger);
      }
      if (GATED_TYPES.has(event.eventType)) return admit(state, narrow(event, GATED), rules, ctx);
      if (event.eventType === 'user.personal-data.erased') {
        state.erased = onPersonalDataErased(state.erased, event.payload);
        return [];
      }
      return apply(state, narrow(event, FOLDED), rules, ctx);
    },
    async flush(tx, state) {
      await flushAttendance(tx, state);
      const all = oneStatement(state.gate.writes());
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
