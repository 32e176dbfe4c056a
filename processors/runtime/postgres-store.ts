import type pg from 'pg';
import type { SchoolEvent } from '../../schemas/generated/events';
import { Outbox, outboxTable, writeOutbox } from './outbox';
import { advancePositions, bookkeepingTables, markApplied, pgPosition } from './pg-bookkeeping';
import { quoteIdent } from './sql';
import {
  firstOccurrences,
  lastPositionsByPartition,
  type ChunkResult,
  type Outbound,
  type Outcome,
  type Ready,
  type RuntimeStore,
} from './store';
import type { Emitted, Position, PostgresProcessor, ProjectContext } from './types';

/**
 * Postgres exactly-once: the projection's changes, the applied eventIds, the derived
 * events (outbox) and the next offset per partition commit in one transaction. Everything lives in the projection's
 * own schema (a rebuild gets a fresh versioned schema with its own positions).
 */
export class PostgresStore implements RuntimeStore {
  readonly kind = 'postgres';
  private readonly handles: ReadonlySet<string>;
  private readonly folds: ReadonlySet<string>;
  private readonly outbox: Outbox;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly processor: PostgresProcessor,
    private readonly group: string = processor.name,
  ) {
    this.handles = new Set(processor.handles);
    this.folds = new Set(processor.fold?.handles ?? []);
    const unapplied = processor.handles.filter((t) => !this.folds.has(t));
    if (unapplied.length && !processor.project) throw new Error(`${processor.name}: neither folded nor projected: ${unapplied.join(', ')}`);
    this.outbox = new Outbox(pool, quoteIdent(schema), this.group);
  }

  drainOutbox(outbound: Outbound): Promise<number> {
    return this.outbox.drain(outbound);
  }

  /** Load → fold → flush of the chunk's events of the fold's types, in their order. */
  private async applyFold(records: Ready[], client: pg.PoolClient, ctx: (p: Position) => ProjectContext): Promise<Emitted> {
    const fold = this.processor.fold!;
    const events = records.map((r) => r.event!);
    const state: unknown = await fold.load(client, events);
    const emitted = records.flatMap((r) => fold.fold(state, r.event!, ctx(r.position)));
    await fold.flush(client, state);
    return emitted;
  }

  async init(): Promise<void> {
    const s = quoteIdent(this.schema);
    await this.pool.query(`
      create schema if not exists ${s};
      ${bookkeepingTables(s)};
      ${outboxTable(s)};`);
  }

  position(topic: string, partition: number): Promise<number | undefined> {
    return pgPosition(this.pool, this.schema, this.group, topic, partition);
  }

  async applyChunk(records: Ready[], ctx: (p: Position) => ProjectContext, outbound: Outbound | undefined): Promise<ChunkResult> {
    const client = await this.pool.connect();
    let broken = false;
    // A connection dying mid-transaction also emits 'error' on the client; the failed query reports it.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('begin');
      await client.query(`set local search_path to ${quoteIdent(this.schema)}, public`);
      const candidates = firstOccurrences(records, this.handles);
      const ids = [...candidates].map((i) => (records[i]!.event as SchoolEvent).eventId);
      const fresh = await markApplied(client, this.group, ids);
      // Key → shared; exclusive wins when one event or another of the chunk needs the key exclusively.
      const keys = new Map<string, boolean>();
      for (const i of candidates) {
        const e = records[i]!.event as SchoolEvent;
        if (!fresh.has(e.eventId)) continue;
        for (const k of this.processor.sharedLockKeys?.(e) ?? []) if (!keys.has(k)) keys.set(k, true);
        for (const k of this.processor.lockKeys?.(e) ?? []) keys.set(k, false);
      }
      // Same keys and hashing as the projections' own pg_advisory_xact_lock calls (re-entrant within the transaction).
      if (keys.size) {
        const sorted = [...keys.keys()].sort();
        await client.query(
          `select case when s then pg_advisory_xact_lock_shared(hashtext(current_schema() || k))
                  else pg_advisory_xact_lock(hashtext(current_schema() || k)) end
           from unnest($1::text[], $2::bool[]) t (k, s)`,
          [sorted, sorted.map((k) => keys.get(k))],
        );
      }
      const outcomes: Outcome[] = [];
      const emitted: Emitted = [];
      const folded: Ready[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (!r.event || !this.handles.has(r.event.eventType)) outcomes.push('ignored');
        else if (!candidates.has(i) || !fresh.has(r.event.eventId)) outcomes.push('duplicate');
        else {
          if (this.folds.has(r.event.eventType)) folded.push(r);
          else emitted.push(...(await this.processor.project!(r.event, client, ctx(r.position))));
          outcomes.push('applied');
        }
      }
      if (folded.length) emitted.push(...(await this.applyFold(folded, client, ctx)));
      await advancePositions(client, this.group, lastPositionsByPartition(records));
      if (outbound) await writeOutbox(client, this.group, await outbound.encode(...emitted));
      await client.query('commit');
      return { outcomes, emitted };
    } catch (e) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
