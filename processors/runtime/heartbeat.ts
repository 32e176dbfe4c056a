import os from 'node:os';
import type pg from 'pg';
import type { Logger } from '../../lib/logger';
import type { CircuitState } from './breaker';

/** One row per running processor instance, refreshed every RUNTIME_HEARTBEAT_MS (the API's ops status reads it). */
export const HEARTBEAT_TABLE = 'public.processor_heartbeats';

export const HEARTBEAT_DDL = `create table if not exists ${HEARTBEAT_TABLE} (
  group_id text not null, processor text not null, instance text not null, ready boolean not null,
  circuit text not null, started_at timestamptz not null default now(), seen_at timestamptz not null default now(),
  primary key (group_id, processor, instance))`;

/** What a heartbeat reports of one runner (ProcessorRunner satisfies it). */
export interface Beating {
  readonly group: string;
  readonly def: { name: string };
  readonly ready: boolean;
  readonly circuit: CircuitState;
}

/** This process, as heartbeats name it. */
export const instanceName = (): string => `${os.hostname()}:${process.pid}`;

/**
 * The heartbeat task of a live host: one small upsert per runner per interval on its own timer, off the
 * processors' path. A failed beat is logged at warn and tried again next interval; stop deletes this
 * instance's rows, so a graceful stop shows as gone at once (a crash shows as stale after 3 intervals).
 */
export class HeartbeatWriter {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private tableReady = false;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly runners: readonly Beating[],
    private readonly everyMs: number,
    private readonly logger: Logger,
    readonly instance = instanceName(),
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    // One beat at a time: a slow database skips beats instead of piling them up.
    this.inFlight = this.inFlight.then(() => this.beat().catch((e: unknown) => this.warn('heartbeat failed', e)));
  }

  /** Writes every runner's row now (the timer calls it; tests may too). */
  async beat(): Promise<void> {
    if (!this.tableReady) {
      await this.pool.query(HEARTBEAT_DDL);
      this.tableReady = true;
    }
    if (!this.runners.length) return;
    await this.pool.query(
      `insert into ${HEARTBEAT_TABLE} (group_id, processor, instance, ready, circuit)
       select g, p, $3, r, c from unnest($1::text[], $2::text[], $4::boolean[], $5::text[]) as x(g, p, r, c)
       on conflict (group_id, processor, instance) do update set ready = excluded.ready, circuit = excluded.circuit, seen_at = now()`,
      [
        this.runners.map((r) => r.group),
        this.runners.map((r) => r.def.name),
        this.instance,
        this.runners.map((r) => r.ready),
        this.runners.map((r) => r.circuit),
      ],
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.inFlight;
    if (!this.tableReady || !this.runners.length) return;
    await this.pool
      .query(`delete from ${HEARTBEAT_TABLE} where instance = $1 and group_id = any($2::text[])`, [
        this.instance,
        this.runners.map((r) => r.group),
      ])
      .catch((e: unknown) => this.warn('could not remove heartbeats on stop', e));
  }

  private warn(what: string, e: unknown): void {
    this.logger.warn(what, { instance: this.instance, error: e instanceof Error ? e.message : String(e) });
  }
}
