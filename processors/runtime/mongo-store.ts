import { MongoServerError, type Db, type Document, type UpdateFilter } from 'mongodb';
import { applyToDoc, CoalescedUpdate, getPath, type Doc } from './doc-ops';
import { mapLimit } from '../../lib/map-limit';
import { KeyedMutex } from './keyed-mutex';
import type pg from 'pg';
import { DUPLICATE_KEY, GUARD_FIELD, MONGO_COLLECTIONS, mongoPosition, positionId } from './mongo-bookkeeping';
import { MongoMarkers } from './mongo-markers';
import type { LiveDatabases } from './mongo-live';
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
import type { DocKey, DocReader, Emitted, MongoChunkFold, MongoProcessor, Position, ProjectContext } from './types';

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
  /**
   * Returns false when the document had already seen this position (nothing changed). `through`: the update
   * carries the effects of the partition's offsets up to it (a fold's coalesced update), so the mark moves there.
   */
  update(collection: string, id: string, update: Record<string, Record<string, unknown>>, through?: number): Promise<boolean>;
  /** Runs read-then-write work on one document with no other write to it in between (do not call update inside). */
  exclusive<T>(collection: string, id: string, fn: () => Promise<T>): Promise<T>;
}

/** Creates a collection unless it exists (created earlier, or by another writer at the same moment). */
export async function createCollectionIfMissing(db: Db, name: string): Promise<void> {
  await db.createCollection(name).catch((e: unknown) => {
    if (!(e instanceof MongoServerError && e.codeName === 'NamespaceExists')) throw e;
  });
}

export const hwmField = (p: Position): string => `${GUARD_FIELD}.${p.topic.replace(/[.$]/g, '_')}_${p.partition}`;

