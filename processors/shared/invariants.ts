/**
 * The rules of the school that have a stable code: the API answers a command breaking one with a 400 naming
 * it (`errors[].rule`), a processor dead-letters an event breaking one with it in `dlq.rule`. Each is listed
 * in docs/invariants.md (a unit test keeps the two in step).
 */
export const INVARIANTS = {
  GRADE_MAX_SCORE: "A grade's maxScore is a finite number, > 0 and at most RULE_MAX_SCORE (1000 by default).",
  GRADE_SCORE_RANGE: "A grade's score, and a correction's newScore, is a finite number within 0..maxScore.",
} as const;

export type RuleCode = keyof typeof INVARIANTS;
