import type { UserResource } from '../../../processors/users/resources';
import type { DayOfWeek } from '../../../schemas/generated/events';
import type { ApiDeps } from '../../deps';
import { ReferenceCache } from './reference-cache';

/** A section as the rules need it: its year and its courses (academic projection). */
export interface SectionFacts {
  sectionId: string;
  academicYearId: string;
  courseIds: ReadonlySet<string>;
}

/** An academic year as the rules need it: its dates (YYYY-MM-DD) and grading periods (academic projection). */
export interface YearFacts {
  academicYearId: string;
  startDate: string;
  endDate: string;
  periodIds: ReadonlySet<string>;
}

/**
 * The read-model facts one command's rules need, each read once per command through the DependencyGuard (a
 * projection unavailable → DependencyError → 503, and nothing is published). Unknown → undefined.
 */
export class Facts {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: Pick<ApiDeps, 'guard' | 'q'>,
    /** Sections and years found by earlier commands, for a short time (reference-cache.ts). */
    private readonly reference: ReferenceCache = new ReferenceCache(0),
  ) {}

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = read();
      this.memo.set(key, p);
    }
    return p;
  }

  section(sectionId: string): Promise<SectionFacts | undefined> {
    return this.once(`section:${sectionId}`, () =>
      this.reference.get(`section:${sectionId}`, async () => {
        const s = await this.deps.guard.run('academic', () => this.deps.q.academic.section(sectionId));
        if (!s) return undefined;
        const courses = (s.courses ?? []) as Array<{ courseId: string }>;
        return { sectionId, academicYearId: String(s.academicYearId), courseIds: new Set(courses.map((c) => c.courseId)) };
      }),
    );
  }

  year(academicYearId: string): Promise<YearFacts | undefined> {
    return this.once(`year:${academicYearId}`, () =>
      this.reference.get(`year:${academicYearId}`, async () => {
        const y = await this.deps.guard.run('academic', () => this.deps.q.academic.year(academicYearId));
        return y && { ...y, periodIds: new Set(y.periodIds) };
      }),
    );
  }

  /** The year of a section, when both are known. */
  async yearOfSection(sectionId: string): Promise<YearFacts | undefined> {
    const s = await this.section(sectionId);
    return s && this.year(s.academicYearId);
  }

  /** Reads these users in one query; `user()` answers from it afterwards. */
  preloadUsers(userIds: string[]): void {
    const missing = [...new Set(userIds)].filter((id) => !this.memo.has(`user:${id}`));
    if (!missing.length) return;
    const all = this.deps.guard.run('users', () => this.deps.q.users.many(missing));
    for (const id of missing) {
      const one = all.then((m) => m.get(id));
      one.catch(() => undefined); // awaited by the rule that needs it; a failure is reported there, never unhandled
      this.memo.set(`user:${id}`, one);
    }
  }

  user(userId: string): Promise<UserResource | undefined> {
    return this.once(`user:${userId}`, () => this.deps.guard.run('users', () => this.deps.q.users.user(userId)));
  }

  /**
   * Whether a section's schedule has a slot on `day` (assignments projection). Slots are only ever added (no event
   * removes one), so a cached set that holds the day answers and any other answer is read fresh (ReferenceCache.holds).
   */
  hasLessonsOn(sectionId: string, day: DayOfWeek): Promise<boolean> {
    return this.once(`days:${sectionId}:${day}`, () =>
      this.reference.holds(`days:${sectionId}`, day, () =>
        this.deps.guard.run('assignments', () => this.deps.q.assignments.sectionDays(sectionId)),
      ),
    );
  }

  /** The days of the week of a section's slots, read now (to name them in a refusal). */
  schoolDays(sectionId: string): Promise<readonly DayOfWeek[]> {
    return this.once(`days:${sectionId}`, () => this.deps.guard.run('assignments', () => this.deps.q.assignments.sectionDays(sectionId)));
  }

  /** `sectionId/courseId` of every active assignment of a teacher (assignments projection). */
  taught(teacherUserId: string): Promise<ReadonlySet<string>> {
    return this.once(`taught:${teacherUserId}`, async () => {
      const rows = await this.deps.guard.run('assignments', () => this.deps.q.assignments.teacherCourses(teacherUserId));
      return new Set(rows.map((a) => teachingKey(String(a.sectionId), String(a.courseId))));
    });
  }
}

export const teachingKey = (sectionId: string, courseId: string): string => `${sectionId}/${courseId}`;
