import { MongoServerError, type Db } from 'mongodb';
import type { StoredPosition } from './store';

/**
 * The runtime's bookkeeping in a Mongo projection's database: a marker per applied event
 * (`<group>|<eventId>`) and the next offset per source partition (`<group>|<topic>|<partition>`,
 * field `next`; topics contain no '|'). Documents of the read model carry a guard field (see mongo-store).
 */
export const MONGO_COLLECTIONS = { processed: '_runtime_processed', positions: '_runtime_positions' } as const;
export const GUARD_FIELD = '_hwm';
export const DUPLICATE_KEY = 11000;

export const isBookkeepingCollection = (name: string): boolean => name.startsWith('_runtime_');
export const markerId = (group: string, eventId: string): string => `${group}|${eventId}`;
export const positionId = (group: string, topic: string, partition: number): string => `${group}|${topic}|${partition}`;

export const markers = (db: Db) => db.collection<{ _id: string; at: Date }>(MONGO_COLLECTIONS.processed);
export const positionDocs = (db: Db) => db.collection<{ _id: string; next: number }>(MONGO_COLLECTIONS.positions);

/** Every id of a group starts so (group names are escaped: they are data, not patterns). */
const ofGroup = (group: string): { $regex: string } => ({ $regex: `^${group.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\|` });

/**
 * The event ids among `eventIds` a group has applied. One equality lookup per id, not one $in: FerretDB v1
 * pushes only equality down to PostgreSQL, so an $in reads the whole marker collection, which grows with
 * every event (quadratic; deploy/ferretdb/id-index.sql).
 */
export async function mongoAppliedAmong(db: Db, group: string, eventIds: string[]): Promise<Set<string>> {
  const found = await Promise.all(eventIds.map((id) => markers(db).findOne({ _id: markerId(group, id) }, { projection: { _id: 1 } })));
  return new Set(eventIds.filter((_, i) => found[i]));
}

/** Every event id a group has applied. */
export async function mongoApplied(db: Db, group: string): Promise<Set<string>> {
  const docs = await markers(db)
    .find({ _id: ofGroup(group) }, { projection: { _id: 1 } })
    .toArray();
  return new Set(docs.map((d) => d._id.slice(group.length + 1)));
}

/** Records event ids as applied (after their effects); ones already recorded are left as they are. */
export async function markAppliedMongo(db: Db, group: string, eventIds: string[]): Promise<void> {
  if (!eventIds.length) return;
  await markers(db)
    .insertMany(
      eventIds.map((id) => ({ _id: markerId(group, id), at: new Date() })),
      { ordered: false },
    )
    .catch((e: unknown) => {
      if (!(e instanceof MongoServerError && e.code === DUPLICATE_KEY)) throw e;
    });
}

export async function mongoPosition(db: Db, group: string, topic: string, partition: number): Promise<number | undefined> {
  return (await positionDocs(db).findOne({ _id: positionId(group, topic, partition) }))?.next;
}

/** Every stored next offset of a group. */
export async function mongoPositions(db: Db, group: string): Promise<StoredPosition[]> {
  const docs = await positionDocs(db)
    .find({ _id: ofGroup(group) })
    .toArray();
  return docs.map((d) => {
    const [, topic, partition] = d._id.split('|');
    return { topic: topic!, partition: Number(partition), next: d.next };
  });
}
