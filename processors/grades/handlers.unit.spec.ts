import { expect } from 'chai';
import { loadConfig } from '../../lib/config';
import { anEvent, given } from '../testing/gwt';
import { baseRecords, checkGrade, decideAverage, initializeGrades, weightedAverage, type GradeRow } from './handlers';

const rules = loadConfig({}).rules;
const key = { studentUserId: 'USR-1', sectionId: 'SEC-1', courseId: 'CRS-MATH', periodId: 'T1' };
const g = (gradeId: string, evaluationType: GradeRow['evaluationType'], score: number, maxScore = 20): GradeRow => ({
  gradeId,
  evaluationType,
  score,
  maxScore,
});

/** The decision after a change, from the key's grades (the processor keeps running sums; see fold.unit.spec). */
const decide = (grades: GradeRow[], previous: number | undefined) =>
  decideAverage(key, weightedAverage(grades, rules.evaluationWeights), grades.length, previous, rules);

describe('grades handlers', () => {
  it('weights each grade by its evaluation type, normalised over the types present', () => {
    // EXAM 0.4 at 50%, QUIZ 0.15 at 100%: (0.4*50 + 0.15*100) / 0.55 = 63.64
    expect(weightedAverage([g('a', 'EXAM', 10), g('b', 'QUIZ', 20)], rules.evaluationWeights)).to.equal(63.64);
    expect(weightedAverage([], rules.evaluationWeights)).to.equal(undefined);
  });

  it('publishes a new average when the first grade arrives', () => {
    given({ grades: [g('a', 'EXAM', 17)], previous: undefined as number | undefined })
      .when(key, (_k, s) => decide(s.grades, s.previous))
      .then({
        average: 85,
        emit: [{ type: 'period.average.calculated', payload: { ...key, average: 85, previousAverage: null, gradeCount: 1 } }],
      });
  });

  it('a grade updated after the average was published publishes the corrected average', () => {
    const d = decide([g('a', 'EXAM', 18)], 85);
    expect(d.emit.map((e) => [e.type, (e.payload as { average: number; previousAverage: number }).previousAverage])).to.deep.equal([
      ['period.average.calculated', 85],
    ]);
  });

  it('an unchanged average publishes nothing (no event without a change)', () => {
    expect(decide([g('a', 'EXAM', 17)], 85).emit).to.deep.equal([]);
  });

  it('alerts once when the average falls below passing, and on a sharp drop', () => {
    const below = decide([g('a', 'EXAM', 10)], 60);
    expect(below.emit.map((e) => e.type)).to.deep.equal(['period.average.calculated', 'student.performance.alert']);
    expect(below.emit[1]?.payload).to.include({ alertType: 'BELOW_PASSING', threshold: 55 });
    const stillBelow = decide([g('a', 'EXAM', 9)], 50);
    expect(stillBelow.emit.map((e) => e.type)).to.deep.equal(['period.average.calculated']);
    const drop = decide([g('a', 'EXAM', 13)], 90);
    expect(drop.emit.map((e) => (e.payload as { alertType?: string }).alertType).filter(Boolean)).to.deep.equal(['SHARP_DROP']);
  });

  it('rejects impossible scores, each with its rule code', () => {
    const rule = (score: number, maxScore: number) => {
      const c = checkGrade({ score, maxScore }, 1000);
      return c.ok ? 'ok' : c.rule;
    };
    expect(checkGrade({ score: 21, maxScore: 20 }, 1000)).to.deep.equal({
      ok: false,
      rule: 'GRADE_SCORE_RANGE',
      field: 'score',
      reason: 'score 21 is outside 0..20',
    });
    expect([rule(0, 20), rule(20, 20), rule(1000, 1000)]).to.deep.equal(['ok', 'ok', 'ok']);
    expect([rule(1, 0), rule(1, -5), rule(1e308, 1e308), rule(1, 1001), rule(1, Infinity), rule(1, NaN)]).to.deep.equal(
      Array(6).fill('GRADE_MAX_SCORE'),
    );
    expect([rule(-1, 20), rule(21, 20), rule(NaN, 20)]).to.deep.equal(Array(3).fill('GRADE_SCORE_RANGE'));
  });

  describe('step 4', () => {
    const assigned = anEvent('enrollment.section.assigned').payload;
    it('records the courses and periods it decided from in its outcome', () => {
      const [out] = initializeGrades(assigned, ['M', 'L'], ['T1', 'T2']);
      expect(out?.type).to.equal('enrollment.grades.initialized');
      expect(out?.payload).to.deep.include({ courseIds: ['M', 'L'], periodIds: ['T1', 'T2'] });
    });
    it('the outcome stands for one base record per course and period', () => {
      const initialized = { ...anEvent('enrollment.grades.initialized').payload, courseIds: ['M', 'L'], periodIds: ['T1', 'T2'] };
      expect(baseRecords(initialized)).to.deep.equal([
        { courseId: 'M', periodId: 'T1' },
        { courseId: 'M', periodId: 'T2' },
        { courseId: 'L', periodId: 'T1' },
        { courseId: 'L', periodId: 'T2' },
      ]);
    });
    it('fails without courses, or without grading periods', () => {
      expect(initializeGrades(assigned, [], ['T1'])[0]?.payload).to.include({ reason: 'NO_COURSES' });
      expect(initializeGrades(assigned, ['M'], [])[0]?.payload).to.include({ reason: 'NO_GRADING_PERIODS' });
    });
  });
});
