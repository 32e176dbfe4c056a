import { expect } from 'chai';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import type { SchoolEvent } from '../../schemas/generated/events';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { anEvent } from '../testing/gwt';
import { throwawayMongoProjection } from '../testing/mongo-projection';
import { createChannels } from './channels';
import { createNotifications } from '.';

/** The notifications projection on throwaway databases of the real FerretDB: exact documents and requests, whatever the chunking. */
describe('notifications projection (load, fold, flush; real FerretDB)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const def = createNotifications(createChannels(loadConfig({ LOG_LEVEL: 'error' }), createLogger(config, 'it')), config);
  const { store, apply, content } = throwawayMongoProjection(config, def);
  const at = (events: SchoolEvent[], partition: number): Ready[] =>
    events.map((event, offset) => ({ event, position: { topic: 'x-events', partition, offset } }));
  const user = (userId: string, userType: 'STUDENT' | 'PARENT', firstName: string) =>
    anEvent('user.created', { userId, userType, firstName, email: `${userId}@x`, roles: [userType] });
  const requested = (notificationId: string, recipientUserId: string, bulkId: string | null, total: number) =>
    anEvent('notification.requested', {
      notificationId,
      recipientUserId,
      channel: 'EMAIL',
      templateId: 'news',
      subject: 'S',
      body: 'B',
      variables: total ? { _bulkTotal: String(total) } : {},
      bulkId,
    });
  // Partition 0: people and their links, then the saga's and an alert's triggers; partition 1: a bulk of two.
  const p0 = [
    user('S-1', 'STUDENT', 'Ana'),
    user('P-1', 'PARENT', 'Pia'),
    user('P-2', 'PARENT', 'Pau'),
    anEvent('student.parent.linked', { studentUserId: 'S-1', parentUserId: 'P-2' }),
    anEvent('student.parent.linked', { studentUserId: 'S-1', parentUserId: 'P-1' }),
    anEvent('user.updated', { userId: 'P-1', firstName: null, lastName: null, email: 'pia@x', phone: null }),
    anEvent('enrollment.attendance.initialized', { enrollmentId: 'E-1', studentUserId: 'S-1', sectionId: 'SEC-A' }),
    anEvent('student.performance.alert', { alertId: 'A-1', studentUserId: 'S-1' }),
  ];
  const p1 = [
    requested('N-1', 'P-1', 'B-1', 2),
    requested('N-2', 'P-2', 'B-1', 2),
    anEvent('notification.sent', { notificationId: 'N-1', channel: 'EMAIL', attempt: 1, providerMessageId: null }),
    anEvent('notification.delivered', { notificationId: 'N-1', channel: 'EMAIL', providerMessageId: null }),
    anEvent('notification.failed', {
      notificationId: 'N-2',
      channel: 'EMAIL',
      attempt: 1,
      errorCode: 'X',
      errorMessage: 'no',
      willRetry: true,
    }),
    anEvent('notification.failed', {
      notificationId: 'N-2',
      channel: 'EMAIL',
      attempt: 2,
      errorCode: 'X',
      errorMessage: 'no',
      willRetry: false,
    }),
  ];
  const t = p1[0]!.timestamp;
  const expected = {
    bulks: [{ _id: 'B-1', total: 2, succeeded: 1, failed: 1, completedBy: 'N-2' }],
    notifications: [
      {
        _id: 'N-1',
        recipientUserId: 'P-1',
        channel: 'EMAIL',
        templateId: 'news',
        subject: 'S',
        bulkId: 'B-1',
        status: 'DELIVERED',
        history: [
          { status: 'REQUESTED', at: t },
          { status: 'SENT', at: t, attempt: 1 },
          { status: 'DELIVERED', at: t },
        ],
      },
      {
        _id: 'N-2',
        recipientUserId: 'P-2',
        channel: 'EMAIL',
        templateId: 'news',
        subject: 'S',
        bulkId: 'B-1',
        status: 'FAILED',
        history: [
          { status: 'REQUESTED', at: t },
          { status: 'FAILED', at: t, attempt: 1, error: 'X: no' },
          { status: 'FAILED', at: t, attempt: 2, error: 'X: no' },
        ],
      },
    ],
    recipients: [
      { _id: 'P-1', email: 'pia@x', firstName: 'Pia', userType: 'PARENT' },
      { _id: 'P-2', email: 'P-2@x', firstName: 'Pau', userType: 'PARENT' },
      { _id: 'S-1', email: 'S-1@x', firstName: 'Ana', userType: 'STUDENT', parents: ['P-2', 'P-1'] },
    ],
  };
  const requests = (out: SchoolEvent[]) =>
    out.map((e) =>
      e.eventType === 'notification.requested'
        ? [e.payload.notificationId, e.payload.recipientUserId, e.payload.templateId]
        : [e.eventType, JSON.stringify(e.payload)],
    );
  const expectedOut = [
    ['WEL-E-1-S-1', 'S-1', 'welcome'],
    ['WEL-E-1-P-1', 'P-1', 'welcome'],
    ['WEL-E-1-P-2', 'P-2', 'welcome'],
    ['ALR-A-1-P-1', 'P-1', 'performance-alert'],
    ['ALR-A-1-P-2', 'P-2', 'performance-alert'],
    ['bulk.notification.completed', JSON.stringify({ bulkId: 'B-1', total: 2, succeeded: 1, failed: 1 })],
  ];

  it('given people, links, a welcome, an alert and a bulk: exactly these documents and requests', async () => {
    const s = await store();
    const out = [...(await apply(s, at(p0, 0), 500)), ...(await apply(s, at(p1, 1), 500))];
    expect(await content(s.db)).to.deep.equal(expected);
    expect(requests(out)).to.deep.equal(expectedOut);
  });

  it('one chunk per event gives the same documents and requests; the bulk completes once', async () => {
    const s = await store();
    const out = [...(await apply(s, at(p0, 0), 1)), ...(await apply(s, at(p1, 1), 1))];
    expect(await content(s.db)).to.deep.equal(expected);
    expect(requests(out)).to.deep.equal(expectedOut);
    // The same records again (a redelivery after a crash before the positions): nothing changes, nothing is requested.
    expect(await apply(s, at(p1, 1), 3)).to.deep.equal([]);
    expect(await content(s.db)).to.deep.equal(expected);
  });
});
