import { MongoServerError, type Db, type Document, type UpdateFilter } from 'mongodb';
import { KeyedMutex } from './keyed-mutex';
import {
  DUPLICATE_KEY,
  GUARD_FIELD,
  markAppliedMongo,
  MONGO_COLLECTIONS,
  mongoAppliedAmong,
  mongoPosition,
  positionId,
} from './mongo-bookkeeping';
import {
  firstOccurrences,
  lastPositionsByPartition,
  publishNow,
  type ChunkResult,
  type Outbound,
  type Outcome,
  type Ready,
  type RuntimeStore,
} from './store';
import type { Emitted, MongoProcessor, Position, ProjectContext } from './types';

/**
 * What a Mongo projection may do: read freely, write only through `update`, which
 * is a conditional single-document update guarded by a per-source-partition high-water
 * mark stored in the document (`_hwm.<topic>_<partition>`). FerretDB has no
 * multi-document transactions, so each document protects itself: an update whose
 * offset is not above the mark is a no-op, which makes redelivery and crash-replay
 * harmless, and `$inc`/`$push` safe because they run at most once per offset.
 */
export interface GuardedMongo {
  db: Db;
  /** Returns false when the document had already seen this position (nothing changed). */
  update(collection: string, id: string, update: Record<string, Record<string, unknown>>): Promise<boolean>;
  /** Runs read-then-write work on one document with no other write to it in between (do not call update inside). */
  exclusive<T>(collection: string, id: string, fn: () => Promise<T>): Promise<T>;
}

const hwmField = (p: Position): string => `${GUARD_FIELD}.${p.topic.replace(/[.$]/g, '_')}_${p.partition}`;

export function guardedMongo(db: Db, position: Position, locks: KeyedMutex): GuardedMongo {
  const field = hwmField(position);
  const docKey = (collection: string, id: string): string => `${db.databaseName}.${collection}.${id}`;
  return {
    db,
    exclusive: (collection, id, fn) => locks.run(docKey(collection, id), fn),
    async update(collection, id, update) {
      const guard: Document = {
        _id: id,
        $or: [{ [field]: { $lt: position.offset } }, { [field]: { $exists: false } }],
      };
      const withMark = { ...update, $set: { ...(update.$set ?? {}), [field]: position.offset } } as UpdateFilter<Document>; // operators are the caller's, checked by the server
      // A duplicate key means the upsert tried to insert an _id that exists: either the guard did not match
      // (this position was already applied: stale) or another partition created the document at the same
      // moment (a race). One retry tells them apart: against an existing document only staleness remains.
      return locks.run(docKey(collection, id), async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            const r = await db.collection(collection).updateOne(guard, withMark, { upsert: true });
            return r.modifiedCount + r.upsertedCount > 0;
          } catch (e) {
            if (!(e instanceof MongoServerError && e.code === DUPLICATE_KEY)) throw e;
            if (attempt >= 2) return false;
          }
        }
      });
    },
  };
}

/**
 * Mongo exactly-once bookkeeping: eventId markers (for duplicates at new offsets) are
 * written after the documents, positions last. A crash between the steps replays the
 * chunk; the high-water marks turn the repeated document updates into no-ops.
 */
export class MongoStore implements RuntimeStore {
  readonly kind = 'mongo';
  private readonly handles: ReadonlySet<string>;
  /** Serialises writes per document across this processor's partitions (see KeyedMutex). */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly db: Db,
    private readonly processor: MongoProcessor,
    private readonly group: string = processor.name,
  ) {
    this.handles = new Set(processor.handles);
  }

  async init(): Promise<void> {
    for (const c of Object.values(MONGO_COLLECTIONS)) await this.db.createCollection(c).catch(() => undefined);
    await this.processor.init?.(this.db);
  }

  position(topic: string, partition: number): Promise<number | undefined> {
    return mongoPosition(this.db, this.group, topic, partition);
  }

  async applyChunk(records: Ready[], ctx: (p: Position) => ProjectContext, outbound: Outbound | undefined): Promise<ChunkResult> {
    const candidates = firstOccurrences(records, this.handles);
    const ids = [...candidates].map((i) => records[i]!.event!.eventId);
    const done = await mongoAppliedAmong(this.db, this.group, ids);
    const outcomes: Outcome[] = [];
    const emitted: Emitted = [];
    const applied: string[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!r.event || !this.handles.has(r.event.eventType)) outcomes.push('ignored');
      else if (!candidates.has(i) || done.has(r.event.eventId)) outcomes.push('duplicate');
      else {
        emitted.push(...(await this.processor.project(r.event, guardedMongo(this.db, r.position, this.locks), ctx(r.position))));
        applied.push(r.event.eventId);
        outcomes.push('applied');
      }
    }
    await publishNow(outbound, emitted);
    await markAppliedMongo(this.db, this.group, applied);
    for (const p of lastPositionsByPartition(records)) {
      await guardedMongo(this.db, { topic: '_self', partition: 0, offset: p.next }, this.locks).update(
        MONGO_COLLECTIONS.positions,
        positionId(this.group, p.topic, p.partition),
        {
          $set: { next: p.next },
        },
      );
    }
    return { outcomes, emitted };
  }
}
