import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { DocKey, Emitted, MongoChunkFold, ProjectContext } from '../runtime/types';
import { narrow, unhandled } from '../shared/handled';
import { toEvents } from '../shared/emit';
import * as h from './handlers';

export const HANDLES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.role.changed',
  'student.parent.linked',
  'student.enrolled',
  'enrollment.user.validated',
  'enrollment.user.validation.failed',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
  'enrollment.completed',
  'enrollment.failed',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

/** Profile events are folded a chunk at a time (one read and at most one write per document); the saga's, one by one. */
export const FOLDED = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.role.changed',
  'student.parent.linked',
] as const satisfies readonly Handled[];
type Folded = (typeof FOLDED)[number];
type PerEvent = Exclude<Handled, Folded>;
const PER_EVENT = HANDLES.filter((t): t is PerEvent => !(FOLDED as readonly string[]).includes(t));
const LINK_FIELDS = ['parents', 'children'];

const doc = (collection: h.DocUpdate['collection'], id: string): DocKey => ({ collection, id });

export const usersFold: MongoChunkFold = {
  handles: FOLDED,
  keys(input) {
    const event = narrow(input, FOLDED);
    switch (event.eventType) {
      case 'user.created':
      case 'user.updated':
      case 'user.deactivated':
        return [doc('users', event.payload.userId), doc('student360', event.payload.userId)];
      case 'user.role.changed':
        return [doc('users', event.payload.userId)];
      case 'student.parent.linked':
        return [
          doc('users', event.payload.studentUserId),
          doc('users', event.payload.parentUserId),
          doc('student360', event.payload.studentUserId),
        ];
      default:
        return unhandled(event);
    }
  },
  fold(docs, input, ctx) {
    const event: SchoolEvent<Folded> = narrow(input, FOLDED);
    const profile = (id: string): h.Profile | undefined => docs.get('users', id) as h.Profile | undefined;
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
        d = h.onRoleChanged(event.payload);
        break;
      case 'student.parent.linked':
        d = h.onParentLinked(event.payload);
        break;
      default:
        return unhandled(event);
    }
    return { updates: d.updates, emit: toEvents(event, d.emit, ctx) };
  },
  async afterFlush(mongo, changed) {
    for (const c of changed) {
      const linked = c.fields.filter((f) => LINK_FIELDS.includes(f));
      if (linked.length) await keepSorted(mongo, c.collection, c.id, linked);
    }
  },
};

async function decide(event: SchoolEvent<PerEvent>, mongo: GuardedMongo): Promise<h.Decision> {
  const profile = (id: string): Promise<h.Profile | undefined> =>
    mongo.db
      .collection<h.Profile>('users')
      .findOne({ _id: id })
      .then((d) => d ?? undefined);
  const refs = mongo.db.collection<h.EnrollmentRef>('enrollment_refs');
  const studentOf = async (enrollmentId: string): Promise<string | undefined> => (await refs.findOne({ _id: enrollmentId }))?.studentUserId;
  /** Records a fact about an enrollment, then recomputes the 360's current enrollment from all of them. */
  const remember = async (enrollmentId: string, set: Partial<h.EnrollmentRef>, student: string | undefined): Promise<h.Decision> => {
    await mongo.update('enrollment_refs', enrollmentId, { $set: set });
    if (student) {
      // A recomputation from the refs: idempotent, so it needs no high-water mark. Another instance (owning
      // another partition) may change a ref between our read and our write, so it is repeated until the refs
      // read after the write give the view written: the last writer always leaves the current view.
      await mongo.exclusive('student360', student, async () => {
        const current = async () => h.enrollmentView(await refs.find({ studentUserId: student }).toArray());
        let written = '';
        for (let view = await current(); view && JSON.stringify(view) !== written; view = await current()) {
          await mongo.db
            .collection<{ _id: string }>('student360')
            .updateOne({ _id: student }, { $set: { enrollment: view } }, { upsert: true });
          written = JSON.stringify(view);
        }
      });
    }
    return { updates: [], emit: [] };
  };
  switch (event.eventType) {
    case 'student.enrolled': {
      const p = event.payload;
      await remember(
        p.enrollmentId,
        { studentUserId: p.studentUserId, sectionId: p.sectionId, academicYearId: p.academicYearId, requestedAt: event.timestamp },
        p.studentUserId,
      );
      return h.onStudentEnrolled(event, await profile(p.studentUserId));
    }
    case 'enrollment.user.validated':
      return remember(event.payload.enrollmentId, { studentFound: true }, event.payload.studentUserId);
    case 'enrollment.user.validation.failed':
      return event.payload.reason === 'USER_NOT_FOUND'
        ? { updates: [], emit: [] }
        : remember(event.payload.enrollmentId, { studentFound: true }, event.payload.studentUserId);
    case 'enrollment.section.assignment.failed':
      return h.compensateValidation(event.payload.enrollmentId, await studentOf(event.payload.enrollmentId), event.payload.message);
    case 'enrollment.section.assignment.compensated':
      return h.compensateValidation(event.payload.enrollmentId, await studentOf(event.payload.enrollmentId), event.payload.reason);
    case 'enrollment.completed':
      return remember(
        event.payload.enrollmentId,
        { outcome: 'COMPLETED', finalSectionId: event.payload.sectionId },
        await studentOf(event.payload.enrollmentId),
      );
    case 'enrollment.failed':
      return remember(event.payload.enrollmentId, { outcome: 'FAILED' }, await studentOf(event.payload.enrollmentId));
    default:
      return unhandled(event);
  }
}

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

export async function projectUsers(event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted> {
  const d = await decide(narrow(event, PER_EVENT), mongo);
  // The saga's decisions write through `remember` (a recomputed view); document updates come only from the fold.
  if (d.updates.length) throw new Error(`${event.eventType}: per-event decisions write through remember, not updates`);
  return toEvents(event, d.emit, ctx);
}
