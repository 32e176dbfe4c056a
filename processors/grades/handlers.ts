import type { Rules } from '../../lib/config';
import type { EvaluationType, EventPayloads } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';
import type { RuleCode } from '../shared/invariants';

/**
 * Grades: grade records, weighted period averages and performance alerts; saga step 4
 * (InitializeGrades) and CompensateGradeInitialization. Pure functions.
 */

export interface GradeRow {
  gradeId: string;
  evaluationType: EvaluationType;
  score: number;
  maxScore: number;
}

/**
 * Weighted average on a 0-100 scale: each grade counts as its percentage, weighted by
 * its evaluation type; weights are normalised over the grades present (a term with only
 * quizzes so far still averages to the quiz percentages).
 */
export function weightedAverage(grades: GradeRow[], weights: Rules['evaluationWeights']): number | undefined {
  let num = 0;
  let den = 0;
  for (const g of grades) {
    const w = weights[g.evaluationType];
    if (!(g.maxScore > 0) || w <= 0) continue;
    num += w * ((g.score / g.maxScore) * 100);
    den += w;
  }
  return den > 0 ? Math.round((num / den) * 100) / 100 : undefined;
}

export interface AverageDecision {
  average: number | undefined;
  emit: EmitSpec[];
}

/** After a grade changes: the new average (of `gradeCount` grades), `period.average.calculated` if it moved, and alerts. */
export function decideAverage(
  key: { studentUserId: string; sectionId: string; courseId: string; periodId: string },
  average: number | undefined,
  gradeCount: number,
  previous: number | undefined,
  rules: Rules,
): AverageDecision {
  if (average === undefined || average === previous) return { average, emit: [] };
  const out: EmitSpec[] = [emit('period.average.calculated', { ...key, average, previousAverage: previous ?? null, gradeCount })];
  const base = { ...key, average, previousAverage: previous ?? null };
  const crossedBelow = average < rules.passingAverage && (previous === undefined || previous >= rules.passingAverage);
  if (crossedBelow)
    out.push(
      emit(
        'student.performance.alert',
        {
          alertId: `${key.studentUserId}:${key.courseId}:${key.periodId}:below`,
          alertType: 'BELOW_PASSING',
          threshold: rules.passingAverage,
          ...base,
        },
        'below',
      ),
    );
  if (previous !== undefined && previous - average > rules.averageDropPoints) {
    out.push(
      emit(
        'student.performance.alert',
        {
          alertId: `${key.studentUserId}:${key.courseId}:${key.periodId}:drop`,
          alertType: 'SHARP_DROP',
          threshold: rules.averageDropPoints,
          ...base,
        },
        'drop',
      ),
    );
  }
  return { average, emit: out };
}

export type GradeCheck =
  | { ok: true }
  | { ok: false; rule: Extract<RuleCode, 'GRADE_MAX_SCORE' | 'GRADE_SCORE_RANGE'>; field: 'maxScore' | 'score'; reason: string };

/** Rules GRADE_MAX_SCORE and GRADE_SCORE_RANGE (docs/invariants.md): finite, 0 < maxScore ≤ the bound, 0 ≤ score ≤ maxScore. */
export function checkGrade(p: { score: number; maxScore: number }, maxScoreBound: number): GradeCheck {
  if (!Number.isFinite(p.maxScore) || !(p.maxScore > 0) || p.maxScore > maxScoreBound)
    return {
      ok: false,
      rule: 'GRADE_MAX_SCORE',
      field: 'maxScore',
      reason: `maxScore must be > 0 and at most ${maxScoreBound}, got ${p.maxScore}`,
    };
  if (!Number.isFinite(p.score) || p.score < 0 || p.score > p.maxScore)
    return { ok: false, rule: 'GRADE_SCORE_RANGE', field: 'score', reason: `score ${p.score} is outside 0..${p.maxScore}` };
  return { ok: true };
}

/** Step 4: decided from the section's courses and its year's grading periods; the outcome carries both. */
export function initializeGrades(p: EventPayloads['enrollment.section.assigned'], courseIds: string[], periodIds: string[]): EmitSpec[] {
  const fail = (reason: 'NO_COURSES' | 'NO_GRADING_PERIODS', message: string): EmitSpec[] => [
    emit('enrollment.grades.initialization.failed', { enrollmentId: p.enrollmentId, sectionId: p.sectionId, reason, message }),
  ];
  if (courseIds.length === 0) return fail('NO_COURSES', `section ${p.sectionId} has no courses`);
  if (periodIds.length === 0) return fail('NO_GRADING_PERIODS', `the academic year of section ${p.sectionId} has no grading periods`);
  return [
    emit('enrollment.grades.initialized', {
      enrollmentId: p.enrollmentId,
      studentUserId: p.studentUserId,
      sectionId: p.sectionId,
      courseIds,
      periodIds,
    }),
  ];
}

/** The base records step 4's outcome stands for: one per course and grading period. */
export function baseRecords(p: EventPayloads['enrollment.grades.initialized']): Array<{ courseId: string; periodId: string }> {
  return p.courseIds.flatMap((courseId) => p.periodIds.map((periodId) => ({ courseId, periodId })));
}
