import { expect } from 'chai';
import type { UserResource } from '../../../processors/users/resources';
import { ruleErrors } from '../rules';
import { teachingErrors } from './assignments';
import { dayOfWeek } from '../../../processors/attendance/days';
import { futureDateErrors, schoolDayErrors, yearDateErrors } from './attendance';
import type { SectionFacts, YearFacts } from './facts';
import { gradeErrors } from './grades';
import { distinctErrors } from './index';
import { recipientErrors, webhookAddressErrors } from './notifications';
import { createdRolesErrors, linkErrors, roleChangeErrors } from './users';

const body = (name: string): string => `body.${name}`;
const rules = (errors: Array<{ field: string; rule?: string }>): string[][] => errors.map((e) => [e.field, e.rule ?? '']);
const section: SectionFacts = { sectionId: 'SEC-A', academicYearId: 'Y25', courseIds: new Set(['MATH']) };
const year: YearFacts = { academicYearId: 'Y25', startDate: '2025-03-03', endDate: '2025-12-19', periodIds: new Set(['T1']) };
const person = (userId: string, userType: UserResource['userType'], status: UserResource['status'] = 'ACTIVE'): UserResource => ({
  userId,
  userType,
  firstName: 'A',
  lastName: 'B',
  email: 'a@b.example',
  phone: null,
  birthDate: null,
  roles: [userType],
  status,
});

