import type { EventPayloads } from '../../../schemas/generated/events';
import { ERASED_MARKER } from '../../../schemas/personal-fields';
import type { UserResource } from '../../../processors/users/resources';
import type { FieldError } from '../../http/problem';
import type { Facts } from './facts';
import { broken, isDeactivated, type FieldOf } from './types';

type Requested = Pick<EventPayloads['notification.requested'], 'recipientUserId' | 'channel' | 'address'>;

/**
 * NOTIFICATION_NO_ADDRESS decided from the request alone (pure, a 400): a WEBHOOK goes only to the request's
 * `address` (no profile holds a URL). A bulk request never carries one, so its field is the channel.
 */
export function webhookAddressErrors(p: Requested & { bulkId: string | null }, field: FieldOf): FieldError[] {
  if (p.channel !== 'WEBHOOK' || p.address) return [];
  return [broken(field(p.bulkId ? 'channel' : 'address'), 'NOTIFICATION_NO_ADDRESS', 'a WEBHOOK notification needs an address (its URL)')];
}

/**
 * NOTIFICATION_RECIPIENT_UNKNOWN, USER_DEACTIVATED and, from the users projection, NOTIFICATION_NO_ADDRESS for an
 * EMAIL without an address whose recipient has no email (pure). LOG needs none; WEBHOOK is decided from the request.
 */
export function recipientErrors(p: Requested, u: UserResource | undefined, field: FieldOf): FieldError[] {
  const f = field('recipientUserId');
  if (!u) return [broken(f, 'NOTIFICATION_RECIPIENT_UNKNOWN', `user ${p.recipientUserId} does not exist`)];
  if (isDeactivated(u)) return [broken(f, 'USER_DEACTIVATED', `user ${p.recipientUserId} is deactivated`)];
  // An erased person's email reads as the marker (issue 21): the notifications processor sends nothing to it either.
  if (p.channel === 'EMAIL' && !p.address && (!u.email || u.email === ERASED_MARKER))
    return [broken(f, 'NOTIFICATION_NO_ADDRESS', `user ${p.recipientUserId} has no email and the request gives no address`)];
  return [];
}

export async function checkRecipient(p: Requested, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  return recipientErrors(p, await facts.user(p.recipientUserId), field);
}
