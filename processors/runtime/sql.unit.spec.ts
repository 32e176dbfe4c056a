import { expect } from 'chai';
import { oneStatement, quoteIdent } from './sql';

describe('runtime sql (unit)', () => {
  it('quotes identifiers, doubling quotes', () => {
    expect(quoteIdent('proj_"x')).to.equal('"proj_""x"');
  });

  it('joins writes into one statement of CTEs with renumbered parameters', () => {
    expect(oneStatement([])).to.equal(undefined);
    const single = { text: 'delete from a where id = $1', values: ['x'] };
    expect(oneStatement([single])).to.equal(single);
    expect(
      oneStatement([
        { text: 'insert into a values ($1, $2)', values: [1, 2] },
        { text: 'update b set v = $2 where id = $1', values: ['k', 3] },
        { text: 'delete from c where id = any($1) and n > $10', values: [['z'], 0, 0, 0, 0, 0, 0, 0, 0, 9] },
      ]),
    ).to.deep.equal({
      text: 'with w0 as (insert into a values ($1, $2)),\nw1 as (update b set v = $4 where id = $3),\nw2 as (delete from c where id = any($5) and n > $14)\nselect 1',
      values: [1, 2, 'k', 3, ['z'], 0, 0, 0, 0, 0, 0, 0, 0, 9],
    });
  });
});
