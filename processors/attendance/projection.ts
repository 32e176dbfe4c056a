import type { PoolClient } from 'pg';
import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { ChunkFold } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { postgresProjection, toEvents, type EmitSpec } from '../shared/emit';
import { foldAbsence, foldJustified, foldMarked, foldTardiness, type AttendanceState, type Folded } from './fold';
import { initializeAttendance } from './handlers';
import { flushAttendance, loadAttendance } from './store';

/** Applied a chunk at a time (load, fold, flush): the hot path. */
const FOLDED = ['attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified'] as const satisfies readonly EventType[];

/** Applied one at a time: a school's setup and saga steps, on tables the fold does not touch. */
const PER_EVENT = [
  'schedule.created',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialized',
] as const satisfies readonly EventType[];
type Handled = (typeof PER_EVENT)[number];

export const HANDLES: readonly EventType[] = [...PER_EVENT, ...FOLDED];

const FOLDED_TYPES: ReadonlySet<EventType> = new Set(FOLDED);
/**
 * A student's summary and windows are loaded, folded and written back by one chunk at a time: our
 * producers key these events by student (one partition), the lock covers any producer that does not.
 */
export const attendanceLockKeys = (event: SchoolEvent): string[] =>
  FOLDED_TYPES.has(event.eventType) && 'studentUserId' in event.payload ? [`attendance:${String(event.payload.studentUserId)}`] : [];

async function decide(event: SchoolEvent<Handled>, tx: PoolClient): Promise<EmitSpec[]> {
  switch (event.eventType) {
    case 'schedule.created':
      await tx.query('insert into section_schedules values ($1, $2) on conflict do nothing', [
        event.payload.sectionId,
        event.payload.scheduleId,
      ]);
      return [];
    case 'enrollment.grades.initialized': {
      const p = event.payload;
      const n = await tx.query<{ n: string }>('select count(*) n from section_schedules where section_id = $1', [p.sectionId]);
      // The decision only: the register is opened from its outcome event (below), live and in a rebuild alike,
      // so a rebuild does not decide again from schedules another interleaving may not have yet.
      return initializeAttendance(p, Number(n.rows[0]?.n ?? 0));
    }
    case 'enrollment.attendance.initialized': {
      const p = event.payload;
      await tx.query(
        'insert into registers values ($1, $2, $3, $4) on conflict (enrollment_id) do update set section_id = excluded.section_id, opened_at = excluded.opened_at',
        [p.enrollmentId, p.studentUserId, p.sectionId, event.timestamp],
      );
      return [];
    }
    default:
      return unhandled(event);
  }
}

export const projectAttendance = postgresProjection(PER_EVENT, decide, undefined);

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
    default:
      return unhandled(event);
  }
}
