import crypto from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from '../processors/runtime/sql';
import { conflict } from './http/problem';

export const API_SCHEMA = 'api';

export interface StoredAnswer {
  status: number;
  body: unknown;
  location: string;
}

/** A stable hash of a JSON body (key order does not matter) plus the route it was sent to. */
export function requestHash(route: string, body: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return crypto
    .createHash('sha256')
    .update(route)
    .update('\n')
    .update(JSON.stringify(canon(body)))
    .digest('hex');
}

/**
 * Idempotency-Key store (PostgreSQL, schema `api`). `claim` either reserves the key for this
 * request, returns the first answer for the same body, or refuses (other body / in progress).
 */
export class IdempotencyStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs: number,
    schema = API_SCHEMA,
  ) {
    this.t = `${quoteIdent(schema)}.idempotency`;
  }

  private readonly t: string;

  async claim(identity: string, key: string, hash: string): Promise<StoredAnswer | 'claimed'> {
    const ins = await this.pool.query(
      `insert into ${this.t} as i (identity, key, request_hash) values ($1, $2, $3)
       on conflict (identity, key) do update set request_hash = excluded.request_hash, status = null, response = null, location = null, created_at = now()
         where i.created_at < now() - make_interval(secs => $4::double precision / 1000)
       returning identity`,
      [identity, key, hash, this.ttlMs],
    );
    if (ins.rowCount) return 'claimed';
    const r = await this.pool.query<{ request_hash: string; status: number | null; response: unknown; location: string | null }>(
      `select request_hash, status, response, location from ${this.t} where identity = $1 and key = $2`,
      [identity, key],
    );
    const row = r.rows[0];
    if (!row) return this.claim(identity, key, hash); // released in between: try again
    if (row.request_hash !== hash) throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body');
    if (row.status === null)
      throw conflict('IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still in progress; retry shortly');
    return { status: row.status, body: row.response, location: row.location ?? '' };
  }

  async complete(identity: string, key: string, answer: StoredAnswer): Promise<void> {
    await this.pool.query(`update ${this.t} set status = $3, response = $4, location = $5 where identity = $1 and key = $2`, [
      identity,
      key,
      answer.status,
      JSON.stringify(answer.body),
      answer.location,
    ]);
  }

  /** The request failed before anything was published: the key may be used again. */
  async release(identity: string, key: string): Promise<void> {
    await this.pool.query(`delete from ${this.t} where identity = $1 and key = $2 and status is null`, [identity, key]);
  }

  async purge(): Promise<number> {
    const r = await this.pool.query(`delete from ${this.t} where created_at < now() - make_interval(secs => $1::double precision / 1000)`, [
      this.ttlMs,
    ]);
    return r.rowCount ?? 0;
  }
}

export interface CommandRecord {
  eventId: string;
  eventType: string;
  correlationId: string;
  issuedBy: string;
}

/** The events the API published, so their status can be asked for later. */
export class CommandLog {
  private readonly t: string;
  constructor(
    private readonly pool: pg.Pool,
    schema = API_SCHEMA,
  ) {
    this.t = `${quoteIdent(schema)}.commands`;
  }

  async record(cs: CommandRecord[]): Promise<void> {
    await this.pool.query(
      `insert into ${this.t} (event_id, event_type, correlation_id, issued_by)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[]) on conflict do nothing`,
      [cs.map((c) => c.eventId), cs.map((c) => c.eventType), cs.map((c) => c.correlationId), cs.map((c) => c.issuedBy)],
    );
  }

  async get(eventId: string): Promise<CommandRecord | undefined> {
    const r = await this.pool.query<CommandRecord>(
      `select event_id "eventId", event_type "eventType", correlation_id "correlationId", issued_by "issuedBy" from ${this.t} where event_id = $1`,
      [eventId],
    );
    return r.rows[0];
  }
}
