import { slotViolation } from '../../processors/assignments/handlers';
import { checkGrade } from '../../processors/grades/handlers';
import type { EventPayloads, EventType } from '../../schemas/generated/events';
import type { FieldError } from '../http/problem';
import type { Rules } from '../../lib/config';
import { futureDateErrors } from './checks/attendance';
import { webhookAddressErrors } from './checks/notifications';
import { createdRolesErrors } from './checks/users';

/**
 * Business rules a processor would otherwise reject into the dead-letter topic: checked
 * before publishing, with the processors' own functions, so the client hears of it (400). Rules decided from
 * the request alone (and the API's clock, `now`); those that read the projections are in ./checks (409).
 */
const inBody = (f: string): string => `body.${f}`;
const dated = (p: { date: string }, _: Rules, now: Date): FieldError[] => futureDateErrors(p.date, now, inBody);
const RULES: { [K in EventType]?: (p: EventPayloads[K], rules: Rules, now: Date) => FieldError[] } = {
  'grade.recorded': (p, rules) => {
    const c = checkGrade(p, rules.maxScore);
    return c.ok ? [] : [{ field: `body.${c.field}`, message: c.reason, rule: c.rule }];
  },
  'grade.updated': (p) =>
    // The upper bound is the corrected grade's own maxScore (the grades processor checks it from its rows); below 0 is never in range.
    Number.isFinite(p.newScore) && p.newScore >= 0
      ? []
      : [{ field: 'body.newScore', message: `newScore ${p.newScore} is below 0`, rule: 'GRADE_SCORE_RANGE' }],
  'schedule.created': (p, rules) => {
    const bad = slotViolation(p, rules.schoolDay);
    return bad ? [{ field: inBody(bad.field), message: bad.message, rule: 'SCHEDULE_SLOT_INVALID' }] : [];
  },
  'tardiness.recorded': (p, rules, now) => [
    ...(p.minutesLate > 0 ? [] : [{ field: 'body.minutesLate', message: 'must be > 0', rule: 'TARDINESS_MINUTES' }]),
    ...dated(p, rules, now),
  ],
  'attendance.marked': dated,
  'absence.recorded': dated,
  'user.created': (p) => createdRolesErrors(p, inBody),
  'notification.requested': (p) => webhookAddressErrors(p, inBody),
  'section.created': (p) => (p.capacity > 0 ? [] : [{ field: 'body.capacity', message: 'must be > 0' }]),
  'academic.year.started': (p) => (p.endDate >= p.startDate ? [] : [{ field: 'body.endDate', message: 'must not be before startDate' }]),
};

export function ruleErrors<T extends EventType>(type: T, payload: EventPayloads[T], rules: Rules, now: Date): FieldError[] {
  const rule = RULES[type];
  return rule ? rule(payload, rules, now) : [];
}
