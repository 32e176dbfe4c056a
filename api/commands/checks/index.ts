import type { EventPayloads, EventType, SchoolEvent } from '../../../schemas/generated/events';
import type { Identity } from '../../auth/jwt';
import type { ApiDeps } from '../../deps';
import { ruleConflict, type FieldError } from '../../http/problem';
import { enrollmentErrors } from '../enrollment';
import { checkTeaching } from './assignments';
import { checkAttendanceDate } from './attendance';
import { Facts } from './facts';
import { checkGrade } from './grades';
import { checkRecipient } from './notifications';
import type { FieldOf } from './types';
import { checkLink, checkRoleChange } from './users';

/** The request field of payload field `name` of the command's i-th event. */
export type RequestField = (i: number, name: string) => string;

interface Ctx {
  facts: Facts;
  asAdmin: boolean;
  field: FieldOf;
}

/** The rules of docs/invariants.md decided from the read models, per event type (each in its domain's module). */
const CHECKS: { [K in EventType]?: (p: EventPayloads[K], c: Ctx) => Promise<FieldError[]> } = {
  'grade.recorded': (p, c) => checkGrade(p, p.recordedBy, c.asAdmin, c.facts, c.field),
  'competency.evaluated': (p, c) => checkGrade(p, p.evaluatedBy, c.asAdmin, c.facts, c.field),
  'attendance.marked': (p, c) => checkAttendanceDate(p, c.facts, c.field),
  'absence.recorded': (p, c) => checkAttendanceDate(p, c.facts, c.field),
  'tardiness.recorded': (p, c) => checkAttendanceDate(p, c.facts, c.field),
  'student.parent.linked': (p, c) => checkLink(p, c.facts, c.field),
  'user.role.changed': (p, c) => checkRoleChange(p, c.facts, c.field),
  'teacher.assigned.to.course': (p, c) => checkTeaching(p, c.facts, c.field),
  'schedule.created': (p, c) => checkTeaching(p, c.facts, c.field),
  'notification.requested': (p, c) => checkRecipient(p, c.facts, c.field),
};

/** The users each event type's rules read, so a command reads all of them in one query. */
const USER_FIELDS: { [K in EventType]?: ReadonlyArray<keyof EventPayloads[K] & string> } = {
  'student.parent.linked': ['studentUserId', 'parentUserId'],
  'user.role.changed': ['userId'],
  'teacher.assigned.to.course': ['teacherUserId'],
  'schedule.created': ['teacherUserId'],
  'notification.requested': ['recipientUserId'],
};

/** One error per field and rule (mark-present's events share their date). */
export function distinctErrors(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.field} ${e.rule ?? ''}`;
    return !seen.has(k) && !!seen.add(k);
  });
}

/** Every read-model rule the command's events break (enrollment in the section first), as field errors. */
export async function stateErrors(
  deps: Pick<ApiDeps, 'guard' | 'q' | 'reference'>,
  who: Identity,
  events: SchoolEvent[],
  field: RequestField,
  /** Off: every fact read now. A refusal is always decided on fresh facts (requireRules). */
  cached = true,
): Promise<FieldError[]> {
  const facts = new Facts(deps, cached ? deps.reference : undefined);
  const payload = (e: SchoolEvent) => e.payload as unknown as Record<string, unknown>;
  facts.preloadUsers(
    events.flatMap((e) =>
      ((USER_FIELDS[e.eventType] ?? []) as string[]).map((f) => payload(e)[f]).filter((x): x is string => typeof x === 'string'),
    ),
  );
  const asAdmin = who.roles.includes('admin');
  const checked = Promise.all(
    events.map((e, i) => {
      const check = CHECKS[e.eventType] as ((p: unknown, c: Ctx) => Promise<FieldError[]>) | undefined;
      return check ? check(e.payload, { facts, asAdmin, field: (name) => field(i, name) }) : Promise.resolve([]);
    }),
  );
  checked.catch(() => undefined); // awaited below; if the enrollment read fails first, this one must not go unhandled
  const enrolled = await enrollmentErrors(deps, events, (i) => field(i, 'studentUserId'));
  return distinctErrors([...enrolled, ...(await checked).flat()]);
}

/** Refuses the command with 409 RULE_VIOLATION naming every rule broken; a projection unavailable → 503. Nothing is published either way. */
export async function requireRules(
  deps: Pick<ApiDeps, 'guard' | 'q' | 'reference'>,
  who: Identity,
  events: SchoolEvent[],
  field: RequestField,
): Promise<void> {
  let errors = await stateErrors(deps, who, events, field);
  // Cached reference data may predate a course or period added a moment ago: refuse only on what is read now.
  if (errors.length) errors = await stateErrors(deps, who, events, field, false);
  if (errors.length) throw ruleConflict(`the ${events[0]!.eventType} command breaks a business rule`, errors);
}
