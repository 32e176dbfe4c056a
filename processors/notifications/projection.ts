import type { Config } from '../../lib/config';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { DocUpdate } from '../runtime/doc-ops';
import type { DocKey, DocReader, Emitted, MongoChunkFold, ProjectContext } from '../runtime/types';
import { emit, toEvents, type EmitSpec } from '../shared/emit';
import { narrow, unhandled } from '../shared/handled';
import { DeliveryError, type Channels } from './channels';
import { eraseRecipient, eraseSubjects } from './erasure';
import { addressOf, alertRequests, lifecycleEvents, noAddressAttempt, welcomeRequests, type Attempt, type Recipient } from './handlers';
import { backoffMs } from '../runtime/breaker';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deliver(
  channels: Channels,
  p: EventPayloads['notification.requested'],
  to: string | undefined,
  maxAttempts: number,
): Promise<Attempt[]> {
  if (!to) return [noAddressAttempt(p)];
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
      if (attempt < maxAttempts) await sleep(backoffMs(attempt, 200, 5000));
    }
  }
  return attempts;
}

export const HANDLES = [
  'user.created',
  'user.updated',
  'user.personal-data.erased',
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
  return async (event: SchoolEvent, mongo: GuardedMongo, ctx: ProjectContext, docs?: DocReader): Promise<Emitted> => {
    if (event.eventType !== 'notification.requested') return [];
    const p = event.payload;
    // The fold read both (notification.requested's keys); a redelivered request finds its recorded attempts.
    const read = async <T>(collection: string, id: string): Promise<T | undefined> =>
      (docs ? docs.get(collection, id) : ((await mongo.db.collection<{ _id: string }>(collection).findOne({ _id: id })) ?? undefined)) as
        T | undefined;
    const done = await read<Delivery>('deliveries', p.notificationId);
    const attempts =
      done?.attempts ?? (await deliver(channels, p, addressOf(p, await read<Recipient>('recipients', p.recipientUserId)), maxAttempts));
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

const doc = (collection: 'recipients' | 'notifications' | 'bulks' | 'deliveries', id: string): DocKey => ({ collection, id });

/** The student's linked parents as the documents read show them (sorted, each once). */
const parentIdsOf = (docs: DocReader, studentId: string): string[] =>
  [...new Set((docs.get('recipients', studentId) as Recipient | undefined)?.parents ?? [])].sort();

interface Bulk {
  total?: number;
  succeeded?: number;
  failed?: number;
  completedBy?: string;
}

/**
 * A bulk request completes when every one of its notifications reached a final state; the notification whose
 * final state completes it reports it (once: the bulk remembers who did).
 */
function bulkFinal(docs: DocReader, notificationId: string, ok: boolean): { updates: DocUpdate[]; emit: EmitSpec[] } {
  const bulkId = (docs.get('notifications', notificationId) as { bulkId?: string | null } | undefined)?.bulkId;
  if (!bulkId) return { updates: [], emit: [] };
  const b = (docs.get('bulks', bulkId) ?? {}) as Bulk;
  const succeeded = (b.succeeded ?? 0) + (ok ? 1 : 0);
  const failed = (b.failed ?? 0) + (ok ? 0 : 1);
  const updates: DocUpdate[] = [{ collection: 'bulks', id: bulkId, inc: { [ok ? 'succeeded' : 'failed']: 1 } }];
  if (!b.total || succeeded + failed < b.total || b.completedBy) return { updates, emit: [] };
  updates.push({ collection: 'bulks', id: bulkId, set: { completedBy: notificationId } });
  return { updates, emit: [emit('bulk.notification.completed', { bulkId, total: b.total, succeeded, failed })] };
}

const history = (id: string, status: string, entry: Record<string, unknown>): DocUpdate => ({
  collection: 'notifications',
  id,
  set: { status },
  push: { history: entry },
});

/**
 * The notification log (one document per notification with its status history), bulks and recipients, from
 * events only (a rebuild reproduces them), folded a chunk at a time: each document read once and written at
 * most once per chunk. Sending is the effect step (deliverNotification).
 */
export function notificationsFold(config: Pick<Config, 'notifications'>): MongoChunkFold {
  return {
    handles: HANDLES,
    keys(input) {
      const event = narrow(input, HANDLES);
      switch (event.eventType) {
        case 'user.created': // these only write
        case 'user.updated':
          return [];
        case 'student.parent.linked': // the parent, for a welcome or alert later in the chunk
          return [doc('recipients', event.payload.parentUserId)];
        case 'user.personal-data.erased': // which personal fields it holds of them
          return [doc('recipients', event.payload.userId)];
        case 'enrollment.attendance.initialized':
        case 'student.performance.alert':
        case 'attendance.pattern.alert':
          return [doc('recipients', event.payload.studentUserId)];
        case 'notification.requested': // its log entry, and for the effect its recipient and recorded attempts
          return [
            doc('notifications', event.payload.notificationId),
            doc('recipients', event.payload.recipientUserId),
            doc('deliveries', event.payload.notificationId),
          ];
        case 'notification.sent':
        case 'notification.delivered':
        case 'notification.failed':
          return [doc('notifications', event.payload.notificationId)];
        default:
          return unhandled(event);
      }
    },
    moreKeys(loaded, input) {
      const event = narrow(input, HANDLES);
      switch (event.eventType) {
        case 'enrollment.attendance.initialized':
        case 'student.performance.alert':
        case 'attendance.pattern.alert':
          return parentIdsOf(loaded, event.payload.studentUserId).map((id) => doc('recipients', id));
        case 'notification.delivered':
        case 'notification.failed': {
          const bulkId = (loaded.get('notifications', event.payload.notificationId) as { bulkId?: string | null } | undefined)?.bulkId;
          return bulkId ? [doc('bulks', bulkId)] : [];
        }
        case 'user.created':
        case 'user.updated':
        case 'user.personal-data.erased':
        case 'student.parent.linked':
        case 'notification.requested':
        case 'notification.sent':
          return [];
        default:
          return unhandled(event);
      }
    },
    fold(docs, input, ctx) {
      const event: SchoolEvent<Handled> = narrow(input, HANDLES);
      const recipient = (id: string): Recipient | undefined => docs.get('recipients', id) as Recipient | undefined;
      const parents = (studentId: string): Recipient[] => parentIdsOf(docs, studentId).flatMap((id) => recipient(id) ?? []);
      const updates: DocUpdate[] = [];
      const specs: EmitSpec[] = [];
      switch (event.eventType) {
        case 'user.created':
          updates.push({
            collection: 'recipients',
            id: event.payload.userId,
            set: { email: event.payload.email, firstName: event.payload.firstName, userType: event.payload.userType },
          });
          break;
        case 'user.updated':
          if (event.payload.email)
            updates.push({ collection: 'recipients', id: event.payload.userId, set: { email: event.payload.email } });
          break;
        case 'student.parent.linked':
          updates.push({ collection: 'recipients', id: event.payload.studentUserId, addToSet: { parents: event.payload.parentUserId } });
          break;
        case 'user.personal-data.erased': // and the subjects of their notifications, after the flush (eraseSubjects)
          updates.push(...eraseRecipient(event.payload.userId, recipient(event.payload.userId)));
          break;
        case 'enrollment.attendance.initialized': {
          // Saga step 6 starts: request the welcome; its delivery outcome reports the step.
          const channel = config.notifications.smtpUrl ? 'EMAIL' : 'LOG';
          const { studentUserId } = event.payload;
          for (const r of welcomeRequests(event.payload, recipient(studentUserId), parents(studentUserId), channel))
            specs.push(emit('notification.requested', r, r.notificationId));
          break;
        }
        case 'student.performance.alert':
        case 'attendance.pattern.alert': {
          const kind = event.eventType === 'student.performance.alert' ? 'performance' : 'attendance';
          const text =
            event.eventType === 'student.performance.alert'
              ? `${event.payload.studentUserId}: ${event.payload.alertType} in ${event.payload.courseId} (${event.payload.periodId}), average ${event.payload.average}`
              : `${event.payload.studentUserId}: ${event.payload.patternType}, ${event.payload.count} between ${event.payload.fromDate} and ${event.payload.toDate}`;
          for (const r of alertRequests(kind, event.payload, text, parents(event.payload.studentUserId)))
            specs.push(emit('notification.requested', r, r.notificationId));
          break;
        }
        case 'notification.requested': {
          const p = event.payload;
          const bulkTotal = Number(p.variables._bulkTotal ?? 0);
          updates.push({
            collection: 'notifications',
            id: p.notificationId,
            set: {
              recipientUserId: p.recipientUserId,
              channel: p.channel,
              templateId: p.templateId,
              subject: p.subject,
              bulkId: p.bulkId,
              status: 'REQUESTED',
            },
            push: { history: { status: 'REQUESTED', at: event.timestamp } },
          });
          if (p.bulkId && bulkTotal > 0) updates.push({ collection: 'bulks', id: p.bulkId, set: { total: bulkTotal } });
          break; // sending it is the effect step (deliverNotification)
        }
        case 'notification.sent':
          updates.push(
            history(event.payload.notificationId, 'SENT', { status: 'SENT', at: event.timestamp, attempt: event.payload.attempt }),
          );
          break;
        case 'notification.delivered': {
          updates.push(history(event.payload.notificationId, 'DELIVERED', { status: 'DELIVERED', at: event.timestamp }));
          const b = bulkFinal(docs, event.payload.notificationId, true);
          updates.push(...b.updates);
          specs.push(...b.emit);
          break;
        }
        case 'notification.failed': {
          const p = event.payload;
          updates.push(
            history(p.notificationId, p.willRetry ? 'RETRYING' : 'FAILED', {
              status: 'FAILED',
              at: event.timestamp,
              attempt: p.attempt,
              error: `${p.errorCode}: ${p.errorMessage}`,
            }),
          );
          if (!p.willRetry) {
            const b = bulkFinal(docs, p.notificationId, false);
            updates.push(...b.updates);
            specs.push(...b.emit);
          }
          break;
        }
        default:
          return unhandled(event);
      }
      return { updates, emit: toEvents(event, specs, ctx) };
    },
    afterFlush: eraseSubjects,
  };
}
