import type { Request } from 'express';
import type { EventPayloads } from '../../schemas/generated/events';
import type { Identity } from '../auth/jwt';
import type { ApiDeps } from '../deps';
import { notFound } from '../http/problem';
import { commandEvent, execute, type Answer } from './execute';

/**
 * POST /users/{userId}/erasure (admin only, issue 21): deletes the person's data key, then publishes
 * user.personal-data.erased, which makes every process drop the key from its cache and the projections drop the
 * decrypted copies they hold. The key goes first: once the event is out, nothing may still decrypt them.
 *
 * Erasing again answers 202 again and publishes the event again, by design: the key's deletion may have
 * succeeded while the publish failed (503), and the client's retry must still get the event out. Deleting a
 * deleted key changes nothing and consumers apply the event idempotently, so a second one costs nothing.
 * An unknown user (none in the users projection) is 404: nothing is erased or published.
 */
export async function eraseUser(deps: ApiDeps, req: Request, who: Identity, operationId: string): Promise<Answer> {
  const userId = (req.params as Record<string, string>).userId!;
  const { reason } = req.body as { reason?: EventPayloads['user.personal-data.erased']['reason'] };
  const event = commandEvent(deps, req, who, 'user.personal-data.erased', { userId, erasedBy: who.sub, reason: reason ?? null });
  return execute(deps, req, who, operationId, [event], `/api/v1/events/${event.eventId}`, async () => {
    if (!(await deps.guard.run('users', () => deps.q.users.user(userId)))) throw notFound(`user ${userId} does not exist`);
    await deps.guard.run('events', () => deps.privacy.erase(userId));
  });
}
