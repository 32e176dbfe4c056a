import type { PoolClient } from 'pg';
import type { Logger } from '../../lib/logger';
import type { SchoolEvent } from '../../schemas/generated/events';
import { LocksBusyError, RuleViolationError } from '../runtime/errors';
import type { Statement } from '../runtime/sql';
import type { Emitted, Position } from '../runtime/types';
import { Inbox, type Parked } from './inbox';
import type { RuleCode } from './invariants';

/**
 * Park and release over grow-only facts (docs/invariants.md), the gate of grades and attendance. An event that
 * needs facts of other aggregates (its student enrolled in its section, its course one of the section's, its date
 * a school day of the section, …) is applied once every one is known, and parked (`parked_events`, in the chunk's
 * transaction; no read model changes) on the first one that is not. A fact is never revoked, so whatever the
 * interleaving of the topics it comes from, an event is applied iff its facts are among the events applied:
 * live and a rebuild give the same rows.
 *
 * - A fact is a key (`factKey`). The processor says which facts an event needs, in order (`Need`: the fact and
 *   the rule it enforces), and tells the gate what it knows (loaded from its own tables) and learns.
 * - Learning a fact releases what waits on it, in the order read (topic, partition, offset): each is admitted
 *   again by the processor's own arrival path, so it is applied, or parked on its next unknown fact.
 * - Events about a parked subject (a correction of a parked grade, the justification of a parked absence) park
 *   behind it, on the fact it waits on, and follow it.
 * - Nothing is dropped: an event whose fact never comes stays parked (counted by rule in the processor's
 *   gauges); one refused when admitted again stays parked, marked refused, and nothing waits behind it.
 */

/** A fact's key: its kind and what it is about (the parts never contain U+001F). */
export const factKey = (kind: string, ...parts: string[]): string => [kind, ...parts].join('\u001f');

/** A fact an event needs, and the rule that needs it (the parked row's `rule`). */
export interface Need {
  fact: string;
  rule: RuleCode;
}

/** Where a parked event is filed (its student and section, for operators and erasure) and what it is about (`grade:G-1`). */
export interface Claim {
  studentUserId: string;
  sectionId: string;
  subject: string;
}

/** A parked event: `key` is the fact it waits on; its claim, rule and where it was read (its release order). */
export interface ParkedRow extends Parked, Claim {
  rule: RuleCode;
  position: Position;
  /** Refused when admitted again after its fact came: it stays, for an operator, and holds nothing back. */
  refused: boolean;
}

const byPosition = (a: ParkedRow, b: ParkedRow): number =>
  a.position.topic.localeCompare(b.position.topic) || a.position.partition - b.position.partition || a.position.offset - b.position.offset;

/** Admits an event again (the processor's arrival path, at the position it was read): applied, or parked again. */
export type Readmit = (event: SchoolEvent, position: Position) => Emitted;

/** The facts and parked events a chunk needs, in memory: loaded, changed by the fold, written back by `writes`. */
export class FactGate {
  readonly inbox = new Inbox<ParkedRow>(byPosition);
  private readonly known: Set<string>;
  private readonly refused: Array<{ key: string; eventId: string }> = [];

  constructor(known: Iterable<string> = [], parked: Iterable<ParkedRow> = []) {
    this.known = new Set(known);
    this.inbox.load(parked);
  }

  /** Learns a fact; whether it is new (then release what waits on it). */
  learn(fact: string): boolean {
    if (this.known.has(fact)) return false;
    this.known.add(fact);
    return true;
  }

  /** The first of `needs` not known yet, if any. */
  firstUnknown(needs: readonly Need[]): Need | undefined {
    return needs.find((n) => !this.known.has(n.fact));
  }

  /** The parked rows about `subject` that hold others back, in the order read: waiting, not refused. */
  private holding(subject: string): ParkedRow[] {
    return this.inbox
      .held()
      .filter((r) => r.subject === subject && !r.refused && !this.known.has(r.key))
      .sort(byPosition);
  }

  /** The parked row an event about `subject` must wait behind (the first read), if any. */
  behind(subject: string): ParkedRow | undefined {
    return this.holding(subject)[0];
  }

  /** The parked events about `subject` (waiting ones), in the order read. */
  parkedAbout(subject: string): SchoolEvent[] {
    return this.holding(subject).map((r) => r.event);
  }

  /** Parks `event` on `need` (a follow-on: on the need of the row it waits behind, with its own subject). */
  park(event: SchoolEvent, claim: Claim, need: Need, position: Position): void {
    const { studentUserId, sectionId, subject } = claim;
    this.inbox.park({ key: need.fact, event, studentUserId, sectionId, subject, rule: need.rule, position, refused: false });
  }

  /** Parks `event` about `subject` behind `row`, the parked event it follows: on that row's fact and rule, filed like it. */
  parkBehind(event: SchoolEvent, row: ParkedRow, subject: string, position: Position): void {
    this.park(event, { ...row, subject }, { fact: row.key, rule: row.rule }, position);
  }

  /** Learns `fact` (if an event teaches one) and, when it is new, admits again what waits on it (`release`). */
  teach(fact: string | undefined, readmit: Readmit, logger: Logger): Emitted {
    return fact !== undefined && this.learn(fact) ? this.release(fact, readmit, logger) : [];
  }

