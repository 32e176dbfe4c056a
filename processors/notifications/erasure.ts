import { ERASED_MARKER } from '../../schemas/personal-fields';
import type { DocUpdate } from '../runtime/doc-ops';
import type { GuardedMongo } from '../runtime/mongo-store';
import type { DocKey } from '../runtime/types';
import type { Recipient } from './handlers';

/**
 * Erasure in the notification log (issue 21, user.personal-data.erased): the decrypted copies it holds of the
 * person become what a rebuild reads once their key is gone. The recipient's e-mail and first name (from
 * user.created/updated) are the marker; the subjects of notifications sent to them (free text, theirs) too.
 */

/** The recipient document's update: only fields it holds (a parent known only by a link has none), plus the flag. */
export function eraseRecipient(userId: string, current: Recipient | undefined): DocUpdate[] {
  if (!current) return []; // nothing held about them: no document is invented
  const set: Record<string, unknown> = { erased: true };
  if (current.email !== undefined) set.email = ERASED_MARKER;
  if (current.firstName !== undefined) set.firstName = ERASED_MARKER;
  return [{ collection: 'recipients', id: userId, set }];
}

/**
 * After the flush: the subject of every notification of a recipient erased in this chunk. One document per
 * notification, keyed by notification id, so the fold cannot name them; the write sets a constant, so doing
 * it again (a redelivered chunk, a rebuild) changes nothing. A notification requested later reads the marker
 * from the event itself (its subject is encrypted under the recipient's key).
 */
export async function eraseSubjects(mongo: GuardedMongo, changed: Array<DocKey & { fields: string[] }>): Promise<void> {
  for (const c of changed)
    if (c.collection === 'recipients' && c.fields.includes('erased'))
      await mongo.db
        .collection<{ _id: string }>('notifications')
        .updateMany({ recipientUserId: c.id, subject: { $ne: ERASED_MARKER } }, { $set: { subject: ERASED_MARKER } });
}

/** An address read as the erased marker is no address: nothing is sent to it (NOTIFICATION_NO_ADDRESS). */
export const usableAddress = (address: string | null | undefined): string | undefined =>
  address && address !== ERASED_MARKER ? address : undefined;
