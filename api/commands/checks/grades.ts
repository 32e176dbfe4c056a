import type { FieldError } from '../../http/problem';
import { teachingKey, type Facts, type SectionFacts, type YearFacts } from './facts';
import { broken, type FieldOf } from './types';

/** What grade.recorded and competency.evaluated name. */
export interface GradeTarget {
  sectionId: string;
  courseId: string;
  periodId: string;
}

export interface GradeFacts {
  section: SectionFacts | undefined;
  year: YearFacts | undefined;
  /** `sectionId/courseId` the recorder teaches; undefined when the recorder is an admin (records for any). */
  taught: ReadonlySet<string> | undefined;
}

/**
 * GRADE_COURSE_NOT_IN_SECTION, GRADE_PERIOD_NOT_IN_YEAR, GRADE_RECORDER_NOT_TEACHING (pure). An unknown section
 * has no courses; its year is then unknown too, and the period rule is not decided (the course rule already refuses).
 */
export function gradeErrors(p: GradeTarget, f: GradeFacts, field: FieldOf): FieldError[] {
  const errors: FieldError[] = [];
  if (!f.section?.courseIds.has(p.courseId))
    errors.push(
      broken(
        field('courseId'),
        'GRADE_COURSE_NOT_IN_SECTION',
        f.section ? `course ${p.courseId} is not a course of section ${p.sectionId}` : `section ${p.sectionId} does not exist`,
      ),
    );
  if (f.section && !f.year?.periodIds.has(p.periodId))
    errors.push(
      broken(
        field('periodId'),
        'GRADE_PERIOD_NOT_IN_YEAR',
        `period ${p.periodId} is not a grading period of academic year ${f.section.academicYearId}`,
      ),
    );
  if (f.taught && !f.taught.has(teachingKey(p.sectionId, p.courseId)))
    errors.push(
      broken(
        field('courseId'),
        'GRADE_RECORDER_NOT_TEACHING',
        `you are not assigned to teach course ${p.courseId} in section ${p.sectionId}`,
      ),
    );
  return errors;
}

/** Reads what gradeErrors needs: the section, its year, and (unless `asAdmin`) what `recorder` teaches. */
export async function checkGrade(p: GradeTarget, recorder: string, asAdmin: boolean, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [section, year, taught] = await Promise.all([
    facts.section(p.sectionId),
    facts.yearOfSection(p.sectionId),
    asAdmin ? undefined : facts.taught(recorder),
  ]);
  return gradeErrors(p, { section, year, taught }, field);
}
