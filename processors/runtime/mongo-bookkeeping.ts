import type { Db } from 'mongodb';
import type { StoredPosition } from './store';

/**
 * The runtime's bookkeeping in a Mongo projection's database: the next offset per source partition
 * (`<group>|<topic>|<partition>`, field `next`; topics contain no '|') and the database's incarnation id
 * (mongo-markers.ts keeps the applied-event markers in PostgreSQL under it). Documents of the read model
 * carry a guard field (see mongo-store).
 */
export const MONGO_COLLECTIONS = { meta: '_runtime_meta', positions: '_runtime_positions' } as const;
export const GUARD_FIELD = '_hwm';
export const DUPLICATE_KEY = 11000;

export const isBookkeepingCollection = (name: string): boolean => name.startsWith('_runtime_');
export const positionId = (group: string, topic: string, partition: number): string => `${group}|${topic}|${partition}`;

export const positionDocs = (db: Db) => db.collection<{ _id: string; next: number }>(MONGO_COLLECTIONS.positions);

/** Every id of a group starts so (group names are escaped: they are data, not patterns). */
export const ofGroup = (group: string): { $regex: string } => ({ $regex: `^${group.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\|` });

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
