import { expect } from 'chai';
import { GUARD_FIELD } from '../runtime/mongo-bookkeeping';
import { student360Resource, userResource } from './resources';

describe('users resources (what the API answers)', () => {
  const profile = {
    userType: 'PARENT' as const,
    firstName: 'P',
    lastName: 'L',
    email: 'p@x',
    phone: null,
    birthDate: null,
    roles: ['PARENT' as const],
    status: 'ACTIVE' as const,
  };

  it('names the user by userId and carries no storage field', () => {
    const doc = { _id: 'U-1', ...profile, children: ['S-1'], [GUARD_FIELD]: { 'user-events': { 0: 7 } } };
    expect(userResource(doc)).to.deep.equal({ userId: 'U-1', ...profile, children: ['S-1'] });
  });

  it('is no user where only a link named one that was never created', () => {
    expect(userResource({ _id: 'U-2', children: ['S-1'] })).to.equal(undefined);
    expect(userResource(null)).to.equal(undefined);
  });

  it('gives the 360 its userId, profile and parents only (an enrollment copy older documents carry is not read)', () => {
    const doc = { _id: 'S-1', profile: { ...profile, userType: 'STUDENT' as const }, parents: ['P-1'], enrollment: { stale: true } };
    expect(student360Resource(doc)).to.deep.equal({ userId: 'S-1', profile: { ...profile, userType: 'STUDENT' }, parents: ['P-1'] });
    expect(student360Resource({ _id: 'S-2', parents: ['P-1'] })).to.equal(undefined);
  });
});
