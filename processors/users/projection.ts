import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { Emitted, ProjectContext } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { toEvents } from '../shared/emit';
import * as h from './handlers';

/** Which student an enrollment is about, remembered from step 2 (saga events after it may not carry it). */
interface EnrollmentRef {
  _id: string;
  studentUserId: string;
}

export const HANDLES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.role.changed',
  'student.parent.linked',
  'student.enrolled',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
  'enrollment.completed',
  'enrollment.failed',
  'period.average.calculated',
  'attendance.marked',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

async function decide(event: SchoolEvent<Handled>, mongo: GuardedMongo): Promise<h.Decision> {
  const profile = (id: string): Promise<h.Profile | undefined> =>
    mongo.db
      .collection<h.Profile>('users')
      .findOne({ _id: id })
      .then((d) => d ?? undefined);
  const studentOf = async (enrollmentId: string): Promise<string | undefined> =>
    (await mongo.db.collection<EnrollmentRef>('enrollment_refs').findOne({ _id: enrollmentId }))?.studentUserId;
  switch (event.eventType) {
    case 'user.created':
      return h.onUserCreated(event.payload);
    case 'user.updated':
      return h.onUserUpdated(event.payload, await profile(event.payload.userId));
    case 'user.deactivated':
      return h.onUserDeactivated(event.payload, await profile(event.payload.userId));
    case 'user.role.changed':
      return h.onRoleChanged(event.payload);
    case 'student.parent.linked':
      return h.onParentLinked(event.payload);
    case 'student.enrolled': {
      await mongo.update('enrollment_refs', event.payload.enrollmentId, { $set: { studentUserId: event.payload.studentUserId } });
      return h.onStudentEnrolled(event, await profile(event.payload.studentUserId));
    }
    case 'enrollment.section.assignment.failed':
      return h.compensateValidation(event.payload.enrollmentId, await studentOf(event.payload.enrollmentId), event.payload.message);
    case 'enrollment.section.assignment.compensated':
      return h.compensateValidation(event.payload.enrollmentId, await studentOf(event.payload.enrollmentId), event.payload.reason);
    case 'enrollment.completed':
    case 'enrollment.failed': {
      const student = await studentOf(event.payload.enrollmentId);
      const doc = student
        ? await mongo.db.collection<{ _id: string; enrollment?: { enrollmentId: string } }>('student360').findOne({ _id: student })
        : null;
      return h.onEnrollmentEnded(event, student, doc?.enrollment?.enrollmentId);
    }
    case 'period.average.calculated':
      return h.onAverage(event.payload);
    case 'attendance.marked':
      return h.onAttendance(event.payload);
    default:
      return unhandled(event);
  }
}

export async function projectUsers(event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted> {
  const d = await decide(narrow(event, HANDLES), mongo);
  for (const u of d.updates) {
    const update: Record<string, Record<string, unknown>> = {};
    if (u.set && Object.keys(u.set).length) update.$set = u.set;
    if (u.addToSet) update.$addToSet = u.addToSet;
    if (u.inc) update.$inc = u.inc;
    if (Object.keys(update).length) await mongo.update(u.collection, u.id, update);
  }
  return ctx.replaying ? [] : toEvents(event, d.emit, ctx);
}
