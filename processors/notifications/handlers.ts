import type { EventPayloads, NotificationChannel } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';
import type { RuleCode } from '../shared/invariants';
import { usableAddress } from './erasure';

/** Notifications: who to notify and what the lifecycle events say. Pure functions; delivery is in delivery.ts. */

export interface Recipient {
  _id: string;
  firstName?: string;
  email?: string;
  parents?: string[];
}

export interface Attempt {
  attempt: number;
  ok: boolean;
  /** Nothing to retry: the request itself cannot be delivered (NOTIFICATION_NO_ADDRESS). Absent on attempts stored before it. */
  final?: boolean;
  providerMessageId?: string | null;
  errorCode?: string;
  errorMessage?: string;
}

/** The events that report a delivery: sent + delivered on success, failed per failed attempt. */
export function lifecycleEvents(
  notificationId: string,
  channel: NotificationChannel,
  attempts: Attempt[],
  maxAttempts: number,
): EmitSpec[] {
  const out: EmitSpec[] = [];
  for (const a of attempts) {
    if (a.ok) {
      out.push(
        emit(
          'notification.sent',
          { notificationId, channel, attempt: a.attempt, providerMessageId: a.providerMessageId ?? null },
          String(a.attempt),
        ),
      );
      out.push(emit('notification.delivered', { notificationId, channel, providerMessageId: a.providerMessageId ?? null }));
    } else {
      out.push(
        emit(
          'notification.failed',
          {
            notificationId,
            channel,
            attempt: a.attempt,
            errorCode: a.errorCode ?? 'UNKNOWN',
            errorMessage: a.errorMessage ?? '',
            willRetry: !a.final && a.attempt < maxAttempts,
          },
          String(a.attempt),
        ),
      );
    }
  }
  return out;
}

/** Where a notification goes: the explicit address, else the recipient's email (EMAIL) or id (LOG). */
export function addressOf(p: EventPayloads['notification.requested'], recipient: Recipient | undefined): string | undefined {
  if (p.address) return usableAddress(p.address); // an erased person's address reads as the marker: not sent
  if (p.channel === 'EMAIL') return usableAddress(recipient?.email);
  if (p.channel === 'LOG') return p.recipientUserId;
  return undefined;
}

const NO_ADDRESS: RuleCode = 'NOTIFICATION_NO_ADDRESS';

/**
 * NOTIFICATION_NO_ADDRESS (docs/invariants.md) as the delivery's outcome: nothing is sent and nothing retried (no
 * channel is tried, and waiting would not bring an address), and the one failed attempt names the rule, so the
 * notification.failed event, the notification's log and a welcome's step 6 failure all say why.
 */
export function noAddressAttempt(p: EventPayloads['notification.requested']): Attempt {
  const why =
    p.channel === 'WEBHOOK'
      ? 'a WEBHOOK goes only to the request address, and it has none'
      : `the request has no address and recipient ${p.recipientUserId} has no usable ${p.channel} address here (not created yet, or erased)`;
  return { attempt: 1, ok: false, final: true, errorCode: NO_ADDRESS, errorMessage: why };
}

/** Welcome notifications of saga step 6: the student and each linked parent. */
export function welcomeRequests(
  p: EventPayloads['enrollment.attendance.initialized'],
  student: Recipient | undefined,
  parents: Recipient[],
  channel: NotificationChannel,
): Array<EventPayloads['notification.requested']> {
  const to = [...(student ? [student] : [{ _id: p.studentUserId }]), ...parents];
  return to.map((r) => ({
    notificationId: `WEL-${p.enrollmentId}-${r._id}`,
    recipientUserId: r._id,
    channel,
    templateId: 'welcome',
    subject: `Welcome to section ${p.sectionId}`,
    body:
      r._id === p.studentUserId
        ? `Welcome, ${r.firstName ?? r._id}: you are enrolled in ${p.sectionId}.`
        : `Your child ${p.studentUserId} is enrolled in ${p.sectionId}.`,
    variables: { enrollmentId: p.enrollmentId, sectionId: p.sectionId, role: r._id === p.studentUserId ? 'student' : 'parent' },
    bulkId: null,
    priority: 'NORMAL',
    address: null,
  }));
}

/** Alerts reach the student's linked parents. */
export function alertRequests(
  kind: 'performance' | 'attendance',
  alert: { alertId: string; studentUserId: string },
  text: string,
  parents: Recipient[],
): Array<EventPayloads['notification.requested']> {
  return parents.map((parent) => ({
    notificationId: `ALR-${alert.alertId}-${parent._id}`,
    recipientUserId: parent._id,
    channel: 'EMAIL',
    templateId: `${kind}-alert`,
    subject: kind === 'performance' ? 'Academic performance alert' : 'Attendance alert',
    body: text,
    variables: { studentUserId: alert.studentUserId, alertId: alert.alertId },
    bulkId: null,
    priority: 'HIGH',
    address: null,
  }));
}
