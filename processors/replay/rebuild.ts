import type pg from 'pg';
import { createKafka } from '../../lib/clients/kafka';
import { createPgPool } from '../../lib/clients/pg';
import type { Config } from '../../lib/config';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { createMongoClient } from '../../lib/clients/mongo';
import type { Db, MongoClient } from 'mongodb';
import { isBookkeepingCollection, mongoPositions, ofGroup, positionDocs, positionId } from '../runtime/mongo-bookkeeping';
import { livePointer, setLive } from '../runtime/mongo-live';
import { createProcessors } from '../all';
import type { ProcessorHost } from '../runtime/host';
import { projectionDb, projectionSchema, rebuildSchema, retiredSchema, snapshotName } from '../runtime/names';
import { carryOutbox } from '../runtime/outbox';
import { lockApplied } from '../runtime/pg-bookkeeping';
import { quoteIdent } from '../runtime/sql';
import { endOffsets, offsetsAt, offsetsOf, splitKey, startOffsets, type Offsets } from './offsets';
import { caughtUp, progressOf, type Progress } from './progress';
import { mongoTarget, pgOffsets, pgTarget, replayHost, type Target } from './targets';

export class ReplayError extends AppError {
  readonly code = 'REPLAY_REFUSED';
  readonly retriable = false;
}

export interface RebuildOptions {
  name: string;
  /** Build "as of" this instant into a named read-only snapshot (no switch). */
  until?: Date;
  snapshot?: string;
  /** Start from the first record at or after this instant instead of the beginning. */
  fromTime?: Date;
  dryRun?: boolean;
  dropOld?: boolean;
  /** Only build (and verify); do not switch. */
  noSwitch?: boolean;
  /** Where the live projection is; tests point at an isolated copy. */
  liveSchema?: string;
  liveGroup?: string;
  topicName?: (t: string) => string;
  onProgress?: (p: Progress) => void | Promise<void>;
  signal?: AbortSignal;
  pollMs?: number;
}

export interface RebuildResult {
  target: string;
  switched: boolean;
  oldSchema?: string;
  /** Records this run applied (a resumed build does not count what the interrupted run had applied). */
  records: number;
  seconds: number;
  plan?: string;
}

const STATE = `create table if not exists public.replay_builds (
  target text primary key, projection text not null, kafka_group text not null, kind text not null,
  status text not null, started_at timestamptz not null default now(), finished_at timestamptz, old_schema text);
  alter table public.replay_builds add column if not exists done bigint, add column if not exists total bigint,
    add column if not exists progress_at timestamptz`;

/** How often a rebuild records its progress in public.replay_builds (the API's ops endpoint reads it). */
const PROGRESS_EVERY_MS = 1000;

const recordProgress = (pool: pg.Pool, target: string, p: { done: number; total: number }): Promise<unknown> =>
  pool.query('update public.replay_builds set done = $2, total = $3, progress_at = now() where target = $1', [target, p.done, p.total]);

/**
 * Rebuilds one Postgres projection from its topics into a new versioned schema while the
 * live one keeps serving, then switches atomically (schema renames in one transaction,
 * with the live processor held at a transaction boundary). Side effects are off (replaying).
 * One rebuild per projection at a time (advisory lock); an interrupted build resumes.
 */
