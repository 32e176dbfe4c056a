import type { Db } from 'mongodb';
import type { Clock } from '../../lib/clock';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { DocKey, MongoGauge } from '../runtime/types';
import { isParent, linkUpdates, PARKED_LINKS, type ParkedLink, type Profile } from './handlers';

/**
 * Releases parked parent links (handlers.ts onParentLinked) whose parent is now known as a PARENT, after a
 * chunk's flush: those the chunk parked (their parent may have been created meanwhile on another partition)
 * and those waiting on a user the chunk created. Each side writes first and reads after (a park, then the
 * parent's row; a creation, then the parked links), so whichever of the two writes lands second, its reader
 * sees the other: a link is never left parked on a known parent. Both may release one link: its writes are
 * $addToSet and a delete, which change nothing the second time; a crash before the chunk's positions are
 * stored runs this again. One query when nothing is parked (the collection is empty then).
 * Returns the documents it added links to (their arrays are then sorted like the fold's).
 */
export async function releaseParkedLinks(
  mongo: GuardedMongo,
  changed: ReadonlyArray<DocKey & { fields: string[] }>,
): Promise<Array<DocKey & { fields: string[] }>> {
  const parked = changed.filter((c) => c.collection === PARKED_LINKS).map((c) => c.id);
  const created = changed.filter((c) => c.collection === 'users' && c.fields.includes('userType')).map((c) => c.id);
  if (!parked.length && !created.length) return [];
  const or = [...(parked.length ? [{ _id: { $in: parked } }] : []), ...(created.length ? [{ parentUserId: { $in: created } }] : [])];
  const waiting = await mongo.db.collection<ParkedLink>(PARKED_LINKS).find({ $or: or }).toArray();
  if (!waiting.length) return [];
  // Their parents' types, one query (a parent not found is not one).
  const found = await mongo.db
    .collection<Profile>('users')
    .find({ _id: { $in: [...new Set(waiting.map((l) => l.parentUserId))] } }, { projection: { userType: 1 } })
    .toArray();
  const parents = new Map(found.map((u) => [u._id, isParent(u)]));
  const linked: Array<DocKey & { fields: string[] }> = [];
  for (const l of waiting) {
    if (!parents.get(l.parentUserId)) continue; // still waiting (or for good: a user of another type)
    for (const u of linkUpdates(l)) {
      await mongo.exclusive(u.collection, u.id, () =>
        mongo.db.collection<{ _id: string }>(u.collection).updateOne({ _id: u.id }, { $addToSet: u.addToSet! }, { upsert: true }),
      );
      linked.push({ collection: u.collection, id: u.id, fields: Object.keys(u.addToSet!) });
    }
    await mongo.exclusive(PARKED_LINKS, l._id, () => mongo.db.collection<ParkedLink>(PARKED_LINKS).deleteOne({ _id: l._id }));
  }
  return linked;
}

/**
 * The parked links' gauges, named and labelled as the PostgreSQL gate's (shared/enrolled.ts parkedGauges), so
 * ParkedEventsStale covers them: `school_events_users_parked_events{rule, stale}` and
 * `…_parked_oldest_seconds{rule}`. A link's age is its event's (`at`): a rebuild parks with the same times.
 */
export function parkedLinkGauges(staleMs: number, clock: Clock): MongoGauge[] {
  const links = (db: Db) => db.collection<ParkedLink>(PARKED_LINKS);
  const rule: ParkedLink['rule'] = 'PARENT_LINK_NOT_PARENT';
  return [
    {
      name: 'school_events_users_parked_events',
      help: `Parent links users keeps parked until their parent is known as a PARENT, by rule; stale="true": waiting longer than RULE_PARKED_STALE_MS (${staleMs} ms)`,
      labels: ['rule', 'stale'],
      async read(db) {
        const cutoff = new Date(clock.now().getTime() - staleMs).toISOString();
        const [all, stale] = await Promise.all([links(db).countDocuments({}), links(db).countDocuments({ at: { $lt: cutoff } })]);
        return all
          ? [
              { labels: { rule, stale: 'false' }, value: all - stale },
              { labels: { rule, stale: 'true' }, value: stale },
            ]
          : [];
      },
    },
    {
      name: 'school_events_users_parked_oldest_seconds',
      help: 'Seconds the oldest parent link users keeps parked has waited, by rule',
      labels: ['rule'],
      async read(db) {
        const [oldest] = await links(db)
          .find({}, { projection: { at: 1 } })
          .sort({ at: 1 })
          .limit(1)
          .toArray();
        return oldest ? [{ labels: { rule }, value: (clock.now().getTime() - Date.parse(oldest.at)) / 1000 }] : [];
      },
    },
  ];
}