describe('API rules decided from the read models (pure parts)', () => {
  describe('grades and competency evaluations', () => {
    const grade = { sectionId: 'SEC-A', courseId: 'MATH', periodId: 'T1' };
    const taught = new Set(['SEC-A/MATH']);

    it('a course of the section, a period of its year, taught by the recorder: no error', () => {
      expect(gradeErrors(grade, { section, year, taught }, body)).to.deep.equal([]);
      expect(gradeErrors(grade, { section, year, taught: undefined }, body), 'an admin').to.deep.equal([]);
    });

    it('GRADE_COURSE_NOT_IN_SECTION: another course, or a section that does not exist', () => {
      expect(rules(gradeErrors({ ...grade, courseId: 'ART' }, { section, year, taught: undefined }, body))).to.deep.equal([
        ['body.courseId', 'GRADE_COURSE_NOT_IN_SECTION'],
      ]);
      expect(rules(gradeErrors(grade, { section: undefined, year: undefined, taught: undefined }, body))).to.deep.equal([
        ['body.courseId', 'GRADE_COURSE_NOT_IN_SECTION'],
      ]);
    });

    it('GRADE_PERIOD_NOT_IN_YEAR: a period of another year, or a year the projection does not hold', () => {
      expect(rules(gradeErrors({ ...grade, periodId: 'T9' }, { section, year, taught }, body))).to.deep.equal([
        ['body.periodId', 'GRADE_PERIOD_NOT_IN_YEAR'],
      ]);
      expect(rules(gradeErrors(grade, { section, year: undefined, taught }, body))).to.deep.equal([
        ['body.periodId', 'GRADE_PERIOD_NOT_IN_YEAR'],
      ]);
    });

    it('GRADE_RECORDER_NOT_TEACHING: a teacher of the section grading a course they are not assigned to', () => {
      const two: SectionFacts = { ...section, courseIds: new Set(['MATH', 'ART']) };
      expect(rules(gradeErrors({ ...grade, courseId: 'ART' }, { section: two, year, taught }, body))).to.deep.equal([
        ['body.courseId', 'GRADE_RECORDER_NOT_TEACHING'],
      ]);
      expect(rules(gradeErrors(grade, { section, year, taught: new Set(['SEC-B/MATH']) }, body))).to.deep.equal([
        ['body.courseId', 'GRADE_RECORDER_NOT_TEACHING'],
      ]);
    });
  });

  describe('attendance dates', () => {
    const now = new Date('2025-05-10T23:30:00-03:00'); // 2025-05-11 in UTC

    it('ATTENDANCE_DATE_IN_FUTURE: after today in every time zone; today somewhere and before are fine', () => {
      expect(futureDateErrors('2025-05-11', now, body)).to.deep.equal([]);
      expect(futureDateErrors('2025-03-01', now, body)).to.deep.equal([]);
      expect(rules(futureDateErrors('2025-05-13', now, body))).to.deep.equal([['body.date', 'ATTENDANCE_DATE_IN_FUTURE']]);
    });

    it('a school east of UTC marks its own today while UTC is still on yesterday (Sydney, 08:00 local = 22:00 UTC)', () => {
      const sydneyMorning = new Date('2025-05-11T22:00:00Z'); // 2025-05-12 08:00 in Sydney
      expect(futureDateErrors('2025-05-12', sydneyMorning, body)).to.deep.equal([]);
      expect(rules(futureDateErrors('2025-05-13', sydneyMorning, body))).to.deep.equal([['body.date', 'ATTENDANCE_DATE_IN_FUTURE']]);
    });

    it('ATTENDANCE_DATE_OUTSIDE_YEAR: within start..end, both included; unknown year refused; unknown section not decided', () => {
      for (const d of ['2025-03-03', '2025-07-20', '2025-12-19']) expect(yearDateErrors(d, section, year, body), d).to.deep.equal([]);
      for (const d of ['2025-03-02', '2025-12-20', '2024-05-01'])
        expect(rules(yearDateErrors(d, section, year, body)), d).to.deep.equal([['body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR']]);
      expect(rules(yearDateErrors('2025-04-01', section, undefined, body))).to.deep.equal([['body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR']]);
      expect(yearDateErrors('2025-04-01', undefined, undefined, body)).to.deep.equal([]);
    });

    it('ATTENDANCE_NOT_A_SCHOOL_DAY: a day of the week of a slot of the section; no slot, no school day; unknown section not decided', () => {
      expect(['2025-03-03', '2025-03-08', '2025-03-09', '2024-02-29'].map(dayOfWeek)).to.deep.equal([
        'MONDAY',
        'SATURDAY',
        'SUNDAY',
        'THURSDAY',
      ]);
      const days = ['WEDNESDAY', 'MONDAY'] as const;
      for (const d of ['2025-03-03', '2025-03-05']) expect(schoolDayErrors(d, section, days, body), d).to.deep.equal([]);
      expect(schoolDayErrors('2025-03-08', section, undefined, body), 'known to be a school day').to.deep.equal([]);
      for (const d of ['2025-03-04', '2025-03-08'])
        expect(rules(schoolDayErrors(d, section, days, body)), d).to.deep.equal([['body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY']]);
      expect(schoolDayErrors('2025-03-08', section, days, body)[0]?.message).to.equal(
        'date 2025-03-08 is a SATURDAY; section SEC-A has lessons on MONDAY, WEDNESDAY',
      );
      expect(rules(schoolDayErrors('2025-03-03', section, [], body))).to.deep.equal([['body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY']]);
      expect(schoolDayErrors('2025-03-04', undefined, [], body)).to.deep.equal([]);
    });

    it('the 400 rules of marks, absences and tardies include the future date (the API clock)', () => {
      const cfg = { maxScore: 1000 } as Parameters<typeof ruleErrors>[2];
      const mark = {
        attendanceId: 'A',
        studentUserId: 'S',
        sectionId: 'SEC-A',
        date: '2025-05-12',
        status: 'PRESENT',
        markedBy: 'T',
      } as const;
      expect(rules(ruleErrors('attendance.marked', mark, cfg, now))).to.deep.equal([['body.date', 'ATTENDANCE_DATE_IN_FUTURE']]);
      const tardy = { tardinessId: 'X', studentUserId: 'S', sectionId: 'SEC-A', date: '2025-05-12', minutesLate: 0, recordedBy: 'T' };
      expect(rules(ruleErrors('tardiness.recorded', tardy, cfg, now))).to.deep.equal([
        ['body.minutesLate', 'TARDINESS_MINUTES'],
        ['body.date', 'ATTENDANCE_DATE_IN_FUTURE'],
      ]);
    });
  });

  describe('users', () => {
    const link = { studentUserId: 'S', parentUserId: 'P' };
    const path = (name: string): string => (name === 'studentUserId' ? `path.${name}` : `body.${name}`);

    it('a link from an active PARENT to an active STUDENT: no error', () => {
      expect(linkErrors(link, person('S', 'STUDENT'), person('P', 'PARENT'), path)).to.deep.equal([]);
    });

    it('PARENT_LINK_NOT_PARENT / _NOT_STUDENT: unknown users or users of another type', () => {
      expect(rules(linkErrors(link, undefined, undefined, path))).to.deep.equal([
        ['body.parentUserId', 'PARENT_LINK_NOT_PARENT'],
        ['path.studentUserId', 'PARENT_LINK_NOT_STUDENT'],
      ]);
      expect(rules(linkErrors(link, person('S', 'PARENT'), person('P', 'TEACHER'), path))).to.deep.equal([
        ['body.parentUserId', 'PARENT_LINK_NOT_PARENT'],
        ['path.studentUserId', 'PARENT_LINK_NOT_STUDENT'],
      ]);
    });

    it('USER_DEACTIVATED: a deactivated parent or student, or a role change of a deactivated user', () => {
      expect(rules(linkErrors(link, person('S', 'STUDENT', 'DEACTIVATED'), person('P', 'PARENT'), path))).to.deep.equal([
        ['path.studentUserId', 'USER_DEACTIVATED'],
      ]);
      expect(rules(linkErrors(link, person('S', 'STUDENT'), person('P', 'PARENT', 'DEACTIVATED'), path))).to.deep.equal([
        ['body.parentUserId', 'USER_DEACTIVATED'],
      ]);
      const change = { userId: 'T', newRoles: ['TEACHER' as const, 'ADMIN' as const] };
      expect(rules(roleChangeErrors(change, person('T', 'TEACHER', 'DEACTIVATED'), path))).to.deep.equal([
        ['body.userId', 'USER_DEACTIVATED'],
      ]);
      expect(roleChangeErrors(change, person('T', 'TEACHER'), path)).to.deep.equal([]);
      expect(rules(roleChangeErrors(change, undefined, path)), 'a user nobody created').to.deep.equal([['body.userId', 'USER_UNKNOWN']]);
    });

    it('USER_ROLES_NOT_OF_TYPE: a role of another type; at creation (400) and on a change (409); none is a revoked account', () => {
      for (const [type, roles] of [
        ['STUDENT', ['STUDENT']],
        ['PARENT', ['PARENT']],
        ['TEACHER', ['TEACHER']],
        ['TEACHER', ['ADMIN', 'TEACHER']],
        ['ADMIN', ['ADMIN']],
        ['STUDENT', []],
        ['TEACHER', ['ADMIN']],
      ] as const)
        expect(createdRolesErrors({ userType: type, roles: [...roles] }, body), `${type} ${roles.join()}`).to.deep.equal([]);
      for (const [type, roles] of [
        ['STUDENT', ['STUDENT', 'ADMIN']],
        ['PARENT', ['TEACHER']],
        ['ADMIN', ['ADMIN', 'TEACHER']],
        ['TEACHER', ['PARENT']],
      ] as const)
        expect(rules(createdRolesErrors({ userType: type, roles: [...roles] }, body)), `${type} ${roles.join()}`).to.deep.equal([
          ['body.roles', 'USER_ROLES_NOT_OF_TYPE'],
        ]);
      expect(rules(roleChangeErrors({ userId: 'S', newRoles: ['ADMIN'] }, person('S', 'STUDENT'), path))).to.deep.equal([
        ['body.newRoles', 'USER_ROLES_NOT_OF_TYPE'],
      ]);
    });
  });

  describe('assignments and schedules', () => {
    const a = { teacherUserId: 'T', sectionId: 'SEC-A', courseId: 'MATH' };

    it('an active TEACHER and a course of the section: no error', () => {
      expect(teachingErrors(a, person('T', 'TEACHER'), section, body)).to.deep.equal([]);
    });

    it('TEACHER_NOT_A_TEACHER, USER_DEACTIVATED, ASSIGNMENT_COURSE_NOT_IN_SECTION', () => {
      expect(rules(teachingErrors(a, undefined, section, body))).to.deep.equal([['body.teacherUserId', 'TEACHER_NOT_A_TEACHER']]);
      expect(rules(teachingErrors(a, person('T', 'STUDENT'), section, body))).to.deep.equal([
        ['body.teacherUserId', 'TEACHER_NOT_A_TEACHER'],
      ]);
      expect(rules(teachingErrors(a, person('T', 'TEACHER', 'DEACTIVATED'), section, body))).to.deep.equal([
        ['body.teacherUserId', 'USER_DEACTIVATED'],
      ]);
      expect(rules(teachingErrors({ ...a, courseId: 'ART' }, person('T', 'TEACHER'), section, body))).to.deep.equal([
        ['body.courseId', 'ASSIGNMENT_COURSE_NOT_IN_SECTION'],
      ]);
      expect(rules(teachingErrors(a, person('T', 'TEACHER'), undefined, body))).to.deep.equal([
        ['body.courseId', 'ASSIGNMENT_COURSE_NOT_IN_SECTION'],
      ]);
    });
  });

  describe('notifications', () => {
    it('NOTIFICATION_RECIPIENT_UNKNOWN, USER_DEACTIVATED; an active user of any type is fine', () => {
      const to = (recipientUserId: string) => ({ recipientUserId, channel: 'EMAIL' as const, address: null });
      expect(recipientErrors(to('P'), person('P', 'PARENT'), body)).to.deep.equal([]);
      expect(rules(recipientErrors(to('X'), undefined, body))).to.deep.equal([['body.recipientUserId', 'NOTIFICATION_RECIPIENT_UNKNOWN']]);
      expect(rules(recipientErrors(to('P'), person('P', 'PARENT', 'DEACTIVATED'), body))).to.deep.equal([
        ['body.recipientUserId', 'USER_DEACTIVATED'],
      ]);
    });

    it('NOTIFICATION_NO_ADDRESS: an EMAIL to a user without one and no address (409); a WEBHOOK without an address (400)', () => {
      const noEmail = { ...person('P', 'PARENT'), email: '' };
      const email = { recipientUserId: 'P', channel: 'EMAIL' as const, address: null };
      expect(rules(recipientErrors(email, noEmail, body))).to.deep.equal([['body.recipientUserId', 'NOTIFICATION_NO_ADDRESS']]);
      expect(rules(recipientErrors(email, { ...noEmail, email: '[erased]' }, body)), 'erased').to.deep.equal([
        ['body.recipientUserId', 'NOTIFICATION_NO_ADDRESS'],
      ]);
      expect(recipientErrors({ ...email, address: 'p@x.example' }, noEmail, body)).to.deep.equal([]);
      expect(recipientErrors({ ...email, channel: 'LOG' }, noEmail, body), 'LOG needs none').to.deep.equal([]);
      const hook = { recipientUserId: 'P', channel: 'WEBHOOK' as const, address: null, bulkId: null };
      expect(rules(webhookAddressErrors(hook, body))).to.deep.equal([['body.address', 'NOTIFICATION_NO_ADDRESS']]);
      expect(rules(webhookAddressErrors({ ...hook, bulkId: 'B' }, body)), 'bulk: the channel').to.deep.equal([
        ['body.channel', 'NOTIFICATION_NO_ADDRESS'],
      ]);
      expect(webhookAddressErrors({ ...hook, address: 'https://hooks.example/x' }, body)).to.deep.equal([]);
    });
  });

  it('one error per field and rule (mark-present: every mark shares the date)', () => {
    const e = { field: 'body.date', message: 'x', rule: 'ATTENDANCE_DATE_OUTSIDE_YEAR' };
    expect(distinctErrors([e, e, { ...e, field: 'body.studentUserIds[1]' }]).map((x) => x.field)).to.deep.equal([
      'body.date',
      'body.studentUserIds[1]',
    ]);
  });
});
