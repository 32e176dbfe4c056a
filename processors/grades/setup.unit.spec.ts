import type { SchoolEvent } from '../../schemas/generated/events';
import { anEvent, given } from '../testing/gwt';
import { enrolledIn, foldSetup, loadSetup, type SetupEvent, type SetupState } from './setup';

/** An empty chunk state (what loadSetup gives for a chunk naming nothing: no query is made). */
const empty = (): Promise<SetupState> => loadSetup(undefined as never, []);

const initialized = (enrollmentId: string, sectionId: string) =>
  anEvent('enrollment.grades.initialized', { enrollmentId, studentUserId: 'S-1', sectionId, courseIds: ['M'], periodIds: ['T1'] });

/** Folds the events into a copy of the state; then where S-1 may be graded. */
const enrolledAfter =
  (...events: SchoolEvent[]) =>
  (sections: string[], s: SetupState): string[] => {
    const next = structuredClone(s);
    for (const e of events) foldSetup(next, e as SetupEvent);
    return sections.filter((section) => enrolledIn(next, 'S-1', section));
  };

describe('grades setup: who is enrolled where (rule GRADE_STUDENT_NOT_ENROLLED)', () => {
  it("step 4's decision alone enrolls no one; its outcome enrolls the student in its section", async () => {
    given(await empty())
      .when(
        ['SEC-1'],
        enrolledAfter(anEvent('enrollment.section.assigned', { enrollmentId: 'E-1', studentUserId: 'S-1', sectionId: 'SEC-1' })),
      )
      .then([]);
    given(await empty())
      .when(['SEC-1', 'SEC-2'], enrolledAfter(initialized('E-1', 'SEC-1')))
      .then(['SEC-1']);
  });

  it('a transfer (step 4 again, for the new section) moves the student; a compensation removes them', async () => {
    given(await empty())
      .when(['SEC-1', 'SEC-2'], enrolledAfter(initialized('E-1', 'SEC-1'), initialized('E-1', 'SEC-2')))
      .then(['SEC-2']);
    const failed = anEvent('enrollment.attendance.initialization.failed', {
      enrollmentId: 'E-1',
      sectionId: 'SEC-1',
      reason: 'NO_SCHEDULE',
      message: 'none',
    });
    given(await empty())
      .when(['SEC-1'], enrolledAfter(initialized('E-1', 'SEC-1'), failed))
      .then([]);
    // A compensation read before the outcome (another interleaving) keeps the outcome from enrolling.
    given(await empty())
      .when(['SEC-1'], enrolledAfter(failed, initialized('E-1', 'SEC-1')))
      .then([]);
  });
});
