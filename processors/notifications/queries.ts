import type { Db } from 'mongodb';
import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';

/** The notification templates the platform knows (source design: GET /notifications/templates/{id}). */
export const TEMPLATES: Record<string, { templateId: string; subject: string; channels: string[] }> = {
  welcome: { templateId: 'welcome', subject: 'Welcome to section {sectionId}', channels: ['EMAIL', 'LOG'] },
  'performance-alert': { templateId: 'performance-alert', subject: 'Academic performance alert', channels: ['EMAIL'] },
  'attendance-alert': { templateId: 'attendance-alert', subject: 'Attendance alert', channels: ['EMAIL'] },
};

/** Reads of the notification log (Mongo). */
export function notificationsQueries(db: Db) {
  return {
    notification: (notificationId: string) =>
      db.collection<{ _id: string }>('notifications').findOne({ _id: notificationId }, { projection: { [GUARD_FIELD]: 0 } }),
    template: (templateId: string) => TEMPLATES[templateId],
  };
}
