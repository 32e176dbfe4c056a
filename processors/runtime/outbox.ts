import type pg from 'pg';
import type { OutboundRecord } from '../../schemas/publisher';
import type { Outbound } from './store';

/** DDL of the outbox in a projection's schema (`schema` already quoted). */
export const outboxTable = (schema: string): string => `
  create table if not exists ${schema}.runtime_outbox (
    consumer_group text not null, seq bigserial, topic text not null, key text not null, value bytea not null,
    headers jsonb not null, created_at timestamptz not null default now(), primary key (consumer_group, seq))`;

/** Stores a chunk's derived events in its transaction (the caller's search_path points at the schema). */
export async function writeOutbox(tx: pg.PoolClient, group: string, records: readonly OutboundRecord[]): Promise<void> {
  if (!records.length) return;
  await tx.query(
    `insert into runtime_outbox (consumer_group, topic, key, value, headers)
     select $1, t, k, v, h from unnest($2::text[], $3::text[], $4::bytea[], $5::jsonb[]) with ordinality as x(t, k, v, h, n) order by n`,
    [
      group,
      records.map((r) => r.topic),
      records.map((r) => r.key),
      records.map((r) => r.value),
      records.map((r) => JSON.stringify(r.headers)),
    ],
  );
}

const BATCH = 2000;

/**
 * Transactional outbox: derived events commit with the projection's changes and leave afterwards, so no
 * lock is held across a Kafka round trip. A crash between the commit and the send leaves the rows here;
 * the next drain (at start, or after any later chunk) sends them, oldest first, with the ids they were
 * committed with, so downstream deduplication by eventId sees them once. Drains of one process are
 * serialised; two instances draining the same rows at once may send a row twice (same id: harmless).
 */
export class Outbox {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    /** The projection's schema, quoted. */
    private readonly schema: string,
    private readonly group: string,
  ) {}

  /** Sends everything committed and not yet sent; the number of records sent. */
  drain(outbound: Outbound): Promise<number> {
    const run = this.tail.then(
      () => this.drainNow(outbound),
      () => this.drainNow(outbound),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async drainNow(outbound: Outbound): Promise<number> {
    const table = `${this.schema}.runtime_outbox`;
    let sent = 0;
    for (;;) {
      const r = await this.pool.query<{ seq: string; topic: string; key: string; value: Buffer; headers: Record<string, string> }>(
        `select seq, topic, key, value, headers from ${table} where consumer_group = $1 order by seq limit ${BATCH}`,
        [this.group],
      );
      if (!r.rows.length) return sent;
      await outbound.send(r.rows);
      await this.pool.query(`delete from ${table} where consumer_group = $1 and seq = any($2::bigint[])`, [
        this.group,
        r.rows.map((x) => x.seq),
      ]);
      sent += r.rows.length;
      if (r.rows.length < BATCH) return sent;
    }
  }
}

/**
 * A rebuild's switch renames the live schema away: the rows its outbox has not sent yet move to the new
 * live schema with their sequence numbers (the live drain may be sending them and deletes by number), so
 * nothing committed is left behind. Runs in the switch's transaction; schemas are quoted.
 */
export async function carryOutbox(tx: pg.PoolClient, from: string, to: string): Promise<void> {
  await tx.query(
    `insert into ${to}.runtime_outbox (consumer_group, seq, topic, key, value, headers, created_at)
     select consumer_group, seq, topic, key, value, headers, created_at from ${from}.runtime_outbox`,
  );
  await tx.query(
    `select setval(pg_get_serial_sequence('${to}.runtime_outbox', 'seq'),
                   greatest((select last_value from ${from}.runtime_outbox_seq_seq), (select last_value from ${to}.runtime_outbox_seq_seq)))`,
  );
}
