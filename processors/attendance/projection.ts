import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { ChunkFold } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { toEvents } from '../shared/emit';
import {
  foldAbsence,
  foldGradesInitialized,
  foldJustified,
  foldMarked,
  foldRegister,
  foldSchedule,
  foldTardiness,
  type AttendanceState,
  type Folded,
} from './fold';
import { flushAttendance, loadAttendance } from './store';

/** Every handled type is applied a chunk at a time (load, fold, flush). */
const FOLDED = [
  'attendance.marked',
  'absence.recorded',
  'tardiness.recorded',
  'absence.justified',
  'schedule.created',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialized',
] as const satisfies readonly EventType[];

export const HANDLES: readonly EventType[] = FOLDED;

/** Types that read and write a student's marks, windows and summaries (locked per student). */
const STUDENT_TYPES: ReadonlySet<EventType> = new Set(['attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified']);
/**
 * A student's summary and windows are loaded, folded and written back by one chunk at a time: our
 * producers key these events by student (one partition), the lock covers any producer that does not.
 */
export const attendanceLockKeys = (event: SchoolEvent): string[] =>
  STUDENT_TYPES.has(event.eventType) && 'studentUserId' in event.payload ? [`attendance:${String(event.payload.studentUserId)}`] : [];

export function attendanceFold(rules: Rules): ChunkFold<AttendanceState> {
  return {
    handles: FOLDED,
    load: (tx, events) =>
      loadAttendance(
        tx,
        events.map((e) => narrow(e, FOLDED)),
        rules,
      ),
    fold(state, input, ctx) {
      const event = narrow(input, FOLDED);
      const r = foldOne(state, event, rules);
      if ('violation' in r) throw new RuleViolationError(r.violation, r.rule);
      return toEvents(event, r.emit, ctx);
    },
    flush: flushAttendance,
  };
}

function foldOne(state: AttendanceState, event: SchoolEvent<(typeof FOLDED)[number]>, rules: Rules): Folded {
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
