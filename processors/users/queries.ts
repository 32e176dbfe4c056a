import type { Collection, Filter, FindOptions } from 'mongodb';
import { mapLimit } from '../../lib/map-limit';
import type { Lookup } from '../runtime/types';
import type { UserType } from '../../schemas/generated/events';
import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';
import { dbOf, type DbSource } from '../runtime/mongo-live';
import type { Profile } from './handlers';
import { student360Resource, userResource, type UserResource } from './resources';

const hidden = { projection: { [GUARD_FIELD]: 0 } };

/** Reads by _id in flight at once for a list of ids. */
const BY_ID_CONCURRENCY = 8;

/**
 * Documents by a list of ids, one read by _id each: FerretDB v1 pushes `{_id: x}` down to an index but not
 * `$in` or `$or`, which it answers by reading the whole collection (120 ms at 5,000 users here, against 2 ms;
 * docs/decisions.md). Real MongoDB serves both from its _id index.
 */
async function byIds<T extends { _id: string }>(collection: Collection<T>, ids: readonly string[], options: FindOptions): Promise<T[]> {
  const docs = await mapLimit([...new Set(ids)], BY_ID_CONCURRENCY, (id) => collection.findOne({ _id: id } as Filter<T>, options));
  return docs.flatMap((d) => (d ? [d as T] : []));
}

/** Reads of the users read models (Mongo); each is one read by _id or one indexed range. */
export function usersQueries(source: DbSource) {
  const users = async () => (await dbOf(source)).collection<Profile>('users');
  return {
    user: async (userId: string) => userResource(await (await users()).findOne({ _id: userId }, hidden)),
    /** Several users (the API's rules); an id without a user is absent from the map. */
    async many(userIds: string[]): Promise<Map<string, UserResource>> {
      const docs = await byIds(await users(), userIds, hidden);
      return new Map(docs.flatMap((d) => userResource(d) ?? []).map((u) => [u.userId, u]));
    },
    /** Users of one type, keyset-paginated by id. */
    byType: async (userType: UserType, after: string | undefined, limit: number) =>
      (
        await (
          await users()
        )
          .find(after ? { userType, _id: { $gt: after } } : { userType }, hidden)
          .sort({ _id: 1 })
          .limit(limit)
          .toArray()
      ).flatMap((d) => userResource(d) ?? []),
    /** POST /users/bulk-validate: which of these ids are active students. */
    async bulkValidate(userIds: string[]) {
      const found = await byIds(await users(), userIds, { projection: { userType: 1, status: 1, roles: 1 } });
      const byId = new Map(found.map((u) => [u._id, u]));
      return userIds.map((id) => {
        const u = byId.get(id);
        return { userId: id, exists: !!u?.userType, active: u?.status === 'ACTIVE', student: u?.userType === 'STUDENT' };
      });
    },
    /** The 360's users document (the API composes it with the other projections: student360.ts). */
    student360: async (studentUserId: string) =>
      student360Resource(await (await dbOf(source)).collection<{ _id: string }>('student360').findOne({ _id: studentUserId }, hidden)),
  };
}

/** What the byType query looks documents up by. */
export const USERS_LOOKUPS: readonly Lookup[] = [{ collection: 'users', fields: ['userType', '_id'] }];
