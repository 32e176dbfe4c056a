import type { Config } from '../../lib/config';
import type { EventType, EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { Emitted, ProjectContext } from '../runtime/types';
import { emit, toEvents, type EmitSpec } from '../shared/emit';
import { narrow, unhandled } from '../shared/handled';
import { DeliveryError, type Channels } from './channels';
import { addressOf, alertRequests, lifecycleEvents, welcomeRequests, type Attempt, type Recipient } from './handlers';

/**
 * The notification log (one document per notification, with its status history) is
 * built only from events, so a rebuild reproduces it. Delivery is the processor's effect
 * step after notification.requested is projected (never in a rebuild), recorded in
 * `deliveries` so a redelivered request is never sent twice.
 */

interface Delivery {
  _id: string;
  attempts: Attempt[];
}

interface LogEntry {
  _id: string;
  status: string;
  history: Array<{ status: string; at: string; attempt?: number; error?: string }>;
  bulkId?: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deliver(
  channels: Channels,
  p: EventPayloads['notification.requested'],
  to: string | undefined,
  maxAttempts: number,
): Promise<Attempt[]> {
  if (!to)
    return [{ attempt: 1, ok: false, errorCode: 'NO_ADDRESS', errorMessage: `no ${p.channel} address for ${p.recipientUserId}` }].map(
      (a) => ({ ...a, attempt: maxAttempts }),
    );
  const attempts: Attempt[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const r = await channels[p.channel].send({
        notificationId: p.notificationId,
        channel: p.channel,
        to,
        subject: p.subject,
        body: p.body,
        variables: p.variables,
      });
      attempts.push({ attempt, ok: true, providerMessageId: r.providerMessageId });
      break;
    } catch (e) {
      const code = e instanceof DeliveryError ? e.code : 'DELIVERY_ERROR';
      attempts.push({ attempt, ok: false, errorCode: code, errorMessage: e instanceof Error ? e.message : String(e) });
      if (attempt < maxAttempts) await sleep(200 * 2 ** (attempt - 1));
    }
  }
  return attempts;
}

async function appendHistory(mongo: GuardedMongo, id: string, entry: LogEntry['history'][number], status: string): Promise<void> {
  await mongo.update('notifications', id, { $set: { status }, $push: { history: entry } });
}

async function recipient(mongo: GuardedMongo, id: string): Promise<Recipient | undefined> {
  return (await mongo.db.collection<Recipient>('recipients').findOne({ _id: id })) ?? undefined;
}

/**
 * The student's linked parents that are known recipients, by id. One `findOne` per parent, not one `$in`:
 * FerretDB v1 pushes only equality down to PostgreSQL, so an `$in` reads the whole recipients collection for
 * every alert (measured: 66 ms of FerretDB CPU per lookup at 1,700 recipients, 220 ms at 6,000; two findOne
 * 0.7 ms), which made notifications the slowest processor of bench:pipeline. On MongoDB both are indexed.
 */
async function parentsOf(mongo: GuardedMongo, studentId: string): Promise<Recipient[]> {
  const ids = [...new Set((await recipient(mongo, studentId))?.parents ?? [])].sort();
  const found = await Promise.all(ids.map((id) => recipient(mongo, id)));
  return found.filter((r): r is Recipient => r !== undefined);
}

/** A bulk request completes when every one of its notifications reached a final state; exactly one of them reports it. */
async function bulkFinal(mongo: GuardedMongo, notificationId: string, bulkId: string | null | undefined, ok: boolean): Promise<EmitSpec[]> {
  if (!bulkId) return [];
  await mongo.update('bulks', bulkId, { $inc: { [ok ? 'succeeded' : 'failed']: 1 } });
  const bulks = mongo.db.collection<{ _id: string; total?: number; succeeded?: number; failed?: number; completedBy?: string }>('bulks');
  const bulk = await mongo.exclusive('bulks', bulkId, async () => {
    const b = await bulks.findOne({ _id: bulkId });
    if (!b?.total || (b.succeeded ?? 0) + (b.failed ?? 0) < b.total) return undefined;
    if (!b.completedBy) await bulks.updateOne({ _id: bulkId }, { $set: { completedBy: notificationId } });
    return b.completedBy && b.completedBy !== notificationId ? undefined : b;
  });
  if (!bulk?.total) return [];
  return [emit('bulk.notification.completed', { bulkId, total: bulk.total, succeeded: bulk.succeeded ?? 0, failed: bulk.failed ?? 0 })];
}

export const HANDLES = [
  'user.created',
  'user.updated',
  'student.parent.linked',
  'enrollment.attendance.initialized',
  'student.performance.alert',
  'attendance.pattern.alert',
  'notification.requested',
  'notification.sent',
  'notification.delivered',
  'notification.failed',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

/**
 * The effect step: sends a requested notification (never in a rebuild: the runtime does not run effects there)
 * and emits its lifecycle events and, for a saga's welcome, the step's outcome. The attempts are recorded in
 * `deliveries` before the events leave, so a redelivered request is reported again, never sent twice.
 */
export function deliverNotification(channels: Channels, config: Pick<Config, 'notifications'>) {
  const maxAttempts = config.notifications.maxAttempts;
  return async (event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted> => {
    if (event.eventType !== 'notification.requested') return [];
    const p = event.payload;
    const done = await mongo.db.collection<Delivery>('deliveries').findOne({ _id: p.notificationId });
    const attempts = done?.attempts ?? (await deliver(channels, p, addressOf(p, await recipient(mongo, p.recipientUserId)), maxAttempts));
    if (!done) await mongo.update('deliveries', p.notificationId, { $set: { attempts } });
    const specs = lifecycleEvents(p.notificationId, p.channel, attempts, maxAttempts);
    const enrollmentId = p.variables.enrollmentId;
    if (p.templateId === 'welcome' && enrollmentId && p.variables.role === 'student') {
      const last = attempts[attempts.length - 1];
      specs.push(
        last?.ok
          ? emit('enrollment.welcome.sent', { enrollmentId, studentUserId: p.recipientUserId, notificationIds: [p.notificationId] })
          : emit('enrollment.welcome.failed', {
              enrollmentId,
              studentUserId: p.recipientUserId,
              reason: `${p.channel} ${last?.errorCode ?? 'failed'}: ${last?.errorMessage ?? ''}`,
            }),
      );
    }
    return toEvents(event, specs, ctx);
  };
}

/** The notification log, bulks and recipients, from events only (a rebuild reproduces them). */
export function projectNotifications(config: Pick<Config, 'notifications'>) {
  return async (input: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext): Promise<Emitted> => {
    const event: SchoolEvent<Handled> = narrow(input, HANDLES);
    const specs: EmitSpec[] = [];
    switch (event.eventType) {
      case 'user.created':
        await mongo.update('recipients', event.payload.userId, {
          $set: { email: event.payload.email, firstName: event.payload.firstName, userType: event.payload.userType },
        });
        break;
      case 'user.updated':
        if (event.payload.email) await mongo.update('recipients', event.payload.userId, { $set: { email: event.payload.email } });
        break;
      case 'student.parent.linked':
        await mongo.update('recipients', event.payload.studentUserId, { $addToSet: { parents: event.payload.parentUserId } });
        break;
      case 'enrollment.attendance.initialized': {
        // Saga step 6 starts: request the welcome; its delivery outcome reports the step.
        const channel = config.notifications.smtpUrl ? 'EMAIL' : 'LOG';
        for (const r of welcomeRequests(
          event.payload,
          await recipient(mongo, event.payload.studentUserId),
          await parentsOf(mongo, event.payload.studentUserId),
          channel,
        )) {
          specs.push(emit('notification.requested', r, r.notificationId));
        }
        break;
      }
      case 'student.performance.alert':
      case 'attendance.pattern.alert': {
        const kind = event.eventType === 'student.performance.alert' ? 'performance' : 'attendance';
        const text =
          event.eventType === 'student.performance.alert'
            ? `${event.payload.studentUserId}: ${event.payload.alertType} in ${event.payload.courseId} (${event.payload.periodId}), average ${event.payload.average}`
            : `${event.payload.studentUserId}: ${event.payload.patternType}, ${event.payload.count} between ${event.payload.fromDate} and ${event.payload.toDate}`;
        for (const r of alertRequests(kind, event.payload, text, await parentsOf(mongo, event.payload.studentUserId)))
          specs.push(emit('notification.requested', r, r.notificationId));
        break;
      }
      case 'notification.requested': {
        const p = event.payload;
        const bulkTotal = Number(p.variables._bulkTotal ?? 0);
        await mongo.update('notifications', p.notificationId, {
          $set: {
            recipientUserId: p.recipientUserId,
            channel: p.channel,
            templateId: p.templateId,
            subject: p.subject,
            bulkId: p.bulkId,
            status: 'REQUESTED',
          },
          $push: { history: { status: 'REQUESTED', at: event.timestamp } },
        });
        if (p.bulkId && bulkTotal > 0) await mongo.update('bulks', p.bulkId, { $set: { total: bulkTotal } });
        break; // sending it is the effect step (deliverNotification)
      }
      case 'notification.sent':
        await appendHistory(
          mongo,
          event.payload.notificationId,
          { status: 'SENT', at: event.timestamp, attempt: event.payload.attempt },
          'SENT',
        );
        break;
      case 'notification.delivered': {
        await appendHistory(mongo, event.payload.notificationId, { status: 'DELIVERED', at: event.timestamp }, 'DELIVERED');
        const log = await mongo.db.collection<LogEntry>('notifications').findOne({ _id: event.payload.notificationId });
        specs.push(...(await bulkFinal(mongo, event.payload.notificationId, log?.bulkId, true)));
        break;
      }
      case 'notification.failed': {
        const p = event.payload;
        await appendHistory(
          mongo,
          p.notificationId,
          { status: 'FAILED', at: event.timestamp, attempt: p.attempt, error: `${p.errorCode}: ${p.errorMessage}` },
          p.willRetry ? 'RETRYING' : 'FAILED',
        );
        if (!p.willRetry) {
          const log = await mongo.db.collection<LogEntry>('notifications').findOne({ _id: p.notificationId });
          specs.push(...(await bulkFinal(mongo, p.notificationId, log?.bulkId, false)));
        }
        break;
      }
      default:
        return unhandled(event);
    }
    return toEvents(event, specs, ctx);
  };
}
