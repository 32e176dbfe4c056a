import type { Db } from 'mongodb';
import type { UserType } from '../../schemas/generated/events';
import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';
import type { Profile } from './handlers';

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
    student360: (studentUserId: string) => db.collection<{ _id: string }>('student360').findOne({ _id: studentUserId }, hidden),
  };
}

/** The indexes the byType query and the 360's enrollment view need (the runtime creates a processor's indexes at start). */
export async function createUsersIndexes(db: Db): Promise<void> {
  await db.collection('users').createIndex({ userType: 1, _id: 1 });
  await db.collection('enrollment_refs').createIndex({ studentUserId: 1 });
}
