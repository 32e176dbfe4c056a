import type { SchoolEvent } from '../../schemas/generated/events';
import type { Ready } from '../runtime/store';
import { anEvent } from './gwt';

/** academic's enrollment.completed of `studentUserId` in `sectionId`: the fact grades and attendance admit events on. */
export const completed = (studentUserId: string, sectionId: string, enrollmentId = `E-${studentUserId}-${sectionId}`): SchoolEvent =>
  anEvent('enrollment.completed', { enrollmentId, studentUserId, sectionId, warnings: [] });

/** Records on academic-events (partition 0, from `offset`): facts to apply before the events a test is about. */
export const onAcademic = (events: SchoolEvent[], offset = 0, partition = 0): Ready[] =>
  events.map((event, i) => ({ event, position: { topic: 'academic-events', partition, offset: offset + i } }));

/** The facts that `pairs` of [student, section] completed their enrollment there, as academic-events records. */
export const enrolled = (pairs: ReadonlyArray<readonly [string, string]>): Ready[] => onAcademic(pairs.map(([s, x]) => completed(s, x)));
