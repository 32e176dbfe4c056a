import { expect } from 'chai';
import { anEvent, given } from '../testing/gwt';
import { onStudentEnrolled, onUserCreated, onUserDeactivated, type Profile } from './handlers';

const student: Profile = {
  _id: 'USR-2025-000001',
  userType: 'STUDENT',
  firstName: 'Lucía',
  lastName: 'F',
  email: 'l@x',
  phone: null,
  birthDate: null,
  roles: ['STUDENT'],
  status: 'ACTIVE',
};

describe('users handlers', () => {
  const enrolled = anEvent('student.enrolled');
  it('step 2 validates an active student', () => {
    given<Profile | undefined>(student)
      .when(enrolled, onStudentEnrolled)
      .thenSatisfies((d) => expect(d.emit.map((e) => e.type)).to.deep.equal(['enrollment.user.validated']));
  });
  const failing: Array<[string, Profile | undefined, string]> = [
    ['does not exist', undefined, 'USER_NOT_FOUND'],
    ['was deactivated while enrolled', { ...student, status: 'DEACTIVATED' }, 'USER_DEACTIVATED'],
    ['is not a student', { ...student, userType: 'TEACHER', roles: ['TEACHER'] }, 'NOT_A_STUDENT'],
  ];
  for (const [why, profile, reason] of failing) {
    it(`step 2 fails with ${reason} when the user ${why}`, () => {
      given<Profile | undefined>(profile)
        .when(enrolled, onStudentEnrolled)
        .thenSatisfies((d) => expect(d.emit[0]?.payload).to.include({ reason }));
    });
  }
  it("step 2 records the enrollment's student (for its compensation), whatever its outcome", () => {
    for (const profile of [student, undefined])
      given<Profile | undefined>(profile)
        .when(enrolled, onStudentEnrolled)
        .thenSatisfies((d) =>
          expect(d.updates).to.deep.equal([
            {
              collection: 'enrollment_refs',
              id: enrolled.payload.enrollmentId,
              set: { studentUserId: enrolled.payload.studentUserId },
            },
          ]),
        );
  });
  it('creates a 360 document only for students', () => {
    expect(onUserCreated(anEvent('user.created').payload).updates.map((u) => u.collection)).to.deep.equal(['users', 'student360']);
    expect(
      onUserCreated(anEvent('user.created', { userType: 'TEACHER', roles: ['TEACHER'] }).payload).updates.map((u) => u.collection),
    ).to.deep.equal(['users']);
  });
  it('deactivation marks profile and 360', () => {
    expect(onUserDeactivated(anEvent('user.deactivated').payload, student).updates.map((u) => u.set)).to.deep.equal([
      { status: 'DEACTIVATED', deactivationReason: 'left the school' },
      { 'profile.status': 'DEACTIVATED' },
    ]);
  });
});
