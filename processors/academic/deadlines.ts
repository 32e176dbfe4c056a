import type pg from 'pg';
import type { Clock } from '../../lib/clock';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { buildEvent, deterministicEventId } from '../../schemas/envelope';
import type { SagaStep, SchoolEvent } from '../../schemas/generated/events';
import { createPgPool } from '../../lib/clients/pg';
import type { ProcessorTask } from '../runtime/types';
import { quoteIdent } from '../runtime/sql';

/**
 * Saga deadlines, checked from the stored saga state (so they survive restarts): every
 * open saga with no progress for longer than the deadline gets `enrollment.deadline.expired`.
 * The id is deterministic per stall (enrollment and time of its last progress), so several
 * checkers, or repeated ticks, publish the same event; academic decides what it means.
 */
/** Saga deadlines as academic's background task, with its own pool on the projection's schema. */
export const sagaDeadlinesTask: ProcessorTask = ({ config, schema, publish, clock, logger }) => {
  const pool = createPgPool(config, { max: 2 }, logger);
  const deadlines = new SagaDeadlines(pool, schema, publish, config.saga, clock, logger);
  return {
    start: () => deadlines.start(),
    stop: async () => {
      await deadlines.stop();
      await pool.end();
    },
  };
};

export class SagaDeadlines {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /**
   * Enrollments reported, and when. Ticks every few seconds re-found every stalled saga academic had not
   * applied yet and published it again: under load, thousands of duplicates that academic must read and
   * skip, which slowed it further (a 2,000-saga bench collapsed). A report is repeated only after another
   * deadline has passed (in case it was lost).
   */
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly publish: (events: SchoolEvent[]) => Promise<void>,
    private readonly saga: Config['saga'],
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.tick().catch((e: unknown) =>
        this.logger.warn('saga deadline check failed; will retry', { error: e instanceof Error ? e.message : String(e) }),
      );
    }, this.saga.checkIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One check; returns how many expired sagas it reported. */
  async tick(): Promise<number> {
    const now = this.clock.now().getTime();
    for (const [id, at] of this.reported) if (now - at >= this.saga.deadlineMs) this.reported.delete(id);
    const r = await this.pool.query<{
      enrollment_id: string;
      status: string;
      current_step: SagaStep;
      correlation_id: string;
      updated_at: Date;
      cause: string | null;
    }>(
      // The cause is the saga event that made the last progress: a rebuild applies the deadline after it.
      `select e.enrollment_id, e.status, e.current_step, e.correlation_id, e.updated_at,
         (select t.event_id from ${quoteIdent(this.schema)}.saga_timeline t where t.enrollment_id = e.enrollment_id and t.at <= e.updated_at
          order by t.at desc, t.event_id desc limit 1) cause
       from ${quoteIdent(this.schema)}.enrollments e
       where e.status not in ('COMPLETED', 'FAILED', 'COMPENSATION_FAILED') and not e.deadline_expired and e.updated_at < $1
         and not (e.enrollment_id = any($2::text[]))
       order by e.updated_at limit 500`,
      [new Date(now - this.saga.deadlineMs), [...this.reported.keys()]],
    );
    const events = r.rows.map(
      (row) =>
        buildEvent(
          'enrollment.deadline.expired',
          {
            enrollmentId: row.enrollment_id,
            stalledStep: row.current_step,
            status: row.status,
            lastProgressAt: row.updated_at.toISOString(),
            deadlineMs: this.saga.deadlineMs,
          },
          {
            sourceService: 'processor:academic',
            clock: this.clock,
            correlationId: row.correlation_id,
            causationId: row.cause ?? undefined,
            eventId: deterministicEventId(row.enrollment_id, 'deadline', row.updated_at.toISOString()),
          },
        ) as SchoolEvent,
    );
    if (events.length) {
      await this.publish(events);
      for (const e of events) this.reported.set(e.aggregateId, now);
      this.logger.warn('sagas past their deadline', { count: events.length, enrollments: events.slice(0, 10).map((e) => e.aggregateId) });
    }
    return events.length;
  }
}
