import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { DocKey, MongoChunkFold } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { toEvents } from '../shared/emit';
import * as h from './handlers';
import { releaseParkedLinks } from './links';

export const HANDLES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.role.changed',
  'user.personal-data.erased',
  'student.parent.linked',
  'student.enrolled',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

const LINK_FIELDS = ['parents', 'children'];

const doc = (collection: h.DocUpdate['collection'], id: string): DocKey => ({ collection, id });

const ref = (enrollmentId: string): DocKey => doc('enrollment_refs', enrollmentId);

/** Every event is folded a chunk at a time: one read and at most one write per document and chunk. */
export const usersFold: MongoChunkFold = {
  handles: HANDLES,
  keys(input) {
    const event = narrow(input, HANDLES);
    switch (event.eventType) {
      case 'user.created': // only writes
        return [];
      case 'student.parent.linked': // whether the student is one, and whether the parent is known as one
        return [doc('users', event.payload.studentUserId), doc('users', event.payload.parentUserId)];
      case 'user.updated': // whether the user is a student (and was erased)
      case 'user.deactivated':
      case 'user.personal-data.erased': // which personal fields it holds
      case 'user.role.changed': // whether the user was created and is active, and its type, which the new roles must fit
        return [doc('users', event.payload.userId)];
      case 'student.enrolled':
        return [doc('users', event.payload.studentUserId)];
      case 'enrollment.section.assignment.failed': // the enrollment's student
      case 'enrollment.section.assignment.compensated':
        return [ref(event.payload.enrollmentId)];
      default:
        return unhandled(event);
    }
  },
  fold(docs, input, ctx) {
    const event: SchoolEvent<Handled> = narrow(input, HANDLES);
    const profile = (id: string): h.Profile | undefined => docs.get('users', id) as h.Profile | undefined;
    const studentOf = (enrollmentId: string): string | undefined =>
      (docs.get('enrollment_refs', enrollmentId) as h.EnrollmentRef | undefined)?.studentUserId;
    let d: h.Decision;
    switch (event.eventType) {
      case 'user.created':
        d = h.onUserCreated(event.payload);
        break;
      case 'user.updated':
        d = h.onUserUpdated(event.payload, profile(event.payload.userId));
        break;
      case 'user.deactivated':
        d = h.onUserDeactivated(event.payload, profile(event.payload.userId));
        break;
      case 'user.role.changed':
        d = h.onRoleChanged(event.payload, profile(event.payload.userId));
        break;
      case 'user.personal-data.erased':
        d = h.onPersonalDataErased(event.payload, profile(event.payload.userId));
        break;
      case 'student.parent.linked':
        d = h.onParentLinked(event, profile(event.payload.studentUserId), profile(event.payload.parentUserId));
        break;
      case 'student.enrolled':
        d = h.onStudentEnrolled(event, profile(event.payload.studentUserId));
        break;
      case 'enrollment.section.assignment.failed':
        d = h.compensateValidation(event.payload.enrollmentId, studentOf(event.payload.enrollmentId), event.payload.message);
        break;
      case 'enrollment.section.assignment.compensated':
        d = h.compensateValidation(event.payload.enrollmentId, studentOf(event.payload.enrollmentId), event.payload.reason);
        break;
      default:
        return unhandled(event);
    }
    return { updates: d.updates, emit: toEvents(event, d.emit, ctx) };
  },
  async afterFlush(mongo, changed) {
    const fields = new Map<string, DocKey & { fields: string[] }>();
    for (const c of [...changed, ...(await releaseParkedLinks(mongo, changed))]) {
      const linked = c.fields.filter((f) => LINK_FIELDS.includes(f));
      if (!linked.length) continue;
      const k = `${c.collection}\u0000${c.id}`;
      fields.set(k, { ...c, fields: [...new Set([...(fields.get(k)?.fields ?? []), ...linked])] });
    }
    for (const c of fields.values()) await keepSorted(mongo, c.collection, c.id, c.fields);
  },
};

/**
 * Links of one user arrive from several partitions (a parent's children are keyed by each child), and
 * $addToSet appends in arrival order: sorting keeps the arrays the same in a rebuild as live.
 */
async function keepSorted(mongo: GuardedMongo, collection: string, id: string, fields: string[]): Promise<void> {
  await mongo.exclusive(collection, id, async () => {
    const doc = await mongo.db.collection<Record<string, unknown>>(collection).findOne({ _id: id } as never);
    const set: Record<string, string[]> = {};
    for (const f of fields) {
      const v = doc?.[f];
      if (!Array.isArray(v)) continue;
      const sorted = [...(v as string[])].sort();
      if (sorted.some((x, i) => x !== v[i])) set[f] = sorted;
    }
    if (Object.keys(set).length) await mongo.db.collection(collection).updateOne({ _id: id } as never, { $set: set });
  });
}
