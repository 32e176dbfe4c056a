import type { Db, MongoClient } from 'mongodb';

/**
 * Which database holds a Mongo projection's live version: one pointer document per projection in the base
 * database (`_runtime_live`), absent until the first switch (then the base database itself is live). It names
 * the version the live processor writes (`db`) and the one readers read (`read`): a rebuild's switch moves
 * the writer first and the readers once the new version has caught up, each move one single-document write,
 * atomic on FerretDB as on MongoDB, where renaming several collections at once is not (docs/decisions.md).
 */
const LIVE_POINTERS = '_runtime_live';

export interface LivePointer {
  _id: string;
  /** Written by the live processor. */
  db: string;
  /** Read by the API and verify (the same as `db` except while a switch is under way). */
  read?: string;
  /** The version it replaced (kept until a rebuild's --drop-old). */
  previous?: string;
  switchedAt?: Date;
}

export type LiveRole = 'write' | 'read';

/** A fixed database, or the live version of a projection resolved per read. */
export type DbSource = Db | (() => Promise<Db>);
export const dbOf = (s: DbSource): Promise<Db> => (typeof s === 'function' ? s() : Promise.resolve(s));

const pointers = (base: Db) => base.collection<LivePointer>(LIVE_POINTERS);

export async function livePointer(base: Db, projection: string): Promise<LivePointer> {
  return (await pointers(base).findOne({ _id: projection })) ?? { _id: projection, db: base.databaseName };
}

export async function readLive(base: Db, projection: string, role: LiveRole = 'read'): Promise<string> {
  const p = await livePointer(base, projection);
  return role === 'write' ? p.db : (p.read ?? p.db);
}

/** Rewrites the pointer (one single-document write). */
export async function setLive(base: Db, pointer: LivePointer): Promise<void> {
  const { _id, ...rest } = pointer;
  await pointers(base).replaceOne({ _id }, rest, { upsert: true });
}

/**
 * Resolves a projection's live database for readers (the API) or for its live processor ('write'), re-reading
 * the pointer at most every `ttlMs`: a reader may see the old version that long after a switch (it is kept).
 */
export class LiveDatabases {
  private readonly cache = new Map<string, { db: string; at: number }>();

  constructor(
    private readonly client: MongoClient,
    private readonly base: string,
    private readonly ttlMs: number,
    private readonly role: LiveRole = 'read',
    private readonly now: () => number = Date.now,
  ) {}

  async name(projection: string): Promise<string> {
    const hit = this.cache.get(projection);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.db;
    const db = await readLive(this.client.db(this.base), projection, this.role);
    this.cache.set(projection, { db, at: this.now() });
    return db;
  }

  async db(projection: string): Promise<Db> {
    return this.client.db(await this.name(projection));
  }
}
