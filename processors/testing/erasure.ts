import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import type { Ready } from '../runtime/store';
import type { Emitted } from '../runtime/types';
import { anEvent } from './gwt';
import type { ThrowawayStore } from './pg-projection';

/** Fixed event and correlation ids (buildEvent draws both): the same events live and as a rebuild reads them. */
export const fixedIds = (id: string): Partial<SchoolEvent> => ({ eventId: id, correlationId: id });

/** `e` as teacher T-1 triggered it over HTTP: its metadata's address and user agent are T-1's personal data. */
export const byTeacher = <E extends SchoolEvent>(e: E): E => ({
  ...e,
  metadata: { ...e.metadata, triggeredBy: 'T-1', ipAddress: '10.0.0.7', userAgent: 'UA/1' },
});

/** user.personal-data.erased of `userId` read at `offset` of user-events (a new event id per offset: a retried erasure). */
export const erasureAt = (userId: string, offset: number): Ready => ({
  event: anEvent('user.personal-data.erased', { userId }, { eventId: `erase-${userId}-${offset}` }),
  position: { topic: 'user-events', partition: 0, offset },
});

/**
 * Applies `records` with the personal values of `subject` (S-1 by default) in plaintext and erases them in a later
 * chunk (the live store it returns); checks the rows equal those of the same records as a rebuild reads them (the
 * marker: the key is gone) with the erasure applied, and those of one chunk holding everything; then that a second
 * erasure changes nothing. `read`: every row the projection keeps (parked events included).
 */
export async function erasedAsRebuilt(o: {
  store: () => Promise<ThrowawayStore>;
  apply: (s: ThrowawayStore, records: Ready[], size: number) => Promise<Emitted>;
  records: (note: (v: string) => string) => Ready[];
  read: (schema: string) => Promise<unknown>;
  subject?: string;
}): Promise<ThrowawayStore> {
  const subject = o.subject ?? 'S-1';
  const live = await o.store();
  await o.apply(
    live,
    o.records((v) => v),
    100,
  );
  await o.apply(live, [erasureAt(subject, 0)], 1);
  const rebuilt = await o.store();
  await o.apply(rebuilt, [...o.records(() => ERASED_MARKER), erasureAt(subject, 0)], 100);
  const oneChunk = await o.store();
  await o.apply(oneChunk, [...o.records((v) => v), erasureAt(subject, 0)], 100);
  const expected = await o.read(live.schema);
  expect(await o.read(rebuilt.schema), 'as a rebuild reads it').to.deep.equal(expected);
  expect(await o.read(oneChunk.schema), 'in one chunk').to.deep.equal(expected);
  await o.apply(live, [erasureAt(subject, 1)], 1);
  expect(await o.read(live.schema), 'erased again').to.deep.equal(expected);
  return live;
}
