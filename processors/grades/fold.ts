import type { Rules } from '../../lib/config';
import type { EvaluationType, EventPayloads } from '../../schemas/generated/events';
import type { EmitSpec } from '../shared/emit';
import type { RuleCode } from '../shared/invariants';
import { checkGrade, decideAverage } from './handlers';

/**
 * The grade events' part of grades on the load–fold–flush model: a period average is kept as
 * running sums per evaluation type, so a grade costs O(1) whatever the key's history.
 * Pure: (event, the state it needs) → changes + events to emit; the caller keeps the state.
 */

export interface AverageKey {
  studentUserId: string;
  courseId: string;
  periodId: string;
}

export interface StoredGrade extends AverageKey {
  gradeId: string;
  sectionId: string;
  evaluationType: EvaluationType;
  score: number;
  maxScore: number;
  recordedBy: string;
  comment: string | null;
  recordedAt: string;
  updatedAt: string;
}

/** Percentages in millionths of a point as integers: integer sums are exact, so any order of the same grades gives the same average. */
export type TypeSums = Partial<Record<EvaluationType, { points: number; grades: number }>>;

export interface AverageState {
  sectionId: string;
  sums: TypeSums;
  /** The published average (undefined before the first one). */
  average: number | undefined;
}

export const averageKeyOf = (k: AverageKey): string => `${k.studentUserId}\u0000${k.courseId}\u0000${k.periodId}`;

/** A grade's percentage as an integer number of millionths of a point (0..100,000,000). */
export const pointsOf = (score: number, maxScore: number): number => Math.round((score / maxScore) * 1e8);

/**
 * The weighted average of the sums on a 0–100 scale, rounded to hundredths: each grade counts as its
 * percentage weighted by its evaluation type, normalised over the grades present (as weightedAverage).
 */
export function averageOf(sums: TypeSums, weights: Rules['evaluationWeights']): number | undefined {
  let num = 0;
  let den = 0;
  for (const type of Object.keys(sums).sort() as EvaluationType[]) {
    const s = sums[type]!;
    const w = weights[type];
    if (w <= 0 || s.grades === 0) continue;
    num += w * s.points;
    den += w * s.grades;
  }
  return den > 0 ? Math.round(num / den / 1e4) / 100 : undefined;
}

export const gradeCount = (sums: TypeSums): number => Object.values(sums).reduce((n, s) => n + s.grades, 0);

function adjust(sums: TypeSums, type: EvaluationType, points: number, grades: number): TypeSums {
  const cur = sums[type] ?? { points: 0, grades: 0 };
  return { ...sums, [type]: { points: cur.points + points, grades: cur.grades + grades } };
}

/** A refusal, or the grade and average after the event; `averaged` when the sums give an average (some grade has weight). */
export type Folded =
  { violation: string; rule: RuleCode } | { grade: StoredGrade; average: AverageState; averaged: boolean; emit: EmitSpec[] };

function settle(grade: StoredGrade, before: AverageState | undefined, sums: TypeSums, rules: Rules): Folded {
  const average = averageOf(sums, rules.evaluationWeights);
  const key = { studentUserId: grade.studentUserId, sectionId: grade.sectionId, courseId: grade.courseId, periodId: grade.periodId };
  const d = decideAverage(key, average, gradeCount(sums), before?.average, rules);
  return {
    grade,
    average: { sectionId: grade.sectionId, sums, average: average ?? before?.average },
    averaged: average !== undefined,
    emit: d.emit,
  };
}

/** The row a recorded grade becomes (also what a parked grade's corrections are checked against). */
export function storedGrade(p: EventPayloads['grade.recorded'], at: string): StoredGrade {
  return {
    gradeId: p.gradeId,
    studentUserId: p.studentUserId,
    sectionId: p.sectionId,
    courseId: p.courseId,
    periodId: p.periodId,
    evaluationType: p.evaluationType,
    score: p.score,
    maxScore: p.maxScore,
    recordedBy: p.recordedBy,
    comment: p.comment,
    recordedAt: at,
    updatedAt: at,
  };
}

export function foldGradeRecorded(
  p: EventPayloads['grade.recorded'],
  at: string,
  state: { grade: StoredGrade | undefined; average: AverageState | undefined },
  rules: Rules,
): Folded {
  const check = checkGrade(p, rules.maxScore);
  if (!check.ok) return { violation: `grade ${p.gradeId}: ${check.reason}`, rule: check.rule };
  if (state.grade) return { violation: `grade ${p.gradeId} was already recorded; use grade.updated to change it`, rule: 'GRADE_DUPLICATE' };
  const grade = storedGrade(p, at);
  const sums = adjust(state.average?.sums ?? {}, p.evaluationType, pointsOf(p.score, p.maxScore), 1);
  return settle(grade, state.average, sums, rules);
}

export function foldGradeUpdated(
  p: EventPayloads['grade.updated'],
  at: string,
  state: { grade: StoredGrade | undefined; average: AverageState | undefined },
  rules: Rules,
): Folded {
  const old = state.grade;
  if (!old) return { violation: `grade ${p.gradeId} does not exist`, rule: 'GRADE_CORRECTION_UNKNOWN' };
  // The correction moves this grade's share of its own average; one naming another student, course or
  // period would leave that average's sums unlocked and wrong.
  if (averageKeyOf(p) !== averageKeyOf(old))
    return {
      violation: `grade ${p.gradeId} belongs to ${old.studentUserId}/${old.courseId}/${old.periodId}, not to the correction's`,
      rule: 'GRADE_CORRECTION_UNKNOWN',
    };
  // The bound applies to new grades; a correction keeps the grade's own maxScore, whatever the bound is now.
  const check = checkGrade({ score: p.newScore, maxScore: old.maxScore }, Math.max(rules.maxScore, old.maxScore));
  if (!check.ok) return { violation: `grade ${p.gradeId}: ${check.reason}`, rule: check.rule };
  const grade: StoredGrade = { ...old, score: p.newScore, updatedAt: at };
  const delta = pointsOf(p.newScore, old.maxScore) - pointsOf(old.score, old.maxScore);
  const sums = adjust(state.average?.sums ?? {}, old.evaluationType, delta, 0);
  return settle(grade, state.average, sums, rules);
}
