import { expect } from 'chai';
import { anEvent } from '../testing/gwt';
import { addressOf, lifecycleEvents, noAddressAttempt, welcomeRequests } from './handlers';

describe('notifications handlers', () => {
  it('a delivery reports sent then delivered', () => {
    expect(lifecycleEvents('N', 'EMAIL', [{ attempt: 1, ok: true, providerMessageId: 'm1' }], 3).map((e) => e.type)).to.deep.equal([
      'notification.sent',
      'notification.delivered',
    ]);
  });
  it('failed attempts report failed with willRetry until the last one', () => {
    const events = lifecycleEvents(
      'N',
      'WEBHOOK',
      [
        { attempt: 1, ok: false, errorCode: 'TIMEOUT' },
        { attempt: 2, ok: false, errorCode: 'WEBHOOK_500' },
      ],
      2,
    );
    expect(events.map((e) => (e.payload as { willRetry: boolean }).willRetry)).to.deep.equal([true, false]);
  });
  it('welcomes the student and every linked parent, marking who is who', () => {
    const reqs = welcomeRequests(
      anEvent('enrollment.attendance.initialized').payload,
      { _id: 'USR-2025-000001', firstName: 'Lucía' },
      [{ _id: 'P1' }, { _id: 'P2' }],
      'EMAIL',
    );
    expect(reqs.map((r) => [r.recipientUserId, r.variables.role])).to.deep.equal([
      ['USR-2025-000001', 'student'],
      ['P1', 'parent'],
      ['P2', 'parent'],
    ]);
  });
  it('addresses: explicit first, else the profile email; a webhook needs an explicit URL', () => {
    const p = anEvent('notification.requested').payload;
    expect(addressOf(p, { _id: 'x', email: 'a@b' })).to.equal('a@b');
    expect(addressOf({ ...p, address: 'c@d' }, { _id: 'x', email: 'a@b' })).to.equal('c@d');
    expect(addressOf({ ...p, channel: 'WEBHOOK' }, { _id: 'x', email: 'a@b' })).to.equal(undefined);
  });
  it('NOTIFICATION_NO_ADDRESS: no address for the channel is one final failure naming the rule, never retried', () => {
    const p = { ...anEvent('notification.requested').payload, channel: 'WEBHOOK' as const, address: null };
    expect(addressOf(p, { _id: 'x', email: 'a@b' })).to.equal(undefined);
    const events = lifecycleEvents(p.notificationId, p.channel, [noAddressAttempt(p)], 3);
    expect(events.map((e) => [e.type, e.payload])).to.deep.equal([
      [
        'notification.failed',
        {
          notificationId: p.notificationId,
          channel: 'WEBHOOK',
          attempt: 1,
          errorCode: 'NOTIFICATION_NO_ADDRESS',
          errorMessage: 'a WEBHOOK goes only to the request address, and it has none',
          willRetry: false,
        },
      ],
    ]);
  });
});
