import type { Rules } from '../../lib/config';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { toEvents } from '../shared/emit';
import { narrow } from '../shared/handled';
import type { ChunkFold } from '../runtime/types';
import { averageKeyOf, foldGradeRecorded, foldGradeUpdated } from './fold';
import { flushSetup, foldSetup, loadSetup, SETUP, type SetupState } from './setup';
import { flushGrades, loadGrades, type GradesState } from './store';

const averageLock = (k: { studentUserId: string; courseId: string; periodId: string }): string =>
  `avg:${k.studentUserId}:${k.courseId}:${k.periodId}`;

const SAGA_STEPS: ReadonlySet<EventType> = new Set([
  'enrollment.section.assigned',
  'enrollment.grades.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.deadline.expired',
]);

/**
 * The locks of an event's rows (the runtime takes a chunk's locks up front, in order, before the load). One
 * enrollment's steps come from three topics: serialised, a compensation cannot miss base records that a
 * concurrent transaction is inserting.
 */
export function gradesLockKeys(event: SchoolEvent): string[] {
  if (event.eventType === 'grade.recorded' || event.eventType === 'grade.updated') return [averageLock(event.payload)];
  return SAGA_STEPS.has(event.eventType) && 'enrollmentId' in event.payload ? [`enrollment:${event.payload.enrollmentId}`] : [];
}

/** The grades themselves (fold.ts, store.ts): O(1) per grade. */
const GRADES = ['grade.recorded', 'grade.updated'] as const satisfies readonly EventType[];

/** Every handled type is applied a chunk at a time: the grades, and the setup and saga events (setup.ts). */
export const HANDLES: readonly EventType[] = [...GRADES, ...SETUP];
const GRADE_TYPES: ReadonlySet<EventType> = new Set(GRADES);

/** Everything grades handles on the load–fold–flush model: O(1) per grade, a few statements per chunk. */
export function gradesFold(rules: Rules): ChunkFold<GradesState & { setup: SetupState }> {
  return {
    handles: HANDLES,
    async load(tx, events) {
      const grades = events.filter((e) => GRADE_TYPES.has(e.eventType)).map((e) => narrow(e, GRADES));
      const setup = events.filter((e) => !GRADE_TYPES.has(e.eventType)).map((e) => narrow(e, SETUP));
      return { ...(await loadGrades(tx, grades)), setup: await loadSetup(tx, setup) };
    },
    fold(state, event, ctx) {
      if (!GRADE_TYPES.has(event.eventType)) return toEvents(event, foldSetup(state.setup, narrow(event, SETUP)), ctx);
      const e = narrow(event, GRADES);
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
    },
    async flush(tx, state) {
      await flushGrades(tx, state);
      await flushSetup(tx, state.setup);
    },
  };
}