export async function rebuild(config: Config, logger: Logger, o: RebuildOptions): Promise<RebuildResult> {
  const def = createProcessors(config, logger).find((d) => d.name === o.name);
  if (!def) throw new ReplayError(`unknown projection ${o.name}`);
  if (def.store === 'none') throw new ReplayError(`${o.name} keeps no read model`);
  const isMongo = def.store === 'mongo';
  // Mongo: `liveSchema` names the base database (where the live pointer is); Postgres: the live schema.
  const mongoBase = isMongo ? (o.liveSchema ?? projectionDb(config)) : undefined;
  const live = mongoBase !== undefined ? projectionSchema(o.name, mongoBase) : (o.liveSchema ?? projectionSchema(o.name));
  const liveGroup = o.liveGroup ?? o.name;
  const pool = createPgPool(config, {}, logger);
  const mongo = isMongo ? createMongoClient(config) : undefined;
  const lock = await pool.connect();
  // The advisory lock lives on this connection: if it dies (PostgreSQL restarted), the rebuild must stop, not crash.
  let lockLost: Error | undefined;
  lock.on('error', (e) => (lockLost = e));
  const admin = createKafka(config, logger).admin();
  try {
    const got = await lock.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) ok', [`replay:${live}`]);
    if (!got.rows[0]?.ok) throw new ReplayError(`a rebuild of ${o.name} (${live}) is already running; only one at a time`);
    await pool.query(STATE);
    await admin.connect();
    const topics = def.topics.map(o.topicName ?? ((t) => t));
    const kind = o.until ? 'snapshot' : 'rebuild';
    // Snapshots start over (their bound may differ); an interrupted rebuild resumes its target and group.
    const resumed = o.until
      ? undefined
      : (
          await pool.query<{ target: string; kafka_group: string }>(
            "select target, kafka_group from public.replay_builds where projection = $1 and kind = $2 and status = 'building' order by started_at desc limit 1",
            [live, kind],
          )
        ).rows[0];
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const targetName = resumed?.target ?? (o.until ? snapshotName(o.name, o.snapshot ?? stamp) : rebuildSchema(live, stamp));
    if (mongo) await mongo.connect();
    const target: Target = mongo ? mongoTarget(mongo, targetName) : pgTarget(pool, def, targetName);
    const group = resumed?.kafka_group ?? `replay-${live}-${stamp}`;
    const start = o.fromTime ? await offsetsAt(admin, topics, o.fromTime) : await startOffsets(admin, topics);
    const bound = o.until ? await offsetsAt(admin, topics, o.until) : undefined;
    let target0 = bound ?? (await endOffsets(admin, topics));
    if (o.dryRun) {
      const total = [...target0].reduce((a, [p, end]) => a + Math.max(0, end - (start.get(p) ?? 0)), 0);
      const plan = `would ${resumed ? 'resume' : 'build'} ${target.name} from ${topics.join(', ')} (${total.toLocaleString('en')} records, group ${group})${o.until ? ` as of ${o.until.toISOString()}` : `, then switch it live (old schema kept${o.dropOld ? ' then dropped' : ''})`}`;
      return { target: target.name, switched: false, records: total, seconds: 0, plan };
    }
    if (!resumed) {
      if (o.until) await target.drop();
      await pool.query(
        `insert into public.replay_builds (target, projection, kafka_group, kind, status) values ($1, $2, $3, $4, $5)
         on conflict (target) do update set projection = excluded.projection, kafka_group = excluded.kafka_group, kind = excluded.kind,
           status = excluded.status, started_at = now(), finished_at = null, old_schema = null, done = null, total = null, progress_at = null`,
        [target.name, live, group, kind, 'building'],
      );
      if (o.fromTime)
        for (const t of topics)
          await admin.setOffsets({
            groupId: group,
            topic: t,
            partitions: [...start]
              .filter(([k]) => k.startsWith(`${t}:`))
              .map(([k, off]) => ({ partition: Number(k.split(':').pop()), offset: String(off) })),
          });
    }
    await target.prepare();
    // What a resumed build had applied before this run: `records` counts only what this run applies.
    const applied0 = await target.positions(liveGroup);
    const t0 = Date.now();
    const host = replayHost(config, logger.child({ replay: o.name }), def, { group, liveGroup, target, topicName: o.topicName, bound });
    await host.start();
    let switched = false;
    let oldSchema: string | undefined;
    let refreshes = 0;
    let recordedAt = 0;
    try {
      for (;;) {
        const pos = await target.positions(liveGroup);
        const progress = progressOf(start, target0, pos, (Date.now() - t0) / 1000);
        await o.onProgress?.(progress);
        if (Date.now() - recordedAt >= PROGRESS_EVERY_MS) {
          recordedAt = Date.now();
          // Only for the operators' view: a failed write never stops the build.
          await recordProgress(pool, target.name, progress).catch((e: unknown) =>
            logger.warn('could not record rebuild progress', { target: target.name, error: String(e) }),
          );
        }
        if (lockLost)
          throw new ReplayError(
            `lost the connection holding the rebuild lock (${lockLost.message}); ${target.name} is kept and the next run resumes it`,
          );
        if (o.signal?.aborted)
          throw new ReplayError(`interrupted; ${target.name} is kept and the next run resumes it (live ${live} untouched)`);
        if (caughtUp(target0, pos, start)) {
          if (bound || refreshes >= 3) break;
          // Follow new records a few rounds so the switch holds the live processor only briefly;
          // under sustained load the switch itself closes the rest of the gap.
          refreshes++;
          const ends = await endOffsets(admin, topics);
          if (caughtUp(ends, pos, start)) break;
          target0 = ends;
        }
        await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      }
      if (!bound && !o.noSwitch) {
        oldSchema =
          mongo && mongoBase !== undefined
            ? await switchMongo(mongo.db(mongoBase), def.name, host, target.name, liveGroup, start, {
                pollMs: o.pollMs ?? 200,
                checkMs: config.mongo.liveCheckMs,
              })
            : await switchLive(
                pool,
                host,
                { live, target: target.name, group: liveGroup, old: retiredSchema(live, stamp) },
                {
                  pollMs: o.pollMs ?? 200,
                  start,
                  // Exactly up to live's positions, while live is held.
                  catchUp: async (exact) => {
                    const bounded = replayHost(config, logger.child({ replay: o.name }), def, {
                      group,
                      liveGroup,
                      target,
                      topicName: o.topicName,
                      bound: exact,
                    });
                    await bounded.start();
                    try {
                      await until(
                        async () => caughtUp(exact, await target.positions(liveGroup), start),
                        o.pollMs ?? 200,
                        'the rebuild did not reach the live positions within 60 s while the live processor was held; nothing switched',
                      );
                    } finally {
                      await bounded.stop();
                    }
                  },
                },
              );
        switched = true;
      } else await host.stop();
      if (bound) await target.seal?.();
    } catch (e) {
      await host.stop().catch(() => undefined);
      throw e;
    }
    // The final progress: what the build reached, against the last target it followed.
    const finalPositions = switched && !mongo ? await pgOffsets(pool, live, liveGroup) : await target.positions(liveGroup);
    const reached = progressOf(start, target0, finalPositions, 1);
    await pool.query(
      `update public.replay_builds set status = $2, finished_at = now(), old_schema = $3, done = $4, total = $5,
         progress_at = now() where target = $1`,
      [target.name, switched ? 'switched' : bound ? 'snapshot' : 'built', oldSchema ?? null, reached.done, reached.total],
    );
    if (switched && o.dropOld && oldSchema)
      if (mongo && mongoBase !== undefined)
        await dropMongoVersion(mongo, mongoBase, oldSchema, target.name, liveGroup, 2 * config.mongo.liveCheckMs + 1000);
      else await pool.query(`drop schema ${quoteIdent(oldSchema)} cascade`);
    await admin.deleteGroups([group]).catch(() => undefined);
    const records = reached.done - progressOf(start, target0, applied0, 1).done;
    return {
      target: switched && !mongo ? live : target.name,
      switched,
      oldSchema: o.dropOld ? undefined : oldSchema,
      records,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await lock.query('select pg_advisory_unlock_all()').catch(() => undefined);
    lock.release(!!lockLost);
    await pool.end();
    await mongo?.close();
  }
}

