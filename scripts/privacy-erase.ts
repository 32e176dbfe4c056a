import os from 'node:os';
import { systemClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createSchemaRegistry } from '../lib/clients/registry';
import type { Config } from '../lib/config';
import type { PgDataKeyStore } from '../lib/privacy';
import { EventCodec } from '../schemas/codec';
import { buildEvent } from '../schemas/envelope';
import { ERASURE_EVENT, ERASURE_TOPIC } from '../schemas/erasure-watch';
import type { EventPayloads, SchoolEvent } from '../schemas/generated/events';
import { createEventProducer, EventPublisher } from '../schemas/publisher';

export type ErasureReason = NonNullable<EventPayloads['user.personal-data.erased']['reason']>;
export const ERASURE_REASONS: readonly ErasureReason[] = ['SUBJECT_REQUEST', 'LEGAL_OBLIGATION', 'RETENTION_EXPIRED', 'OTHER'];

/**
 * `npm run privacy -- erase`: the key first (once the event is out nothing may still decrypt the person), then
 * the event, whether or not the key was already gone: a run whose publish failed is retried by running it
 * again, and consumers apply a second event idempotently (as the API's POST /users/{id}/erasure does).
 */
export async function eraseAndPublish(
  config: Config,
  store: Pick<PgDataKeyStore, 'erase'>,
  userId: string,
  opts: { reason: ErasureReason | null; topic?: string },
): Promise<{ erasedNow: boolean; event: SchoolEvent<typeof ERASURE_EVENT> }> {
  const erasedNow = await store.erase(userId);
  const event = buildEvent(
    ERASURE_EVENT,
    { userId, erasedBy: `cli:${os.userInfo().username}`, reason: opts.reason },
    { sourceService: 'privacy-cli', clock: systemClock },
  );
  const producer = createEventProducer(createKafka(config));
  await producer.connect();
  try {
    // No personal field in it: the codec needs no keys.
    await new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => opts.topic ?? ERASURE_TOPIC).publish(event);
  } finally {
    await producer.disconnect();
  }
  return { erasedNow, event };
}
