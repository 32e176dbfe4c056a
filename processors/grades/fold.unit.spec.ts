import { expect } from 'chai';
import { loadConfig } from '../../lib/config';
import { seededRandom } from '../../lib/rng';
import type { EvaluationType } from '../../schemas/generated/events';
import { anEvent, given } from '../testing/gwt';
import { averageOf, foldGradeRecorded, foldGradeUpdated, pointsOf, type AverageState, type Folded, type StoredGrade } from './fold';
import { weightedAverage } from './handlers';

const rules = loadConfig({}).rules;
const at = '2025-03-15T08:30:00.000Z';
const recorded = (gradeId: string, evaluationType: EvaluationType, score: number, maxScore = 20) =>
  anEvent('grade.recorded', {
    gradeId,
    studentUserId: 'S-1',
    sectionId: 'SEC-1',
    courseId: 'MATH',
    periodId: 'T1',
    evaluationType,
    score,
    maxScore,
  }).payload;
type View = { grade: StoredGrade | undefined; average: AverageState | undefined };
const empty: View = { grade: undefined, average: undefined };
const ok = (r: Folded) => {
  if ('violation' in r) throw new Error(r.violation);
  return r;
};

describe('grades fold (running sums)', () => {
  it('a first grade starts the sums and publishes its average', () => {
    given(empty)
      .when(recorded('G-1', 'EXAM', 17), (p, s) => foldGradeRecorded(p, at, s, rules))
      .thenSatisfies((r) => {
        const f = ok(r);
        expect(f.average).to.deep.equal({ sectionId: 'SEC-1', sums: { EXAM: { points: 85_000_000, grades: 1 } }, average: 85 });
        expect(f.emit.map((e) => e.type)).to.deep.equal(['period.average.calculated']);
        expect(f.emit[0]!.payload).to.include({ average: 85, previousAverage: null, gradeCount: 1 });
      });
  });

  it('a second grade adds to the sums without the first grade at hand, and reports the previous average', () => {
    const first = ok(foldGradeRecorded(recorded('G-1', 'EXAM', 10), at, empty, rules));
    given<View>({ grade: undefined, average: first.average })
      .when(recorded('G-2', 'QUIZ', 20), (p, s) => foldGradeRecorded(p, at, s, rules))
      .thenSatisfies((r) => {
        const f = ok(r);
        // (0.4*50 + 0.15*100) / 0.55 = 63.64, as weightedAverage computes from the rows
        expect(f.average.average).to.equal(63.64);
        expect(f.emit[0]!.payload).to.include({ average: 63.64, previousAverage: 50, gradeCount: 2 });
      });
  });

  it("a correction moves only that grade's share; the key's other grades are not read", () => {
    const a = ok(foldGradeRecorded(recorded('G-1', 'EXAM', 10), at, empty, rules));
    const b = ok(foldGradeRecorded(recorded('G-2', 'QUIZ', 20), at, { grade: undefined, average: a.average }, rules));
    const update = anEvent('grade.updated', {
      gradeId: 'G-1',
      studentUserId: 'S-1',
      sectionId: 'SEC-1',
      courseId: 'MATH',
      periodId: 'T1',
      newScore: 20,
    });
    const c = ok(foldGradeUpdated(update.payload, at, { grade: a.grade, average: b.average }, rules));
    expect(c.average.sums).to.deep.equal({ EXAM: { points: 100_000_000, grades: 1 }, QUIZ: { points: 100_000_000, grades: 1 } });
    expect(c.average.average).to.equal(100);
    expect(c.grade).to.include({ score: 20, updatedAt: at });
  });

  it('refuses a second recording, a correction of an unknown grade, one naming another key, and an out-of-range score', () => {
    const a = ok(foldGradeRecorded(recorded('G-1', 'EXAM', 10), at, empty, rules));
    expect(foldGradeRecorded(recorded('G-1', 'EXAM', 11), at, { grade: a.grade, average: a.average }, rules)).to.have.property(
      'rule',
      'GRADE_DUPLICATE',
    );
    const upd = (payload: object) =>
      anEvent('grade.updated', { gradeId: 'G-1', studentUserId: 'S-1', sectionId: 'SEC-1', courseId: 'MATH', periodId: 'T1', ...payload })
        .payload;
    expect(foldGradeUpdated(upd({}), at, empty, rules)).to.deep.equal({
      violation: 'grade G-1 does not exist',
      rule: 'GRADE_CORRECTION_UNKNOWN',
    });
    expect(foldGradeUpdated(upd({ periodId: 'T2' }), at, { grade: a.grade, average: a.average }, rules)).to.have.property(
      'rule',
      'GRADE_CORRECTION_UNKNOWN',
    );
    expect(foldGradeUpdated(upd({ newScore: 21 }), at, { grade: a.grade, average: a.average }, rules)).to.have.property(
      'rule',
      'GRADE_SCORE_RANGE',
    );
    expect(foldGradeRecorded(recorded('G-9', 'EXAM', 5, 0), at, empty, rules)).to.have.property('rule', 'GRADE_MAX_SCORE');
  });

  it('the average of the sums equals weightedAverage of the rows, in any order of the same grades', () => {
    const rnd = seededRandom(7);
    const types: EvaluationType[] = ['EXAM', 'PROJECT', 'QUIZ', 'HOMEWORK', 'PARTICIPATION'];
    for (let round = 0; round < 200; round++) {
      const rows = Array.from({ length: 1 + Math.floor(rnd() * 12) }, (_, i) => {
        const maxScore = [10, 20, 7, 100][Math.floor(rnd() * 4)]!;
        return {
          gradeId: `G-${i}`,
          evaluationType: types[Math.floor(rnd() * types.length)]!,
          score: Math.round(rnd() * maxScore * 4) / 4,
          maxScore,
        };
      });
      const fold = (order: typeof rows) => {
        let view: View = empty;
        for (const g of order)
          view = {
            grade: undefined,
            average: ok(foldGradeRecorded(recorded(g.gradeId, g.evaluationType, g.score, g.maxScore), at, view, rules)).average,
          };
        return view.average!;
      };
      const forward = fold(rows);
      const backward = fold([...rows].reverse());
      expect(backward.sums).to.deep.equal(forward.sums);
      expect(forward.average).to.equal(weightedAverage(rows, rules.evaluationWeights));
      expect(averageOf(forward.sums, rules.evaluationWeights)).to.equal(forward.average);
    }
    expect(pointsOf(1, 3)).to.equal(33_333_333);
  });
});
