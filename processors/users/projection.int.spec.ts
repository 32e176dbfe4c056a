import { expect } from 'chai';
import type { SchoolEvent } from '../../schemas/generated/events';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { anEvent } from '../testing/gwt';
import { throwawayMongoProjection } from '../testing/mongo-projection';
import { users } from '.';
import { parkedLinkGauges } from './links';

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
  const p1 = [parent('P-1'), parent('P-2'), anEvent('user.role.changed', { userId: 'P-1', previousRoles: ['PARENT'], newRoles: [] })];
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
      { _id: 'P-1', ...profile('P-1', 'PARENT', 'P', []), children: ['S-1'] },
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

  describe('PARENT_LINK_NOT_PARENT: a link waits for its parent, known as a PARENT, on another partition', () => {
    const teacher = (userId: string) =>
      anEvent('user.created', {
        userId,
        userType: 'TEACHER',
        firstName: 'T',
        lastName: 'L',
        email: `${userId}@x`,
        phone: null,
        birthDate: null,
        roles: ['TEACHER'],
      });
    // The student and its links on partition 0; the parent, a teacher named as a parent, on 1; P-9 comes later.
    const students = [student('S-1', 'Ana'), link('S-1', 'P-9'), link('S-1', 'T-1'), link('S-1', 'P-1')];
    const adults = [parent('P-1'), teacher('T-1')];
    const parkedOf = (docs: Record<string, unknown[]>) =>
      (docs.parked_links as Array<{ parentUserId: string; studentUserId: string; rule: string }>).map((l) => [
        l.parentUserId,
        l.studentUserId,
        l.rule,
      ]);
    const linksOf = (docs: Record<string, unknown[]>) =>
      Object.fromEntries(
        (docs.users as Array<{ _id: string; parents?: string[]; children?: string[] }>).map((u) => [u._id, u.parents ?? u.children ?? []]),
      );

    it('the same documents whether the parent comes before the link, after it, in the same chunk, or one event a chunk', async () => {
      const orders: Array<[Ready[], number]> = [
        [[...on(adults, 'user-events', 1), ...on(students)], 500],
        [[...on(students), ...on(adults, 'user-events', 1)], 500],
        [[...on(students), ...on(adults, 'user-events', 1)], 1],
        [[...on(adults.slice(1), 'user-events', 1), ...on(students), ...on(adults.slice(0, 1), 'user-events', 1, 5)], 2],
      ];
      const contents = [];
      for (const [records, size] of orders) {
        const s = await store();
        await apply(s, records, size);
        contents.push(await content(s.db));
      }
      const first = contents[0]!;
      expect(linksOf(first)).to.deep.equal({ 'P-1': ['S-1'], 'S-1': ['P-1'], 'T-1': [] });
      expect((first.student360 as Array<{ parents: string[] }>)[0]!.parents).to.deep.equal(['P-1']);
      expect(parkedOf(first)).to.have.deep.members([
        ['P-9', 'S-1', 'PARENT_LINK_NOT_PARENT'],
        ['T-1', 'S-1', 'PARENT_LINK_NOT_PARENT'],
      ]);
      for (const c of contents.slice(1)) expect(c).to.deep.equal(first);
    });

    it("P-9's creation as a PARENT releases its link; the teacher's stays parked", async () => {
      const s = await store();
      await apply(s, [...on(students), ...on(adults, 'user-events', 1)], 500);
      await apply(s, on([parent('P-9')], 'user-events', 2), 500);
      const docs = await content(s.db);
      expect(linksOf(docs)).to.deep.equal({ 'P-1': ['S-1'], 'P-9': ['S-1'], 'S-1': ['P-1', 'P-9'], 'T-1': [] });
      expect((docs.student360 as Array<{ parents: string[] }>)[0]!.parents).to.deep.equal(['P-1', 'P-9']);
      expect(parkedOf(docs)).to.deep.equal([['T-1', 'S-1', 'PARENT_LINK_NOT_PARENT']]);
    });

    it("the parked gauges count the waiting links by rule, stale by their event time, and the oldest one's age", async () => {
      const s = await store();
      await apply(s, [...on(students), ...on(adults, 'user-events', 1)], 500);
      const at = Date.parse(students[1]!.timestamp); // anEvent's fixed clock: every link has this time
      const read = (staleMs: number) =>
        Promise.all(parkedLinkGauges(staleMs, { now: () => new Date(at + 3_600_000) }).map((g) => g.read(s.db)));
      const rule = 'PARENT_LINK_NOT_PARENT';
      expect(await read(7_200_000)).to.deep.equal([
        [
          { labels: { rule, stale: 'false' }, value: 2 },
          { labels: { rule, stale: 'true' }, value: 0 },
        ],
        [{ labels: { rule }, value: 3600 }],
      ]);
      expect((await read(1_800_000))[0]).to.deep.equal([
        { labels: { rule, stale: 'false' }, value: 0 },
        { labels: { rule, stale: 'true' }, value: 2 },
      ]);
      const empty = await store();
      expect(await Promise.all(parkedLinkGauges(1, { now: () => new Date() }).map((g) => g.read(empty.db)))).to.deep.equal([[], []]);
    });

    it('a link and its parent applied at the same moment by two chunks: never left parked on a known parent', async () => {
      const s = await store();
      const n = 24;
      await apply(s, on(Array.from({ length: n }, (_, i) => student(`S-${i}`, 'A'))), 500);
      // Each pair races: the link (partition 0) and the parent's creation (partition 1) in two concurrent chunks.
      await Promise.all(
        Array.from({ length: n }, (_, i) => [
          apply(s, on([link(`S-${i}`, `P-${i}`)], 'user-events', 0, n + i), 1),
          apply(s, on([parent(`P-${i}`)], 'user-events', 1, i), 1),
        ]).flat(),
      );
      const docs = await content(s.db);
      expect(docs.parked_links).to.deep.equal([]);
      for (let i = 0; i < n; i++) expect(linksOf(docs)[`S-${i}`], `S-${i}`).to.deep.equal([`P-${i}`]);
    });

    it('PARENT_LINK_NOT_STUDENT: a link of a student never created, or of a user of another type, fails its chunk with the rule', async () => {
      const s = await store();
      await apply(s, [...on([teacher('T-2')]), ...on([parent('P-1')], 'user-events', 1)], 500);
      for (const [studentUserId, message] of [
        ['S-404', 'student S-404 does not exist'],
        ['T-2', 'user T-2 is a TEACHER, not a STUDENT'],
      ] as const) {
        const refused = await apply(s, on([link(studentUserId, 'P-1')], 'user-events', 0, 10), 1).then(
          () => undefined,
          (e: unknown) => e as { rule?: string; message?: string },
        );
        expect(refused).to.include({ rule: 'PARENT_LINK_NOT_STUDENT', message });
      }
      const docs = await content(s.db);
      expect(linksOf(docs)).to.deep.equal({ 'P-1': [], 'T-2': [] });
      expect(docs.parked_links).to.deep.equal([]);
    });
  });

  describe('the saga steps', () => {
    const at = (t: string) => ({ timestamp: `2025-03-0${t}T08:00:00.000Z` });
    const enrolled = (enrollmentId: string, studentUserId: string, day: string) =>
      anEvent('student.enrolled', { enrollmentId, studentUserId, sectionId: 'SEC-A', academicYearId: 'Y' }, at(day));
    // Step 2's input on one partition, the saga's later events (from other processors) on another: users
    // applies only the compensation's trigger among them.
    const requests = [enrolled('E-1', 'S-1', '1'), enrolled('E-2', 'NOBODY', '2'), enrolled('E-3', 'S-1', '3')];
    const later = [
      anEvent('enrollment.user.validated', { enrollmentId: 'E-1', studentUserId: 'S-1', sectionId: 'SEC-A', academicYearId: 'Y' }),
      anEvent('enrollment.user.validation.failed', { enrollmentId: 'E-2', studentUserId: 'NOBODY', reason: 'USER_NOT_FOUND' }),
      anEvent('enrollment.user.validated', { enrollmentId: 'E-3', studentUserId: 'S-1', sectionId: 'SEC-A', academicYearId: 'Y' }),
      anEvent('enrollment.completed', { enrollmentId: 'E-1', sectionId: 'SEC-B' }),
      anEvent('enrollment.failed', { enrollmentId: 'E-2' }),
      anEvent('enrollment.section.assignment.failed', { enrollmentId: 'E-3', message: 'section full' }),
      anEvent('enrollment.failed', { enrollmentId: 'E-3' }),
    ];
    // Only the student of each request (what a compensation needs); the saga's later outcomes are academic's.
    const refs = [
      { _id: 'E-1', studentUserId: 'S-1' },
      { _id: 'E-2', studentUserId: 'NOBODY' },
      { _id: 'E-3', studentUserId: 'S-1' },
    ];

    it('validates, compensates and records each enrollment: exact documents and events', async () => {
      const s = await store();
      await apply(s, on([student('S-1', 'Ana')]), 500);
      const out = await apply(s, [...on(requests, 'academic-events', 2), ...on(later, 'user-events', 3)], 500);
      expect((await content(s.db)).enrollment_refs).to.deep.equal(refs);
      expect(out.map((e) => [e.eventType, (e.payload as { enrollmentId: string }).enrollmentId])).to.deep.equal([
        ['enrollment.user.validated', 'E-1'],
        ['enrollment.user.validation.failed', 'E-2'],
        ['enrollment.user.validated', 'E-3'],
        ['enrollment.user.validation.compensated', 'E-3'],
      ]);
      expect(out[1]?.payload).to.include({ reason: 'USER_NOT_FOUND' });
      expect(out[3]?.payload).to.include({ studentUserId: 'S-1', reason: 'section full' });
    });

    it('one chunk = one chunk per event = the later events read before the requests', async () => {
      const states = [];
      for (const [first, second, size] of [
        [on(requests, 'academic-events', 2), on(later, 'user-events', 3), 500],
        [on(requests, 'academic-events', 2), on(later, 'user-events', 3), 1],
        [on(later, 'user-events', 3), on(requests, 'academic-events', 2), 2],
      ] as const) {
        const s = await store();
        await apply(s, on([student('S-1', 'Ana')]), 500);
        await apply(s, [...first], size);
        await apply(s, [...second], size);
        states.push((await content(s.db)).enrollment_refs);
      }
      expect(states[0]).to.deep.equal(refs);
      expect(states[1]).to.deep.equal(refs);
      expect(states[2]).to.deep.equal(refs);
    });
  });
});
