import { expect } from 'chai';
import type { Role, UserType } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import { anEvent, given } from '../testing/gwt';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import {
  onParentLinked,
  onPersonalDataErased,
  type Decision,
  onRoleChanged,
  onStudentEnrolled,
  onUserCreated,
  onUserDeactivated,
  onUserUpdated,
  type Profile,
} from './handlers';

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
  it('USER_ROLES_NOT_OF_TYPE: a user.created with a role its type may not hold is refused (dead-lettered with the rule)', () => {
    const refused = (roles: Role[], userType: UserType = 'STUDENT') => {
      try {
        onUserCreated(anEvent('user.created', { userType, roles }).payload);
        return undefined;
      } catch (e) {
        return e instanceof RuleViolationError ? e.rule : String(e);
      }
    };
    expect(refused(['STUDENT', 'ADMIN'])).to.equal('USER_ROLES_NOT_OF_TYPE');
    expect(refused(['TEACHER'], 'PARENT')).to.equal('USER_ROLES_NOT_OF_TYPE');
    expect(refused(['TEACHER', 'ADMIN'], 'TEACHER'), 'a head of department').to.equal(undefined);
    expect(refused([]), 'a revoked account').to.equal(undefined);
  });
  it('USER_ROLES_NOT_OF_TYPE: a user.role.changed to roles the user type (from its row) may not hold is refused', () => {
    const change = (newRoles: Role[], current: Profile | undefined) => {
      try {
        return onRoleChanged(anEvent('user.role.changed', { userId: student._id, previousRoles: ['STUDENT'], newRoles }).payload, current);
      } catch (e) {
        return e instanceof RuleViolationError ? e.rule : String(e);
      }
    };
    expect(change(['PARENT'], student)).to.equal('USER_ROLES_NOT_OF_TYPE');
    expect(change(['STUDENT', 'ADMIN'], student)).to.equal('USER_ROLES_NOT_OF_TYPE');
    expect(change(['TEACHER', 'ADMIN'], { ...student, userType: 'TEACHER', roles: ['TEACHER'] }), 'a head of department').to.deep.equal({
      updates: [{ collection: 'users', id: student._id, set: { roles: ['TEACHER', 'ADMIN'] } }],
      emit: [],
    });
    expect(change([], student), 'a revoked account').to.deep.include({ emit: [] });
  });
  describe("user.role.changed, decided from the user's own row", () => {
    const changed = anEvent('user.role.changed', { userId: student._id, previousRoles: ['STUDENT'], newRoles: [] });
    const onChanged = (e: typeof changed, current: Profile | undefined) => onRoleChanged(e.payload, current);
    const refusal = (current: Profile | undefined, newRoles: Role[] = []) => {
      try {
        onRoleChanged({ ...changed.payload, newRoles }, current);
        return undefined;
      } catch (e) {
        return e instanceof RuleViolationError ? { rule: e.rule, message: e.message } : String(e);
      }
    };
    it('an active user of a known type: the new roles recorded, nothing emitted', () => {
      given<Profile | undefined>(student)
        .when(changed, onChanged)
        .then({ updates: [{ collection: 'users', id: student._id, set: { roles: [] } }], emit: [] });
    });
    it('USER_UNKNOWN: a user with no profile (never created) is refused, whatever the roles', () => {
      expect(refusal(undefined)).to.deep.equal({ rule: 'USER_UNKNOWN', message: `user ${student._id} does not exist` });
      expect(refusal(undefined, ['PARENT'])).to.include({ rule: 'USER_UNKNOWN' });
    });
    it('USER_UNKNOWN: a document kept for a user other events named before the creation is not a user', () => {
      // Documents other events write without a user.created (links written before the parent check, by an older
      // version; a deactivation of a user never created: status and reason) are not profiles.
      expect(refusal({ _id: student._id, children: ['S-9'] } as Profile)).to.include({ rule: 'USER_UNKNOWN' });
      expect(refusal({ _id: student._id, status: 'DEACTIVATED', deactivationReason: 'x' } as Profile)).to.include({ rule: 'USER_UNKNOWN' });
    });
    it('USER_DEACTIVATED: a deactivated user is refused, before the roles are judged', () => {
      expect(refusal({ ...student, status: 'DEACTIVATED', deactivationReason: 'moved' })).to.deep.equal({
        rule: 'USER_DEACTIVATED',
        message: `user ${student._id} is deactivated`,
      });
      const teacher: Profile = { ...student, userType: 'TEACHER', roles: ['TEACHER'], status: 'DEACTIVATED' };
      expect(refusal(teacher, ['TEACHER', 'ADMIN']), 'roles its type may hold').to.include({ rule: 'USER_DEACTIVATED' });
      expect(refusal({ ...student, status: 'DEACTIVATED' }, ['PARENT']), 'roles its type may not hold').to.include({
        rule: 'USER_DEACTIVATED',
      });
    });
  });
  describe('student.parent.linked: the student from its own row, the parent from its row on another partition', () => {
    const parent: Profile = { ...student, _id: 'USR-P', userType: 'PARENT', roles: ['PARENT'] };
    const linked = anEvent('student.parent.linked', { studentUserId: student._id, parentUserId: parent._id, relationship: 'FATHER' });
    const refusal = (s: Profile | undefined, p: Profile | undefined) => {
      try {
        onParentLinked(linked, s, p);
        return undefined;
      } catch (e) {
        return e instanceof RuleViolationError ? { rule: e.rule, message: e.message } : String(e);
      }
    };
    const parked: Decision = {
      updates: [
        {
          collection: 'parked_links',
          id: linked.eventId,
          set: {
            parentUserId: 'USR-P',
            studentUserId: student._id,
            relationship: 'FATHER',
            rule: 'PARENT_LINK_NOT_PARENT',
            at: linked.timestamp,
          },
        },
      ],
      emit: [],
    };
    it('a STUDENT and a known PARENT: each lists the other, and the 360 the parent', () => {
      given<Profile | undefined>(parent)
        .when(linked, (e, p) => onParentLinked(e, student, p))
        .then({
          updates: [
            { collection: 'users', id: student._id, addToSet: { parents: 'USR-P' } },
            { collection: 'users', id: 'USR-P', addToSet: { children: student._id } },
            { collection: 'student360', id: student._id, addToSet: { parents: 'USR-P' } },
          ],
          emit: [],
        });
    });
    it('PARENT_LINK_NOT_PARENT: a parent not known yet (no profile, or a document other events left) parks the link, nothing else', () => {
      given<Profile | undefined>(undefined)
        .when(linked, (e, p) => onParentLinked(e, student, p))
        .then(parked);
      given<Profile | undefined>({ _id: 'USR-P', status: 'DEACTIVATED' } as Profile)
        .when(linked, (e, p) => onParentLinked(e, student, p))
        .then(parked);
    });
    it('PARENT_LINK_NOT_PARENT: a parent known as another type parks it too (for good: a rebuild reading the parent later parks it)', () => {
      given<Profile | undefined>({ ...parent, userType: 'TEACHER', roles: ['TEACHER'] })
        .when(linked, (e, p) => onParentLinked(e, student, p))
        .then(parked);
    });
    it('PARENT_LINK_NOT_STUDENT: a student never created, or a user of another type, is refused whatever the parent', () => {
      expect(refusal(undefined, parent)).to.deep.equal({
        rule: 'PARENT_LINK_NOT_STUDENT',
        message: `student ${student._id} does not exist`,
      });
      expect(refusal({ _id: student._id, parents: ['USR-X'] } as Profile, parent)).to.include({ rule: 'PARENT_LINK_NOT_STUDENT' });
      expect(refusal({ ...student, userType: 'TEACHER', roles: ['TEACHER'] }, undefined)).to.deep.equal({
        rule: 'PARENT_LINK_NOT_STUDENT',
        message: `user ${student._id} is a TEACHER, not a STUDENT`,
      });
    });
  });
  it('deactivation marks profile and 360', () => {
    expect(onUserDeactivated(anEvent('user.deactivated').payload, student).updates.map((u) => u.set)).to.deep.equal([
      { status: 'DEACTIVATED', deactivationReason: 'left the school' },
      { 'profile.status': 'DEACTIVATED' },
    ]);
  });

  describe('user.personal-data.erased (issue 21)', () => {
    const erased = anEvent('user.personal-data.erased', { userId: student._id });
    const withContacts: Profile = { ...student, phone: '+51 999', birthDate: '2012-04-01', parents: ['P-1'] };
    const onErased = (e: typeof erased, current: Profile | undefined) => onPersonalDataErased(e.payload, current);
    it("replaces the student's personal fields in the profile and the 360 by what a rebuild reads without the key", () => {
      given<Profile | undefined>(withContacts)
        .when(erased, onErased)
        .then({
          updates: [
            {
              collection: 'users',
              id: student._id,
              set: {
                firstName: ERASED_MARKER,
                lastName: ERASED_MARKER,
                email: ERASED_MARKER,
                phone: ERASED_MARKER,
                birthDate: null,
                erased: true,
              },
            },
            {
              collection: 'student360',
              id: student._id,
              set: {
                'profile.firstName': ERASED_MARKER,
                'profile.lastName': ERASED_MARKER,
                'profile.email': ERASED_MARKER,
                'profile.phone': ERASED_MARKER,
                'profile.birthDate': null,
              },
            },
          ],
          emit: [],
        });
    });
    it('keeps a missing phone null and masks a deactivation reason; a teacher has no 360', () => {
      const teacher: Profile = { ...student, userType: 'TEACHER', roles: ['TEACHER'], status: 'DEACTIVATED', deactivationReason: 'moved' };
      given<Profile | undefined>(teacher)
        .when(erased, onErased)
        .thenSatisfies((d) => {
          expect(d.updates.map((u) => u.collection)).to.deep.equal(['users']);
          expect(d.updates[0]!.set).to.include({ phone: null, deactivationReason: ERASED_MARKER, erased: true });
        });
    });
    it('writes nothing for a user it holds no profile of (no document is invented)', () => {
      given<Profile | undefined>(undefined).when(erased, onErased).then({ updates: [], emit: [] });
      given<Profile | undefined>({ _id: student._id } as Profile)
        .when(erased, onErased)
        .then({ updates: [], emit: [] });
    });
    it('is idempotent: applied to its own result it sets the same values', () => {
      const once = onErased(erased, withContacts).updates[0]!.set;
      const after: Profile = { ...withContacts, ...once };
      given<Profile | undefined>(after)
        .when(erased, onErased)
        .thenSatisfies((d) => expect(d.updates[0]!.set).to.deep.equal(once));
    });
    it('later updates and deactivations of an erased person write the marker, never the value they carry', () => {
      const gone: Profile = { ...student, firstName: ERASED_MARKER, lastName: ERASED_MARKER, email: ERASED_MARKER, erased: true };
      given<Profile | undefined>(gone)
        .when(anEvent('user.updated', { userId: student._id, firstName: 'Lucía', email: 'new@x' }), (e, c) => onUserUpdated(e.payload, c))
        .thenSatisfies((d) =>
          expect(d.updates.map((u) => u.set)).to.deep.equal([
            { firstName: ERASED_MARKER, email: ERASED_MARKER, phone: ERASED_MARKER },
            { 'profile.firstName': ERASED_MARKER, 'profile.email': ERASED_MARKER, 'profile.phone': ERASED_MARKER },
          ]),
        );
      given<Profile | undefined>(gone)
        .when(anEvent('user.deactivated', { userId: student._id }), (e, c) => onUserDeactivated(e.payload, c))
        .thenSatisfies((d) => expect(d.updates[0]!.set).to.deep.equal({ status: 'DEACTIVATED', deactivationReason: ERASED_MARKER }));
    });
  });
});
