import type { UserResource } from '../../../processors/users/resources';
import type { FieldError } from '../../http/problem';
import type { Facts } from './facts';
import { broken, isDeactivated, type FieldOf } from './types';

/** NOTIFICATION_RECIPIENT_UNKNOWN, USER_DEACTIVATED for notification.requested (pure). */
export function recipientErrors(recipientUserId: string, u: UserResource | undefined, field: FieldOf): FieldError[] {
  if (!u) return [broken(field('recipientUserId'), 'NOTIFICATION_RECIPIENT_UNKNOWN', `user ${recipientUserId} does not exist`)];
  return isDeactivated(u) ? [broken(field('recipientUserId'), 'USER_DEACTIVATED', `user ${recipientUserId} is deactivated`)] : [];
}

export async function checkRecipient(p: { recipientUserId: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  return recipientErrors(p.recipientUserId, await facts.user(p.recipientUserId), field);
}
