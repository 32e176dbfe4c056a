import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { MongoServerError, type Db } from 'mongodb';
import type pg from 'pg';
import { migrate } from '../../lib/migrate';
import { DUPLICATE_KEY, MONGO_COLLECTIONS } from './mongo-bookkeeping';

/**
 * Applied-event markers of the Mongo projections, kept in PostgreSQL: one lookup and one insert per chunk.
 * In FerretDB they cost two document operations per event at ~1.6 ms each, which capped a folded Mongo
 * projection at ~630 events/s (4,400 without them; docs/decisions.md). They are written after the documents
 * and before the positions, as before, so a crash in between still replays the chunk into the guarded no-ops.
 * Rows are keyed by the database's incarnation, a random id stored in it at first use: a database dropped and
 * created again under the same name starts with no markers.
 */
const SCHEMA = 'runtime_mongo';
const TABLE = `${SCHEMA}.applied`;
const INCARNATION = 'incarnation';
/** Markers FerretDB held before they moved here (one document `<group>|<eventId>` each); copied over once. */
const LEGACY = '_runtime_processed';

type Meta = { _id: string; id: string };

/** The database's incarnation id; created when `create` (concurrent creators agree on the first one). */
async function incarnationOf(db: Db, create: boolean): Promise<string | undefined> {
  const meta = db.collection<Meta>(MONGO_COLLECTIONS.meta);
  if (create)
    await meta.updateOne({ _id: INCARNATION }, { $setOnInsert: { id: randomUUID() } }, { upsert: true }).catch((e: unknown) => {
      if (!(e instanceof MongoServerError && e.code === DUPLICATE_KEY)) throw e;
    });
  return (await meta.findOne({ _id: INCARNATION }))?.id;
}

export class MongoMarkers {
  private incarnation: string | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly db: Db,
  ) {}

  /** Creates the table and the database's incarnation, and moves markers an older version kept in the database. */
  async init(): Promise<void> {
    await migrate(this.pool, SCHEMA, path.join(__dirname, 'migrations'));
    this.incarnation = await incarnationOf(this.db, true);
    await this.adoptLegacy();
  }

  private get id(): string {
    if (!this.incarnation) throw new Error('MongoMarkers used before init()');
    return this.incarnation;
  }

  /** The event ids among `eventIds` a group has applied. */
  async among(group: string, eventIds: string[]): Promise<Set<string>> {
    if (!eventIds.length) return new Set();
    return appliedRows(this.pool, this.id, group, eventIds);
  }

  /** Records event ids as applied (after their effects); ones already recorded are left as they are. */
  async mark(group: string, eventIds: string[]): Promise<void> {
    if (!eventIds.length) return;
    await this.pool.query(
      `insert into ${TABLE} (incarnation, consumer_group, event_id) select $1, $2, unnest($3::text[]) on conflict do nothing`,
      [this.id, group, eventIds],
    );
  }

  private async adoptLegacy(): Promise<void> {
    if (!(await this.db.listCollections({ name: LEGACY }).hasNext())) return;
    const legacy = this.db.collection<{ _id: string }>(LEGACY);
    const batch: Array<[string, string]> = [];
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      await this.pool.query(
        `insert into ${TABLE} (incarnation, consumer_group, event_id) select $1, g, e from unnest($2::text[], $3::text[]) as t(g, e)
         on conflict do nothing`,
        [this.id, batch.map((b) => b[0]), batch.map((b) => b[1])],
      );
      batch.length = 0;
    };
    for await (const { _id } of legacy.find({}, { projection: { _id: 1 } })) {
      const cut = _id.lastIndexOf('|'); // `<group>|<eventId>`: event ids contain no '|'
      batch.push([_id.slice(0, cut), _id.slice(cut + 1)]);
      if (batch.length >= 5000) await flush();
    }
    await flush();
    await legacy.drop().catch((e: unknown) => {
      if (!(e instanceof MongoServerError && e.codeName === 'NamespaceNotFound')) throw e; // a concurrent adopter dropped it first
    });
  }
}

const appliedRows = async (pool: pg.Pool, incarnation: string, group: string, eventIds?: string[]): Promise<Set<string>> => {
  const r = await pool.query<{ event_id: string }>(
    `select event_id from ${TABLE} where incarnation = $1 and consumer_group = $2${eventIds ? ' and event_id = any($3)' : ''}`,
    eventIds ? [incarnation, group, eventIds] : [incarnation, group],
  );
  return new Set(r.rows.map((x) => x.event_id));
};

/** For readers outside the store: the event ids a group has applied in a Mongo database, all or among `eventIds`. */
export async function mongoApplied(pool: pg.Pool, db: Db, group: string, eventIds?: string[]): Promise<Set<string>> {
  const incarnation = await incarnationOf(db, false);
  return incarnation ? appliedRows(pool, incarnation, group, eventIds) : new Set();
}