/**
 * The Postgres switch, in an order that never lets the rebuild apply a record the live processor has not:
 * stop the rebuild (at T); lock the live projection's applied-events table (the live processor waits at the
 * start of its next transaction; in-flight ones finish first) and read its positions (L). If the rebuild is
 * ahead anywhere (T > L), release and wait for live to pass it: a record the rebuild applied without sending
 * its derived events must have been sent by live. Otherwise let a rebuild bounded at exactly L apply the
 * records between, rename both schemas, commit. The waiting live transaction then resolves its tables by name
 * in the new schema, whose markers and positions (recorded under the live group) are live's: nothing lost,
 * doubled or left unsent. (An unbounded rebuild held against live could run past L: those records' events were
 * never sent, found while building the Mongo switch.)
 */
async function switchLive(
  pool: pg.Pool,
  host: ProcessorHost,
  names: { live: string; target: string; group: string; old: string },
  o: { pollMs: number; start: Offsets; catchUp: (bound: Offsets) => Promise<void> },
): Promise<string> {
  const { live, target, group, old } = names;
  await host.stop();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = await pool.connect();
    try {
      await c.query('begin');
      await c.query("set local lock_timeout = '30s'");
      await lockApplied(c, live);
      const [held, mine] = await Promise.all([pgOffsets(pool, live, group), pgOffsets(pool, target, group)]);
      const keys = [...new Set([...o.start.keys(), ...held.keys(), ...mine.keys()])];
      const at = (p: Offsets, k: string): number => p.get(k) ?? o.start.get(k) ?? 0;
      if (keys.every((k) => at(mine, k) <= at(held, k))) {
        if (keys.some((k) => at(mine, k) < at(held, k))) await o.catchUp(new Map(keys.map((k) => [k, at(held, k)])));
        await c.query(`alter schema ${quoteIdent(live)} rename to ${quoteIdent(old)}`);
        await c.query(`alter schema ${quoteIdent(target)} rename to ${quoteIdent(live)}`);
        await carryOutbox(c, quoteIdent(old), quoteIdent(live));
        await c.query('commit');
        return old;
      }
      await c.query('rollback');
    } catch (e) {
      await c.query('rollback').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
    if (Date.now() > deadline)
      throw new ReplayError(
        `the live processor did not pass the rebuild's positions within 60 s (is it running?); nothing switched, ${target} is kept and the next run resumes it`,
      );
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}

/**
 * The Mongo switch (FerretDB has no multi-collection transaction or rename), through the projection's live
 * pointer (mongo-live.ts), with no lock and nothing lost:
 * 1. the rebuild stops and every partition gets a stored position in the new version;
 * 2. it waits until the live processor has passed those positions in the current version: whatever the
 *    rebuild applied without sending its events, the live processor sent;
 * 3. the writer moves (pointer `db`): within MONGO_LIVE_CHECK_MS each partition of the live processor resumes
 *    in the new version from its stored position, the records since then for state only (runner.ts);
 * 4. once the new version holds at least everything the old one does (old positions no longer moving), the
 *    readers move (pointer `read`). Readers never see a version behind the one they saw before.
 * If the live processor does not take over within 60 s, the pointer is set back (step 3 reversed the same way).
 */
async function switchMongo(
  base: Db,
  name: string,
  host: ProcessorHost,
  target: string,
  group: string,
  start: Offsets,
  o: { pollMs: number; checkMs: number },
): Promise<string> {
  await host.stop();
  const built = base.client.db(target);
  // A partition with no stored position in the rebuild had no record to apply: it starts where the build did.
  const mine = offsetsOf(await mongoPositions(built, group));
  for (const [k, off] of start) {
    if (mine.has(k)) continue;
    const { topic, partition } = splitKey(k);
    await positionDocs(built).updateOne({ _id: positionId(group, topic, partition) }, { $set: { next: off } }, { upsert: true });
    mine.set(k, off);
  }
  const before = await livePointer(base, name);
  const old = before.read ?? before.db;
  const positionsOf = async (db: string): Promise<Offsets> => offsetsOf(await mongoPositions(base.client.db(db), group));
  const at = (p: Offsets, k: string): number => p.get(k) ?? start.get(k) ?? 0;
  await until(
    async () => {
      const live = await positionsOf(old);
      return [...mine].every(([k, off]) => at(live, k) >= off);
    },
    o.pollMs,
    `the live ${name} processor did not reach the rebuild's positions within 60 s (is it running?); nothing switched, ${target} is kept and the next run resumes it`,
  );
  const switchedAt = new Date();
  await setLive(base, { _id: name, db: target, read: old, previous: old, switchedAt });
  let last: Offsets | undefined;
  try {
    await until(
      async () => {
        const [was, now] = await Promise.all([positionsOf(old), positionsOf(target)]);
        const frozen = last !== undefined && [...was].every(([k, off]) => last!.get(k) === off);
        last = was;
        return Date.now() - switchedAt.getTime() >= 2 * o.checkMs && frozen && [...was].every(([k, off]) => at(now, k) >= off);
      },
      Math.max(o.pollMs, o.checkMs),
      `the live ${name} processor did not take over ${target} within 60 s (is it running?); the pointer is set back to ${old}, ${target} is kept`,
    );
  } catch (e) {
    await setLive(base, { ...before, _id: name });
    throw e;
  }
  await setLive(base, { _id: name, db: target, read: target, previous: old, switchedAt });
  return old;
}

async function until(check: () => Promise<boolean>, pollMs: number, timeout: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new ReplayError(timeout);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * --drop-old for Mongo, once the readers' and the processor's pointer caches have expired: a rebuilt version
 * is a database of its own; in the shared base database only this projection's collections (those the
 * rebuild wrote) and its positions go.
 */
async function dropMongoVersion(
  mongo: MongoClient,
  base: string,
  old: string,
  built: string,
  group: string,
  graceMs: number,
): Promise<void> {
  await new Promise((r) => setTimeout(r, graceMs));
  if (old !== base) return void (await mongo.db(old).dropDatabase());
  const own = (await mongo.db(built).listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((c) => !isBookkeepingCollection(c));
  for (const c of own)
    await mongo
      .db(base)
      .collection(c)
      .drop()
      .catch(() => undefined);
  await positionDocs(mongo.db(base)).deleteMany({ _id: ofGroup(group) });
}
