import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../lib/logger';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { RuleViolationError } from '../runtime/errors';
import { quoteIdent, type Statement } from '../runtime/sql';
import type { Emitted, Position, StoreGauge } from '../runtime/types';
import { Inbox, type Parked } from './inbox';
import type { RuleCode } from './invariants';

/**
 * The enrolled-student gate of grades and attendance (rules GRADE_STUDENT_NOT_ENROLLED and
 * ATTENDANCE_STUDENT_NOT_ENROLLED, docs/invariants.md), decided by park and release over grow-only facts:
 *
 * - the fact "student S was ever COMPLETED-enrolled in section X" is learned from academic's own events, both
 *   keyed by the enrollment (one partition of academic-events, so always read in the order academic wrote
 *   them): `enrollment.completed` (the saga ended COMPLETED in its section), and `enrollment.section.assigned`
 *   of an enrollment already completed (academic emits it for a completed enrollment only when it accepted a
 *   transfer, which moves the enrollment to the new section at once). A fact is never revoked: a later
 *   transfer or anything else leaves it, so no verdict depends on what came after;
 * - an event for a (student, section) not (yet) known is parked (`parked_events`, written in the chunk's
 *   transaction) and released, applied with its derived events, in the chunk that learns the fact. Events
 *   about a parked subject (a correction of a parked grade, the justification of a parked absence, a second
 *   mark with the id of a parked one) park behind it. Released in the order they were read (topic, partition,
 *   offset: the same live and in a rebuild), so an event and its follow-ons keep their order;
 * - nothing parked is dropped: an event whose fact never comes stays parked, counted by the processor's
 *   gauges (stale after RULE_PARKED_STALE_MS) and listed by the query in docs/invariants.md.
 *
 * Whatever the interleaving of partitions, an event is applied iff its fact is among the events applied (the
 * facts only grow), and in the same order as its follow-ons: live and a rebuild give the same rows.
 */

/** The processors that park on the gate (each has a `parked_events` table in its schema). */
export const PARKING_PROCESSORS: ReadonlySet<string> = new Set(['grades', 'attendance']);

/** Whether `eventId` waits parked in the processor's projection `schema` (applied, but not visible to queries yet). */
export async function isParked(pool: Pick<Pool, 'query'>, schema: string, eventId: string): Promise<boolean> {
  const r = await pool.query(`select 1 from ${quoteIdent(schema)}.parked_events where event_id = $1 limit 1`, [eventId]);
  return (r.rowCount ?? 0) > 0;
}

/** academic's events the facts are learned from. */
export const ENROLLMENT_FACTS = ['enrollment.completed', 'enrollment.section.assigned'] as const satisfies readonly EventType[];
export type EnrollmentFact = SchoolEvent<(typeof ENROLLMENT_FACTS)[number]>;

/** What a gated event claims: its student in its section; `subject` names what it is about (e.g. `grade:G-1`). */
export interface Claim {
  studentUserId: string;
  sectionId: string;
  subject: string;
  rule: RuleCode;
}

/** A parked event: the claim it waits on and where it was read (its release order). */
export interface ParkedRow extends Parked, Claim {
  position: Position;
}

export const enrolledKey = (studentUserId: string, sectionId: string): string => `${studentUserId}\u0000${sectionId}`;

const byPosition = (a: ParkedRow, b: ParkedRow): number =>
  a.position.topic.localeCompare(b.position.topic) || a.position.partition - b.position.partition || a.position.offset - b.position.offset;

/** The facts and parked events a chunk needs, in memory (loaded by loadGate, written back by gateWrites). */
export class EnrolledGate {
  private readonly facts: Set<string>;
  private readonly completed: Set<string>;
  readonly inbox = new Inbox<ParkedRow>(byPosition);
  private readonly newFacts = new Map<string, { studentUserId: string; sectionId: string }>();
  private readonly newCompleted = new Set<string>();

  constructor(facts: Iterable<string> = [], completed: Iterable<string> = [], parked: Iterable<ParkedRow> = []) {
    this.facts = new Set(facts);
    this.completed = new Set(completed);
    this.inbox.load(parked);
  }

  knows(studentUserId: string, sectionId: string): boolean {
    return this.facts.has(enrolledKey(studentUserId, sectionId));
  }

