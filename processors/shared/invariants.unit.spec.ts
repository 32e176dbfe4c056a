import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { INVARIANTS } from './invariants';

describe('docs/invariants.md', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'invariants.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(.+?)\s*\|/gm)].map((m) => [m[1]!, m[2]!.replace(/`/g, '')] as const));

  it('lists every rule code the code raises, with the same wording', () => {
    for (const [code, rule] of Object.entries(INVARIANTS)) expect(rows.get(code), code).to.equal(rule);
  });

  it('lists no code the code does not know', () => {
    expect([...rows.keys()].filter((c) => !(c in INVARIANTS))).to.deep.equal([]);
  });
});
