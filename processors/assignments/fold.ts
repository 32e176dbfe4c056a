import type { SchoolEvent } from '../../schemas/generated/events';
import { unhandled } from '../shared/handled';

/**
 * The part of assignments on the load–fold–flush model: the events whose rows merge without reading
 * (the earliest enrollment of a section wins, a conflict is recorded once), so a chunk loads nothing and
 * flushes one statement per table. Pure. Assignments, schedules and workloads stay per event: they read
 * and lock the teacher's and the section's rows (and are setup events, a few hundred per school).
 */
export const FOLDED = ['student.enrolled', 'schedule.conflict.detected'] as const;
export type FoldedEvent = SchoolEvent<(typeof FOLDED)[number]>;

export interface ConflictRow {
  scheduleId: string;
  conflictingScheduleId: string;
  conflictType: string;
  detectedAt: string;
}

export interface AssignmentsState {
  /** Section → its earliest enrollment seen in the chunk. */
  eligible: Map<string, string>;
  /** By (schedule, conflicting schedule, type): the first detection seen in the chunk. */
  conflicts: Map<string, ConflictRow>;
}

export const emptyState = (): AssignmentsState => ({ eligible: new Map(), conflicts: new Map() });

export function foldAssignments(state: AssignmentsState, event: FoldedEvent): void {
  switch (event.eventType) {
    case 'student.enrolled': {
      const seen = state.eligible.get(event.payload.sectionId);
      if (seen === undefined || Date.parse(event.timestamp) < Date.parse(seen))
        state.eligible.set(event.payload.sectionId, event.timestamp);
      return;
    }
    case 'schedule.conflict.detected': {
      const p = event.payload;
      const key = JSON.stringify([p.scheduleId, p.conflictingScheduleId, p.conflictType]);
      if (!state.conflicts.has(key))
        state.conflicts.set(key, {
          scheduleId: p.scheduleId,
          conflictingScheduleId: p.conflictingScheduleId,
          conflictType: p.conflictType,
          detectedAt: event.timestamp,
        });
      return;
    }
    default:
      unhandled(event);
  }
}