  /**
   * The parked row an event about `subject` must wait behind (the first read), if any. A row whose fact is known
   * was refused on release (it stays parked for an operator, see release): nothing waits behind it.
   */
  behind(subject: string): ParkedRow | undefined {
    return this.inbox
      .held()
      .filter((r) => r.subject === subject && !this.facts.has(r.key))
      .sort(byPosition)[0];
  }

  /** The parked events about `subject` (waiting ones), in the order they were read. */
  parkedAbout(subject: string): SchoolEvent[] {
    return this.inbox
      .held()
      .filter((r) => r.subject === subject && !this.facts.has(r.key))
      .sort(byPosition)
      .map((r) => r.event);
  }

  /** Parks `event` on its claim (a follow-on: on the claim of the row it waits behind, with its own subject). */
  park(event: SchoolEvent, claim: Claim, position: Position): void {
    const { studentUserId, sectionId, subject, rule } = claim;
    this.inbox.park({ key: enrolledKey(studentUserId, sectionId), event, studentUserId, sectionId, subject, rule, position });
  }

  /** Learns what an academic event says; the key it made known now (release what waits on it), if any. */
  learn(e: EnrollmentFact): string | undefined {
    const p = e.payload;
    if (e.eventType === 'enrollment.completed') {
      if (!this.completed.has(p.enrollmentId)) this.newCompleted.add(p.enrollmentId);
      this.completed.add(p.enrollmentId);
    } else if (!this.completed.has(p.enrollmentId)) return undefined; // step 3 of a saga still running: not a fact yet
    const key = enrolledKey(p.studentUserId, p.sectionId);
    if (this.facts.has(key)) return undefined;
    this.facts.add(key);
    this.newFacts.set(key, { studentUserId: p.studentUserId, sectionId: p.sectionId });
    return key;
  }

  /**
   * Applies every event waiting on `key`, in the order read, releasing each; `apply` is the processor's own path
   * for an admitted event. One refused now (the checks on arrival make that unexpected) stays parked and is
   * logged: never dropped, and nothing waits behind it.
   */
  release(key: string | undefined, apply: (e: SchoolEvent) => Emitted, logger: Logger): Emitted {
    if (key === undefined) return [];
    const out: Emitted = [];
    for (const row of this.inbox.waiting(key)) {
      try {
        out.push(...apply(row.event));
      } catch (err) {
        if (!(err instanceof RuleViolationError)) throw err;
        logger.error('parked event refused on release; it stays parked', {
          eventId: row.event.eventId,
          eventType: row.event.eventType,
          correlationId: row.event.correlationId,
          rule: err.rule,
          reason: err.message,
        });
        continue;
      }
      this.inbox.release(key, row.event.eventId);
    }
    return out;
  }

  /** The chunk's writes: facts and completions learned, rows released and parked. */
  writes(): Statement[] {
    const writes: Statement[] = [];
    const facts = [...this.newFacts.values()];
    if (facts.length)
      writes.push({
        text: 'insert into enrolled_sections select * from unnest($1::text[], $2::text[]) on conflict do nothing',
        values: columns(facts, ['studentUserId', 'sectionId']),
      });
    if (this.newCompleted.size)
      writes.push({
        text: 'insert into completed_enrollments select * from unnest($1::text[]) on conflict do nothing',
        values: [[...this.newCompleted]],
      });
    const { parked, released } = this.inbox.changes();
    if (released.length) {
      const rows = released.map((r) => ({ ...this.split(r.key), eventId: r.eventId }));
      writes.push({
        text: `delete from parked_events p using unnest($1::text[], $2::text[], $3::text[]) r (s, x, e)
               where p.student_user_id = r.s and p.section_id = r.x and p.event_id = r.e`,
        values: columns(rows, ['studentUserId', 'sectionId', 'eventId']),
      });
    }
    if (parked.length)
      writes.push({
        text: `insert into parked_events (student_user_id, section_id, event_id, subject_id, event_type, rule, source_topic, source_partition,
                 source_offset, event)
               select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[], $10::jsonb[])
               on conflict do nothing`,
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
        ],
      });
    return writes;
  }

  private split(key: string): { studentUserId: string; sectionId: string } {
    const [studentUserId, sectionId] = key.split('\u0000') as [string, string];
    return { studentUserId, sectionId };
  }
}

