import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { anEvent } from '../testing/gwt';
import { throwawayMongoProjection } from '../testing/mongo-projection';
import { users } from '.';

/** The users projection's profile events on throwaway databases of the real FerretDB: exact documents, and chunking never changes them. */
describe('users projection (load, fold, flush; real FerretDB)', function () {
  this.timeout(60000);
  const { store, apply, content } = throwawayMongoProjection(testConfig({ LOG_LEVEL: 'error' }), users);
  const student = (userId: string, firstName: string) =>
    anEvent('user.created', {
      userId,
      userType: 'STUDENT',
      firstName,
      lastName: 'L',
      email: `${userId}@x`,
      phone: null,
      birthDate: null,
      roles: ['STUDENT'],
    });
  const parent = (userId: string) =>
    anEvent('user.created', {
      userId,
      userType: 'PARENT',
      firstName: 'P',
      lastName: 'L',
      email: `${userId}@x`,
      phone: null,
      birthDate: null,
      roles: ['PARENT'],
    });
  const link = (studentUserId: string, parentUserId: string) =>
    anEvent('student.parent.linked', { studentUserId, parentUserId, relationship: 'MOTHER' });
  const on = (events: SchoolEvent[], topic = 'user-events', partition = 0, from = 0): Ready[] =>
    events.map((event, i) => ({ event, position: { topic, partition, offset: from + i } }));

  // Keyed by user: the student's events on partition 0, the parents' on 1; links are keyed by the student.
  const p0 = [
    student('S-1', 'Ana'),
    anEvent('user.updated', { userId: 'S-1', firstName: 'Anna', lastName: null, email: null, phone: '+34 600' }),
    link('S-1', 'P-2'),
    link('S-1', 'P-1'),
    link('S-1', 'P-2'), // again: a set, not a list
    anEvent('user.deactivated', { userId: 'S-1', reason: 'moved' }),
  ];
  const p1 = [
    parent('P-1'),
    parent('P-2'),
    anEvent('user.role.changed', { userId: 'P-1', previousRoles: ['PARENT'], newRoles: ['PARENT', 'TEACHER'] }),
  ];
  const profile = (id: string, type: string, firstName: string, roles: string[]) => ({
    userType: type,
    firstName,
    lastName: 'L',
    email: `${id}@x`,
    phone: null,
    birthDate: null,
    roles,
    status: 'ACTIVE',
  });
  const expected = {
    student360: [
      {
        _id: 'S-1',
        profile: { ...profile('S-1', 'STUDENT', 'Anna', ['STUDENT']), phone: '+34 600', status: 'DEACTIVATED' },
        parents: ['P-1', 'P-2'],
      },
    ],
    users: [
      { _id: 'P-1', ...profile('P-1', 'PARENT', 'P', ['PARENT', 'TEACHER']), children: ['S-1'] },
      { _id: 'P-2', ...profile('P-2', 'PARENT', 'P', ['PARENT']), children: ['S-1'] },
      {
        _id: 'S-1',
        ...profile('S-1', 'STUDENT', 'Anna', ['STUDENT']),
        phone: '+34 600',
        status: 'DEACTIVATED',
        deactivationReason: 'moved',
        parents: ['P-1', 'P-2'],
      },
    ],
  };

  it('given profile events in one chunk per partition: exactly these documents', async () => {
    const s = await store();
    await apply(s, on(p1, 'user-events', 1), 500);
    await apply(s, on(p0), 500);
    const docs = await content(s.db);
    expect(docs).to.deep.include(expected);
  });

  it('one chunk = one chunk per event = the partitions interleaved the other way', async () => {
    const one = await store();
    await apply(one, on(p0), 500);
    await apply(one, on(p1, 'user-events', 1), 500);
    const each = await store();
    const both = [...on(p0), ...on(p1, 'user-events', 1)];
    for (const r of both.sort((a, b) => a.position.offset - b.position.offset)) await apply(each, [r], 1);
    const reversed = await store();
    await apply(reversed, on(p1, 'user-events', 1), 2);
    await apply(reversed, on(p0), 4);
    const c = await content(one.db);
    expect(c).to.deep.include(expected);
    expect(await content(each.db)).to.deep.equal(c);
    expect(await content(reversed.db)).to.deep.equal(c);
  });
});
