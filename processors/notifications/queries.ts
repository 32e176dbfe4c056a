import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';
import { dbOf, type DbSource } from '../runtime/mongo-live';

/** The notification templates the platform knows (source design: GET /notifications/templates/{id}). */
export const TEMPLATES: Record<string, { templateId: string; subject: string; channels: string[] }> = {
  welcome: { templateId: 'welcome', subject: 'Welcome to section {sectionId}', channels: ['EMAIL', 'LOG'] },
  'performance-alert': { templateId: 'performance-alert', subject: 'Academic performance alert', channels: ['EMAIL'] },
  'attendance-alert': { templateId: 'attendance-alert', subject: 'Attendance alert', channels: ['EMAIL'] },
};

/** Reads of the notification log (Mongo). */
export function notificationsQueries(source: DbSource) {
  return {
    notification: async (notificationId: string) =>
      notificationResource(
        await (
          await dbOf(source)
        )
          .collection<NotificationDoc>('notifications')
          .findOne({ _id: notificationId }, { projection: { [GUARD_FIELD]: 0 } }),
      ),
    template: (templateId: string) => TEMPLATES[templateId],
  };
}

interface HistoryEntry {
  status: string;
  at: string;
  attempt?: number;
  error?: string;
}

interface NotificationDoc {
  _id: string;
  recipientUserId?: string;
  channel?: string;
  templateId?: string | null;
  subject?: string;
  bulkId?: string | null;
  status?: string;
  history?: HistoryEntry[];
}

/**
 * The API's notification: the contract's fields only (`notificationId`, not the storage's `_id`). A log entry
 * whose request is not applied yet (its delivery events can be read first in a rebuild) is not a notification yet.
 */
export function notificationResource(doc: NotificationDoc | null | undefined) {
  if (!doc?.recipientUserId) return undefined;
  return {
    notificationId: doc._id,
    recipientUserId: doc.recipientUserId,
    channel: doc.channel ?? '',
    templateId: doc.templateId ?? null,
    subject: doc.subject ?? '',
    bulkId: doc.bulkId ?? null,
    status: doc.status ?? 'REQUESTED',
    history: (doc.history ?? []).map((h) => ({
      status: h.status,
      at: h.at,
      ...(h.attempt !== undefined && { attempt: h.attempt }),
      ...(h.error !== undefined && { error: h.error }),
    })),
  };
}