/** The (student, section) of a fact event, and the enrollment whose completion it may need. */
function factOf(e: EnrollmentFact): { studentUserId: string; sectionId: string; enrollmentId: string } {
  return { studentUserId: e.payload.studentUserId, sectionId: e.payload.sectionId, enrollmentId: e.payload.enrollmentId };
}

/**
 * What a chunk's gate needs, three queries at most: the facts of the claims and fact events it names, the
 * completions of the enrollments its fact events name, and the events parked on those facts or about the
 * subjects its claims name. The rows of the events released or waited behind are the caller's to load
 * (EnrolledGate.inbox.held()).
 */
export async function loadGate(
  tx: PoolClient,
  facts: EnrollmentFact[],
  claims: ReadonlyArray<Pick<Claim, 'studentUserId' | 'subject'> & { sectionId?: string }>,
): Promise<EnrolledGate> {
  const named = facts.map(factOf);
  const keys = new Map<string, { studentUserId: string; sectionId: string }>();
  for (const k of [...named, ...claims])
    if (k.sectionId !== undefined) keys.set(enrolledKey(k.studentUserId, k.sectionId), { ...k, sectionId: k.sectionId });
  const known: string[] = [];
  if (keys.size) {
    const list = [...keys.values()];
    const r = await tx.query<{ s: string; x: string }>(
      `select student_user_id s, section_id x from enrolled_sections e, unnest($1::text[], $2::text[]) k (s, x)
       where e.student_user_id = k.s and e.section_id = k.x`,
      columns(list, ['studentUserId', 'sectionId']),
    );
    known.push(...r.rows.map((x) => enrolledKey(x.s, x.x)));
  }
  const completed: string[] = [];
  const enrollments = [...new Set(named.map((n) => n.enrollmentId))];
  if (enrollments.length) {
    const r = await tx.query<{ id: string }>('select enrollment_id id from completed_enrollments where enrollment_id = any($1::text[])', [
      enrollments,
    ]);
    completed.push(...r.rows.map((x) => x.id));
  }
  const parked: ParkedRow[] = [];
  const subjects = [...new Set(claims.map((c) => c.subject))];
  if (named.length || subjects.length) {
    const r = await tx.query<Claim & { event: SchoolEvent; topic: string; partition: number; offset: string; known: boolean }>(
      `select student_user_id "studentUserId", section_id "sectionId", subject_id subject, rule, event,
         source_topic topic, source_partition "partition", source_offset "offset",
         exists (select 1 from enrolled_sections e where e.student_user_id = p.student_user_id and e.section_id = p.section_id) known
       from parked_events p
       where (student_user_id, section_id) in (select * from unnest($1::text[], $2::text[])) or subject_id = any($3::text[])`,
      [named.map((n) => n.studentUserId), named.map((n) => n.sectionId), subjects],
    );
    for (const x of r.rows) {
      const key = enrolledKey(x.studentUserId, x.sectionId);
      if (x.known) known.push(key);
      parked.push({
        key,
        event: x.event,
        studentUserId: x.studentUserId,
        sectionId: x.sectionId,
        subject: x.subject,
        rule: x.rule,
        position: { topic: x.topic, partition: x.partition, offset: Number(x.offset) },
      });
    }
  }
  return new EnrolledGate(known, completed, parked);
}

/**
 * The gate's gauges for processor `name` (`school_events_<name>_parked_events` and `…_parked_oldest_seconds`):
 * what is parked by rule, stale once parked longer than `staleMs` (RULE_PARKED_STALE_MS).
 */
export function parkedGauges(name: string, staleMs: number): StoreGauge[] {
  return [
    {
      name: `school_events_${name}_parked_events`,
      help: `Events ${name} keeps parked waiting for the student's enrollment in the section, by rule; stale="true": parked longer than RULE_PARKED_STALE_MS (${staleMs} ms)`,
      labels: ['rule', 'stale'],
      sql: `select rule, (parked_at < now() - interval '${Math.floor(staleMs)} milliseconds')::text as stale, count(*) as value
            from parked_events group by 1, 2`,
    },
    {
      name: `school_events_${name}_parked_oldest_seconds`,
      help: `Seconds the oldest event ${name} keeps parked has waited, by rule`,
      labels: ['rule'],
      sql: 'select rule, extract(epoch from now() - min(parked_at)) as value from parked_events group by rule',
    },
  ];
}
