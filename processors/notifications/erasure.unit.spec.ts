import { expect } from 'chai';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { anEvent, given } from '../testing/gwt';
import { eraseRecipient, eraseSubjects } from './erasure';
import { addressOf, type Recipient } from './handlers';
import type { GuardedMongo } from '../runtime/mongo-store';

describe('notifications: user.personal-data.erased (issue 21)', () => {
  const erased = anEvent('user.personal-data.erased', { userId: 'USR-1' });
  const onErased = (e: typeof erased, r: Recipient | undefined) => eraseRecipient(e.payload.userId, r);

  it("replaces the recipient's e-mail and first name by the marker and flags them", () => {
    given<Recipient | undefined>({ _id: 'USR-1', email: 'l@x', firstName: 'Lucía', parents: ['P-1'] })
      .when(erased, onErased)
      .then([{ collection: 'recipients', id: 'USR-1', set: { erased: true, email: ERASED_MARKER, firstName: ERASED_MARKER } }]);
  });

  it('adds no field a recipient did not hold (a parent known only by a link), and invents no recipient', () => {
    given<Recipient | undefined>({ _id: 'USR-1', parents: ['P-1'] })
      .when(erased, onErased)
      .then([{ collection: 'recipients', id: 'USR-1', set: { erased: true } }]);
    given<Recipient | undefined>(undefined).when(erased, onErased).then([]);
  });

  it('an address read as the marker is no address: nothing is sent', () => {
    const p = anEvent('notification.requested').payload;
    expect(addressOf(p, { _id: 'x', email: ERASED_MARKER })).to.equal(undefined);
    expect(addressOf({ ...p, address: ERASED_MARKER }, { _id: 'x', email: 'a@b' })).to.equal(undefined);
  });

  it("after the flush, the subjects of an erased recipient's notifications become the marker (only for erasures)", async () => {
    const calls: unknown[] = [];
    const mongo = {
      db: { collection: (name: string) => ({ updateMany: (...args: unknown[]) => Promise.resolve(calls.push([name, ...args])) }) },
    } as unknown as GuardedMongo;
    await eraseSubjects(mongo, [
      { collection: 'recipients', id: 'USR-1', fields: ['erased', 'email'] },
      { collection: 'recipients', id: 'USR-2', fields: ['email'] },
      { collection: 'notifications', id: 'N-1', fields: ['erased'] },
    ]);
    expect(calls).to.deep.equal([
      ['notifications', { recipientUserId: 'USR-1', subject: { $ne: ERASED_MARKER } }, { $set: { subject: ERASED_MARKER } }],
    ]);
  });
});
