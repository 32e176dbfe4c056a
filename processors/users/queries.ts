import type { Db } from 'mongodb';
import type { Lookup } from '../runtime/types';
import type { UserType } from '../../schemas/generated/events';
import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';
import { enrollmentView, type EnrollmentRef, type EnrollmentView, type Profile } from './handlers';

const hidden = { projection: { [GUARD_FIELD]: 0 } };

/** Reads of the users read models (Mongo); each is one read by _id or one indexed range. */
export function usersQueries(db: Db) {
  return {
    user: (userId: string) => db.collection<Profile>('users').findOne({ _id: userId }, hidden),
    /** Users of one type, keyset-paginated by _id. */
    byType: (userType: UserType, after: string | undefined, limit: number) =>
      db
        .collection<Profile>('users')
        .find(after ? { userType, _id: { $gt: after } } : { userType }, hidden)
        .sort({ _id: 1 })
        .limit(limit)
        .toArray(),
    /** POST /users/bulk-validate: which of these ids are active students. */
    async bulkValidate(userIds: string[]) {
      const found = await db
        .collection<Profile>('users')
        .find({ _id: { $in: userIds } }, { projection: { userType: 1, status: 1, roles: 1 } })
        .toArray();
      const byId = new Map(found.map((u) => [u._id, u]));
      return userIds.map((id) => {
        const u = byId.get(id);
        return { userId: id, exists: !!u, active: u?.status === 'ACTIVE', student: u?.userType === 'STUDENT' };
      });
    },
    /** The 360 document with its current enrollment, which follows from the student's enrollment facts (enrollmentView). */
    async student360(studentUserId: string) {
      const [doc, refs] = await Promise.all([
        db.collection<{ _id: string; enrollment?: EnrollmentView }>('student360').findOne({ _id: studentUserId }, hidden),
        db.collection<EnrollmentRef>('enrollment_refs').find({ studentUserId }).toArray(),
      ]);
      const enrollment = enrollmentView(refs);
      // Documents written before the view moved to query time still carry a copy; the refs are the source now.
      if (doc) delete doc.enrollment;
      return doc && enrollment ? { ...doc, enrollment } : doc;
    },
  };
}

/** What the byType query and the 360's enrollment view look documents up by. */
export const USERS_LOOKUPS: readonly Lookup[] = [
  { collection: 'users', fields: ['userType', '_id'] },
  { collection: 'enrollment_refs', fields: ['studentUserId'] },
];
