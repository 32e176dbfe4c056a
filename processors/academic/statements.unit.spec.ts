import { expect } from 'chai';
import { withFirst } from './projection';

describe('academic: a timeline entry written with its change in one statement', () => {
  it('runs the first as a CTE and renumbers the second statement’s parameters after the first’s', () => {
    const s = withFirst(
      { text: 'insert into t (a, b) values ($1, $2) on conflict do nothing', values: ['x', 'y'] },
      { text: 'update e set s = $2, u = $3 where id = $1', values: ['E-1', 'DONE', 'now'] },
    );
    expect(s.text).to.equal(
      'with first_write as (insert into t (a, b) values ($1, $2) on conflict do nothing)\nupdate e set s = $4, u = $5 where id = $3',
    );
    expect(s.values).to.deep.equal(['x', 'y', 'E-1', 'DONE', 'now']);
  });
});