export function guardedMongo(db: Db, position: Position, locks: KeyedMutex): GuardedMongo {
  const field = hwmField(position);
  const docKey = (collection: string, id: string): string => `${db.databaseName}.${collection}.${id}`;
  return {
    db,
    exclusive: (collection, id, fn) => locks.run(docKey(collection, id), fn),
    async update(collection, id, update, through = position.offset) {
      const guard: Document = {
        _id: id,
        $or: [{ [field]: { $lt: position.offset } }, { [field]: { $exists: false } }],
      };
      const withMark = { ...update, $set: { ...(update.$set ?? {}), [field]: through } } as UpdateFilter<Document>; // operators are the caller's, checked by the server
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

const keyOf = (k: DocKey): string => `${k.collection}\u0000${k.id}`;

interface View {
  db: Db;
  markers: MongoMarkers;
  created: Set<string>;
  ready: Promise<void> | undefined;
}

interface FoldChange {
  key: DocKey;
  /** The first record whose updates it carries, and the last one's offset. */
  position: Position;
  through: number;
  update: CoalescedUpdate;
  /** Written without the document having been read. */
  blind: boolean;
}

/** Reads and writes of one fold step in flight at once (FerretDB queues the rest on its pool anyway). */
const IN_FLIGHT = 32;

/**
 * Mongo exactly-once bookkeeping: eventId markers (for duplicates at new offsets; in PostgreSQL, see
 * mongo-markers.ts) are written after the documents, positions last. A crash between the steps replays the
 * chunk; the high-water marks turn the repeated document updates into no-ops.
 */
export class MongoStore implements RuntimeStore {
  readonly kind = 'mongo';
  private readonly handles: ReadonlySet<string>;
  private readonly folds: ReadonlySet<string>;
  /** Serialises writes per document across this processor's partitions (see KeyedMutex). */
  private readonly locks = new KeyedMutex();
  /** Each database written to, with its markers and the collections known to exist. */
  private readonly views = new Map<string, View>();
  /** The database each source partition's records go to (see pin). */
  private readonly pinned = new Map<string, string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly base: Db,
    private readonly processor: MongoProcessor,
    private readonly group: string = processor.name,
    /** Set for a live processor: it follows its projection's live pointer (mongo-live.ts) to a switched version. */
    private readonly live?: LiveDatabases,
  ) {
    this.handles = new Set(processor.handles);
    this.folds = new Set(processor.fold?.handles ?? []);
    const unapplied = processor.handles.filter((t) => !this.folds.has(t));
    if (unapplied.length && !processor.project) throw new Error(`${processor.name}: neither folded nor projected: ${unapplied.join(', ')}`);
  }

  private async current(): Promise<string> {
    return this.live ? this.live.name(this.processor.name) : this.base.databaseName;
  }

  /** A database's view, initialised (bookkeeping collections, markers, indexes) on first use. */
  private async view(name: string): Promise<View> {
    let v = this.views.get(name);
    if (!v) {
      const db = this.base.client.db(name);
      v = { db, markers: new MongoMarkers(this.pool, db), created: new Set(), ready: undefined };
      this.views.set(name, v);
    }
    v.ready ??= this.initDb(v).catch((e: unknown) => {
      v.ready = undefined; // a failed start is tried again with the next chunk
      throw e;
    });
    await v.ready;
    return v;
  }

  private async initDb(v: View): Promise<void> {
    for (const c of Object.values(MONGO_COLLECTIONS)) await v.db.createCollection(c).catch(() => undefined);
    await v.markers.init();
    for (const l of this.processor.lookups ?? [])
      await v.db.collection(l.collection).createIndex(Object.fromEntries(l.fields.map((f) => [f, 1])));
    await this.processor.init?.(v.db);
  }

  async init(): Promise<void> {
    await this.view(await this.current());
  }

  /**
   * Which database a partition's next records go to: the live one when the runner starts a chunk. Answers true
   * when that changed since the partition's last chunk (a rebuild was switched live): the runner then resumes
   * the partition from the position stored in the new version, which may lie behind what it applied before.
   */
  async pin(topic: string, partition: number): Promise<boolean> {
    const key = `${topic}\u0000${partition}`;
    const now = await this.current();
    const before = this.pinned.get(key);
    this.pinned.set(key, now);
    return before !== undefined && before !== now;
  }

  private async dbOf(topic: string, partition: number): Promise<string> {
    const key = `${topic}\u0000${partition}`;
    const name = this.pinned.get(key) ?? (await this.current());
    this.pinned.set(key, name);
    return name;
  }

  async position(topic: string, partition: number): Promise<number | undefined> {
    return mongoPosition((await this.view(await this.dbOf(topic, partition))).db, this.group, topic, partition);
  }

  /**
   * Load → fold → flush of the chunk's events of the fold's types, in their order: one read per document a
   * decision reads (in parallel; FerretDB v1 answers an `$in` by scanning the whole collection,
   * docs/decisions.md), the events folded over the copies, then one guarded update per changed document and
   * source partition. A document no decision reads is written blind, without a read, when its chunk's update
   * is idempotent; otherwise it is read too and the chunk folded again (the fold is pure).
   */
  private async applyFold(v: View, records: Ready[], ctx: (p: Position) => ProjectContext): Promise<{ emitted: Emitted; docs: DocReader }> {
    const fold = this.processor.fold!;
    const loaded = new Map<string, Doc | undefined>();
    const load = async (keys: Iterable<DocKey>): Promise<void> => {
      const unread = new Map([...keys].filter((k) => !loaded.has(keyOf(k))).map((k) => [keyOf(k), k]));
      await mapLimit([...unread.values()], IN_FLIGHT, async (k) => {
        loaded.set(keyOf(k), (await v.db.collection<{ _id: string }>(k.collection).findOne({ _id: k.id })) ?? undefined);
      });
    };
    await load(records.flatMap((r) => fold.keys(r.event!)));
    if (fold.moreKeys) {
      const first: DocReader = { get: (collection, id) => loaded.get(keyOf({ collection, id })) };
      await load(records.flatMap((r) => fold.moreKeys!(first, r.event!)));
    }
    let pass = this.foldChunk(fold, records, loaded, ctx);
    if (pass.unsafeBlind.length) {
      await load(pass.unsafeBlind);
      pass = this.foldChunk(fold, records, loaded, ctx);
    }
    const { changes, docs, emitted } = pass;
    await this.ensureCollections(v, new Set([...changes.values()].map((c) => c.key.collection)));
    await mapLimit([...changes.values()], IN_FLIGHT, (c) =>
      // A blind update carries no in-memory filter of events applied before a crash, so its guard is the
      // last offset it carries: re-applying an idempotent update is harmless, skipping its tail would not be.
      this.guarded(v, c.blind ? { ...c.position, offset: c.through } : c.position).update(
        c.key.collection,
        c.key.id,
        c.update.toUpdate(docs.get(keyOf(c.key))!),
        c.through,
      ),
    );
    if (fold.afterFlush) {
      const changed = new Map<string, DocKey & { fields: string[] }>();
      for (const c of changes.values()) {
        const key = keyOf(c.key);
        const seen = changed.get(key);
        changed.set(key, { ...c.key, fields: [...new Set([...(seen?.fields ?? []), ...c.update.fields()])] });
      }
      await fold.afterFlush(this.guarded(v, records[0]!.position), [...changed.values()]);
    }
    // What the effect step sees: each document as the fold left it (or as read, if no event touched it).
    const final = (collection: string, id: string): Doc | undefined =>
      docs.get(keyOf({ collection, id })) ?? loaded.get(keyOf({ collection, id }));
    return { emitted, docs: { get: final } };
  }

  /** Folds the chunk over fresh copies of the loaded documents; which documents it writes blind but must read. */
  private foldChunk(
    fold: MongoChunkFold,
    records: Ready[],
    loaded: ReadonlyMap<string, Doc | undefined>,
    ctx: (p: Position) => ProjectContext,
  ) {
    const docs = new Map<string, Doc>();
    const copy = (key: string): Doc | undefined => {
      if (!docs.has(key) && loaded.get(key)) docs.set(key, structuredClone(loaded.get(key)!));
      return docs.get(key);
    };
    // A decision sees only documents that were read: one written blind is not known whole.
    const reader: DocReader = {
      get: (collection, id) => {
        const key = keyOf({ collection, id });
        return loaded.has(key) ? copy(key) : undefined;
      },
    };
    const changes = new Map<string, FoldChange>();
    const emitted: Emitted = [];
    for (const r of records) {
      const { updates, emit } = fold.fold(reader, r.event!, ctx(r.position));
      emitted.push(...emit);
      const mark = hwmField(r.position);
      for (const u of updates) {
        const key = keyOf(u);
        const blind = !loaded.has(key);
        const doc = copy(key) ?? { _id: u.id };
        docs.set(key, doc);
        const seen = getPath(doc, mark);
        if (typeof seen === 'number' && seen >= r.position.offset) continue; // applied before a crash
        applyToDoc(doc, u);
        const ck = `${key}\u0000${r.position.topic}\u0000${r.position.partition}`;
        const change = changes.get(ck) ?? {
          key: { collection: u.collection, id: u.id },
          position: r.position,
          through: r.position.offset,
          update: new CoalescedUpdate(),
          blind,
        };
        change.through = r.position.offset;
        change.update.add(u);
        changes.set(ck, change);
      }
    }
    const unsafeBlind = [...changes.values()].filter((c) => c.blind && !c.update.idempotent()).map((c) => c.key);
    return { changes, docs, emitted, unsafeBlind };
  }

  /**
   * Creates the collections a flush writes to before writing to them in parallel: on FerretDB v1, concurrent
   * upserts that each create the same new collection deadlock the server (every later request hangs; measured,
   * docs/decisions.md). Each collection is checked once per store.
   */
  private async ensureCollections(v: View, names: Set<string>): Promise<void> {
    for (const name of names) {
      if (v.created.has(name)) continue;
      await createCollectionIfMissing(v.db, name);
      v.created.add(name);
    }
  }

  private guarded(v: View, position: Position): GuardedMongo {
    return guardedMongo(v.db, position, this.locks);
  }

  /** Each partition's records go to the database it is pinned to (two differ only right after a switch). */
  async applyChunk(records: Ready[], ctx: (p: Position) => ProjectContext, outbound: Outbound | undefined): Promise<ChunkResult> {
    // One lookup per source partition (a chunk holds a few), not per record.
    const dbOfPartition = new Map<string, string>();
    const byDb = new Map<string, number[]>();
    for (let i = 0; i < records.length; i++) {
      const { topic, partition } = records[i]!.position;
      const key = `${topic}\u0000${partition}`;
      let name = dbOfPartition.get(key);
      if (name === undefined) dbOfPartition.set(key, (name = await this.dbOf(topic, partition)));
      const at = byDb.get(name);
      if (at) at.push(i);
      else byDb.set(name, [i]);
    }
    if (byDb.size <= 1) return this.applyIn(await this.view(byDb.keys().next().value ?? (await this.current())), records, ctx, outbound);
    const outcomes = new Array<Outcome>(records.length);
    const emitted: Emitted = [];
    for (const [name, at] of byDb) {
      const r = await this.applyIn(
        await this.view(name),
        at.map((i) => records[i]!),
        ctx,
        outbound,
      );
      at.forEach((i, j) => (outcomes[i] = r.outcomes[j]!));
      emitted.push(...r.emitted);
    }
    return { outcomes, emitted };
  }

  private async applyIn(
    v: View,
    records: Ready[],
    ctx: (p: Position) => ProjectContext,
    outbound: Outbound | undefined,
  ): Promise<ChunkResult> {
    const candidates = firstOccurrences(records, this.handles);
    const ids = [...candidates].map((i) => records[i]!.event!.eventId);
    const done = await v.markers.among(this.group, ids);
    const outcomes: Outcome[] = [];
    const emitted: Emitted = [];
    const applied: Ready[] = [];
    const folded: Ready[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!r.event || !this.handles.has(r.event.eventType)) outcomes.push('ignored');
      else if (!candidates.has(i) || done.has(r.event.eventId)) outcomes.push('duplicate');
      else {
        if (this.folds.has(r.event.eventType)) folded.push(r);
        else emitted.push(...(await this.processor.project!(r.event, this.guarded(v, r.position), ctx(r.position))));
        applied.push(r);
        outcomes.push('applied');
      }
    }
    const fold = folded.length ? await this.applyFold(v, folded, ctx) : undefined;
    if (fold) emitted.push(...fold.emitted);
    // Effects run only when something can leave: a rebuild (no outbound) reproduces the state, not the sending.
    const processor = this.processor;
    if (outbound && processor.effect) {
      const results = await mapLimit(applied, Math.max(1, processor.effectConcurrency ?? 1), (r) =>
        processor.effect!(r.event!, this.guarded(v, r.position), ctx(r.position), fold?.docs),
      );
      for (const e of results) emitted.push(...e);
    }
    await publishNow(outbound, emitted);
    await v.markers.mark(
      this.group,
      applied.map((r) => r.event!.eventId),
    );
    for (const p of lastPositionsByPartition(records)) {
      await guardedMongo(v.db, { topic: '_self', partition: 0, offset: p.next }, this.locks).update(
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
