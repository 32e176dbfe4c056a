import type pg from 'pg';
import { EXAMPLE_PAYLOADS } from '../../../schemas/examples';
import { emit, toEvents } from '../../shared/emit';
import { RuleViolationError } from '../errors';
import { columns } from '../columns';
import type { ChunkFold, MongoProcessor, PostgresProcessor } from '../types';

/**
 * Test processors whose projection is a counter, so double application shows:
 * each tardiness.recorded adds minutesLate to the student's total and 1 to its count.
 * A negative minutesLate breaks a rule that will never pass (dead letter); a student in
 * the `blocked` table fails until the row is removed (a fixable cause, for redrive tests).
 * With `derive`, each applied event also emits one attendance.pattern.alert about its student (outbox tests).
 */
export function pgCounter(name: string, topic: string, slowMs = 0, checkBlocked = true, derive = false): PostgresProcessor {
  return {
    name,
    topics: [topic],
    handles: ['tardiness.recorded'],
    store: 'postgres',
    async project(event, tx, ctx) {
      if (event.eventType !== 'tardiness.recorded') return [];
      if (event.payload.minutesLate < 0) throw new RuleViolationError(`minutesLate must be >= 0, got ${event.payload.minutesLate}`);
      const blocked = checkBlocked ? await tx.query('select 1 from blocked where student = $1', [event.payload.studentUserId]) : undefined;
      if (blocked?.rowCount) throw new RuleViolationError(`student ${event.payload.studentUserId} is blocked`);
      if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
      await tx.query(
        `insert into counters (student, total, events) values ($1, $2, 1)
         on conflict (student) do update set total = counters.total + excluded.total, events = counters.events + 1`,
        [event.payload.studentUserId, event.payload.minutesLate],
      );
      const alert = { ...EXAMPLE_PAYLOADS['attendance.pattern.alert'], studentUserId: event.payload.studentUserId };
      return derive ? toEvents(event, [emit('attendance.pattern.alert', alert)], ctx) : [];
    },
  };
}

/**
 * The same counter on the load → fold → flush path: the chunk's increments are summed per student in
 * memory and written with one statement (a counter needs no loaded state: its flush adds the deltas).
 */
export function pgFoldCounter(name: string, topic: string): PostgresProcessor {
  const fold: ChunkFold<Map<string, { total: number; events: number }>> = {
    handles: ['tardiness.recorded'],
    load: () => Promise.resolve(new Map()),
    fold(state, event) {
      if (event.eventType !== 'tardiness.recorded') return [];
      if (event.payload.minutesLate < 0) throw new RuleViolationError(`minutesLate must be >= 0, got ${event.payload.minutesLate}`);
      const c = state.get(event.payload.studentUserId) ?? { total: 0, events: 0 };
      state.set(event.payload.studentUserId, { total: c.total + event.payload.minutesLate, events: c.events + 1 });
      return [];
    },
    async flush(tx, state) {
      const rows = [...state].map(([student, c]) => ({ student, ...c }));
      await tx.query(
        `insert into counters (student, total, events) select * from unnest($1::text[], $2::bigint[], $3::bigint[])
         on conflict (student) do update set total = counters.total + excluded.total, events = counters.events + excluded.events`,
        columns(rows, ['student', 'total', 'events']),
      );
    },
  };
  return {
    name,
    topics: [topic],
    handles: ['tardiness.recorded'],
    store: 'postgres',
    fold,
    project: () => Promise.reject(new Error('every handled type is folded')),
  };
}

export async function createCounterTable(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(
    `create schema if not exists "${schema}";
     create table if not exists "${schema}".counters (student text primary key, total bigint not null, events bigint not null);
     create table if not exists "${schema}".blocked (student text primary key)`,
  );
}

export function mongoCounter(name: string, topic: string, slowMs = 0): MongoProcessor {
  return {
    name,
    topics: [topic],
    handles: ['tardiness.recorded'],
    store: 'mongo',
    async project(event, mongo) {
      if (event.eventType !== 'tardiness.recorded') return [];
      if (event.payload.minutesLate < 0) throw new RuleViolationError(`minutesLate must be >= 0, got ${event.payload.minutesLate}`);
      if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
      // $inc is a hazard in general; the high-water mark makes it run at most once per offset.
      await mongo.update('counters', event.payload.studentUserId, { $inc: { total: event.payload.minutesLate, events: 1 } });
      return [];
    },
  };
}

/**
 * The Mongo counter on the load → fold → flush path: a chunk's increments of one student become one
 * guarded `$inc` of its document (the runtime coalesces them and moves the high-water mark past all of them).
 */
export function mongoFoldCounter(name: string, topic: string, slowMs = 0): MongoProcessor {
  return {
    name,
    topics: [topic],
    handles: ['tardiness.recorded'],
    store: 'mongo',
    fold: {
      handles: ['tardiness.recorded'],
      keys: (event) => (event.eventType === 'tardiness.recorded' ? [{ collection: 'counters', id: event.payload.studentUserId }] : []),
      fold(_docs, event) {
        if (event.eventType !== 'tardiness.recorded') return { updates: [], emit: [] };
        if (event.payload.minutesLate < 0) throw new RuleViolationError(`minutesLate must be >= 0, got ${event.payload.minutesLate}`);
        const id = event.payload.studentUserId;
        return { updates: [{ collection: 'counters', id, inc: { total: event.payload.minutesLate, events: 1 } }], emit: [] };
      },
      // Slows the chunk down after its flush, so a kill -9 lands between the documents and the positions.
      afterFlush: () => new Promise<void>((r) => setTimeout(r, slowMs * 20)),
    },
    project: () => Promise.reject(new Error('every handled type is folded')),
  };
}
