import { expect } from 'chai';
import { notificationResource } from './queries';

describe('notification resource (what the API answers)', () => {
  it('names the notification by notificationId and keeps the history entries as the contract has them', () => {
    const doc = {
      _id: 'N-1',
      recipientUserId: 'U-1',
      channel: 'EMAIL',
      templateId: 'welcome',
      subject: 'Hi',
      status: 'FAILED',
      history: [
        { status: 'REQUESTED', at: '2025-03-01T08:00:00.000Z' },
        { status: 'FAILED', at: '2025-03-01T08:00:01.000Z', attempt: 3, error: 'SMTP_REJECTED: no' },
      ],
    };
    expect(notificationResource(doc)).to.deep.equal({
      notificationId: 'N-1',
      recipientUserId: 'U-1',
      channel: 'EMAIL',
      templateId: 'welcome',
      subject: 'Hi',
      bulkId: null,
      status: 'FAILED',
      history: doc.history,
    });
  });

  it('is not a notification before its request is applied', () => {
    expect(notificationResource({ _id: 'N-2', status: 'SENT', history: [{ status: 'SENT', at: 'x' }] })).to.equal(undefined);
  });
});