  /**
   * Admits again every event waiting on `fact`, in the order read; `readmit` applies it or parks it on its next
   * unknown fact. One refused now stays where it is, marked refused and logged: never dropped.
   */
  release(fact: string, readmit: Readmit, logger: Logger): Emitted {
    const out: Emitted = [];
    for (const row of this.inbox.waiting(fact)) {
      if (row.refused) continue;
      try {
        out.push(...readmit(row.event, row.position));
      } catch (err) {
        if (!(err instanceof RuleViolationError)) throw err;
        logger.error('parked event refused on release; it stays parked', {
          eventId: row.event.eventId,
          eventType: row.event.eventType,
          correlationId: row.event.correlationId,
          rule: err.rule,
          reason: err.message,
        });
        row.refused = true;
        this.refused.push({ key: fact, eventId: row.event.eventId });
        continue;
      }
      this.inbox.release(fact, row.event.eventId);
    }
    return out;
  }

  /** The chunk's writes to `parked_events`: rows released, parked (or moved to another fact) and refused. */
  writes(): Statement[] {
    const writes: Statement[] = [];
    const { parked, released } = this.inbox.changes();
    // A row moved to its next fact is one row updated, not deleted and inserted (one statement cannot do both).
    const moved = new Set(parked.map((r) => r.event.eventId));
    const gone = released.filter((r) => !moved.has(r.eventId));
    if (gone.length)
      writes.push({
        text: `delete from parked_events p using unnest($1::text[], $2::text[]) r (f, e) where p.fact = r.f and p.event_id = r.e`,
        values: [gone.map((r) => r.key), gone.map((r) => r.eventId)],
      });
    if (parked.length)
      writes.push({
        text: `insert into parked_events (student_user_id, section_id, event_id, subject_id, event_type, rule, source_topic, source_partition,
                 source_offset, event, fact, refused)
               select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[],
                 $10::jsonb[], $11::text[], $12::bool[])
               on conflict (student_user_id, section_id, event_id) do update set fact = excluded.fact, rule = excluded.rule, refused = excluded.refused`,
        values: [
          parked.map((r) => r.studentUserId),
          parked.map((r) => r.sectionId),
          parked.map((r) => r.event.eventId),
          parked.map((r) => r.subject),
          parked.map((r) => r.event.eventType),
          parked.map((r) => r.rule),
          parked.map((r) => r.position.topic),
          parked.map((r) => r.position.partition),
          parked.map((r) => r.position.offset),
          parked.map((r) => JSON.stringify(r.event)),
          parked.map((r) => r.key),
          parked.map((r) => r.refused),
        ],
      });
    if (this.refused.length)
      writes.push({
        text: `update parked_events p set refused = true from unnest($1::text[], $2::text[]) r (f, e) where p.fact = r.f and p.event_id = r.e`,
        values: [this.refused.map((r) => r.key), this.refused.map((r) => r.eventId)],
      });
    return writes;
  }
}

interface Row extends Claim {
  rule: RuleCode;
  fact: string;
  event: SchoolEvent;
  topic: string;
  partition: number;
  offset: string;
  refused: boolean;
}

async function selectParked(tx: PoolClient, facts: readonly string[], subjects: readonly string[]): Promise<ParkedRow[]> {
  if (!facts.length && !subjects.length) return [];
  const r = await tx.query<Row>(
    `select student_user_id "studentUserId", section_id "sectionId", subject_id subject, rule, fact, event, refused,
       source_topic topic, source_partition "partition", source_offset "offset"
     from parked_events where fact = any($1::text[]) or subject_id = any($2::text[])`,
    [facts, subjects],
  );
  return r.rows.map((x) => ({
    key: x.fact,
    event: x.event,
    studentUserId: x.studentUserId,
    sectionId: x.sectionId,
    subject: x.subject,
    rule: x.rule,
    refused: x.refused,
    position: { topic: x.topic, partition: x.partition, offset: Number(x.offset) },
  }));
}

/** The advisory locks an event takes on arrival: exclusive (its rows) and shared (the facts it reads). */
export interface EventLocks {
  exclusive(e: SchoolEvent): string[];
  shared(e: SchoolEvent): string[];
}

/**
 * The parked events a chunk may release (waiting on `facts`, the facts its events can teach) or park behind
 * (about `subjects`, what its gated events are about). A release admits events again: it writes their rows (a
 * student's averages or summary) and reads the facts they need, so the locks those events take on arrival are
 * taken here before they are read, and the rows are read again under them (a follow-on parked meanwhile behind
 * one of them is released with it; a fact another chunk is writing is seen once it commits). These locks come
 * after the chunk's own, out of the sorted order, so they are only tried: one another chunk holds fails this
 * chunk with LocksBusyError, which the runtime retries at once as contention, instead of a deadlock that
 * PostgreSQL would break only after deadlock_timeout.
 */
export async function loadParked(
  tx: PoolClient,
  facts: readonly string[],
  subjects: readonly string[],
  locks: EventLocks,
): Promise<ParkedRow[]> {
  const releasable = facts.length ? await selectParked(tx, facts, []) : [];
  if (!releasable.length) return selectParked(tx, [], subjects);
  const shared = new Map<string, boolean>();
  for (const r of releasable) {
    for (const k of locks.shared(r.event)) if (!shared.has(k)) shared.set(k, true);
    for (const k of locks.exclusive(r.event)) shared.set(k, false);
  }
  const keys = [...shared.keys()].sort();
  if (keys.length) {
    const r = await tx.query<{ ok: boolean }>(
      `select bool_and(case when s then pg_try_advisory_xact_lock_shared(hashtext(current_schema() || k))
                       else pg_try_advisory_xact_lock(hashtext(current_schema() || k)) end) ok
       from unnest($1::text[], $2::bool[]) t (k, s)`,
      [keys, keys.map((k) => shared.get(k))],
    );
    if (!r.rows[0]?.ok) throw new LocksBusyError('parked events to release need locks another chunk holds; retried');
  }
  return selectParked(tx, facts, [...new Set([...subjects, ...releasable.map((r) => r.subject)])]);
}
