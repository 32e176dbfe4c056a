import type { Pool, PoolClient } from 'pg';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { quoteIdent, type Statement } from '../runtime/sql';
import type { StoreGauge } from '../runtime/types';
import { factKey } from './gate';

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
 * - an event for a (student, section) not (yet) known is parked and released by the gate (./gate.ts), which
 *   parks and releases on the other grow-only facts the same way.
 */

/** The processors that park on the gate (each has a `parked_events` table in its schema). */
export const PARKING_PROCESSORS: ReadonlySet<string> = new Set(['grades', 'attendance', 'assignments']);

/** Whether `eventId` waits parked in the processor's projection `schema` (applied, but not visible to queries yet). */
export async function isParked(pool: Pick<Pool, 'query'>, schema: string, eventId: string): Promise<boolean> {
  const r = await pool.query(`select 1 from ${quoteIdent(schema)}.parked_events where event_id = $1 limit 1`, [eventId]);
  return (r.rowCount ?? 0) > 0;
}

/** academic's events the facts are learned from. */
export const ENROLLMENT_FACTS = ['enrollment.completed', 'enrollment.section.assigned'] as const satisfies readonly EventType[];
export type EnrollmentFact = SchoolEvent<(typeof ENROLLMENT_FACTS)[number]>;

/** The fact "student S was ever COMPLETED-enrolled in section X" (the gate's key). */
export const enrolledFact = (studentUserId: string, sectionId: string): string => factKey('enrolled', studentUserId, sectionId);

/** The enrollment facts a chunk knows and learns (enrolled_sections, completed_enrollments); the gate releases on them. */
export class EnrolledFacts {
  private readonly completed: Set<string>;
  private readonly newFacts = new Map<string, { studentUserId: string; sectionId: string }>();
  private readonly newCompleted = new Set<string>();

  /** `known`: the enrolled facts loaded (their keys); `completed`: the enrollments known completed. */
  constructor(
    readonly known: ReadonlySet<string> = new Set(),
    completed: Iterable<string> = [],
  ) {
    this.completed = new Set(completed);
  }

  /**
   * What an academic event says: the enrolled fact it makes known, if any (the gate decides whether it is new).
   * A section assigned during a running saga (step 3) is no fact; one of an enrollment known completed is a transfer.
   */
  learn(e: EnrollmentFact): string | undefined {
    const p = e.payload;
    if (e.eventType === 'enrollment.completed') {
      if (!this.completed.has(p.enrollmentId)) this.newCompleted.add(p.enrollmentId);
      this.completed.add(p.enrollmentId);
    } else if (!this.completed.has(p.enrollmentId)) return undefined;
    const key = enrolledFact(p.studentUserId, p.sectionId);
    if (!this.known.has(key)) this.newFacts.set(key, { studentUserId: p.studentUserId, sectionId: p.sectionId });
    return key;
  }

  /** The chunk's writes: facts and completions learned. */
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
    return writes;
  }
}

/** The enrolled facts an academic event may teach (the parked rows waiting on them are the ones it may release). */
export const enrolledFactOf = (e: EnrollmentFact): string => enrolledFact(e.payload.studentUserId, e.payload.sectionId);

/**
 * The enrollment facts a chunk needs, two queries at most: which of the (student, section) pairs are known
 * (`pairs`: those its gated and parked events need, and those its fact events name), and which of the enrollments
 * its fact events name are known completed.
 */
export async function loadEnrolled(
  tx: PoolClient,
  facts: readonly EnrollmentFact[],
  pairs: ReadonlyArray<{ studentUserId: string; sectionId: string }>,
): Promise<EnrolledFacts> {
  const keys = new Map<string, { studentUserId: string; sectionId: string }>();
  for (const k of [...facts.map((f) => f.payload), ...pairs]) keys.set(enrolledFact(k.studentUserId, k.sectionId), k);
  const known = new Set<string>();
  if (keys.size) {
    const r = await tx.query<{ s: string; x: string }>(
      `select student_user_id s, section_id x from enrolled_sections e, unnest($1::text[], $2::text[]) k (s, x)
       where e.student_user_id = k.s and e.section_id = k.x`,
      columns([...keys.values()], ['studentUserId', 'sectionId']),
    );
    for (const x of r.rows) known.add(enrolledFact(x.s, x.x));
  }
  const enrollments = [...new Set(facts.map((f) => f.payload.enrollmentId))];
  const completed = enrollments.length
    ? (
        await tx.query<{ id: string }>('select enrollment_id id from completed_enrollments where enrollment_id = any($1::text[])', [
          enrollments,
        ])
      ).rows.map((x) => x.id)
    : [];
  return new EnrolledFacts(known, completed);
}

/**
 * The gate's gauges for processor `name` (`school_events_<name>_parked_events` and `…_parked_oldest_seconds`):
 * what is parked by rule, stale once parked longer than `staleMs` (RULE_PARKED_STALE_MS).
 */
export function parkedGauges(name: string, staleMs: number): StoreGauge[] {
  return [
    {
      name: `school_events_${name}_parked_events`,
      help: `Events ${name} keeps parked waiting for a fact of another aggregate (an enrollment, a course, a period, a school day, a year, a teacher), by rule; stale="true": parked longer than RULE_PARKED_STALE_MS (${staleMs} ms)`,
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
