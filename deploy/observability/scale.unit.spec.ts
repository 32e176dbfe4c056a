import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { scaleRuleWindows } from './scale';

describe('scaleRuleWindows (rules in seconds for the real-Prometheus alert test)', () => {
  it('divides range selectors, offsets and for: durations, and nothing else', () => {
    const rules = [
      '        expr: delta(x[10m]) >= 0 and increase(y{a="5m"}[10m]) == 0 unless z offset 10m',
      '        for: 5m',
      '        annotations: { summary: "for 5m" }',
    ].join('\n');
    expect(scaleRuleWindows(rules, 20).split('\n')).to.deep.equal([
      '        expr: delta(x[30s]) >= 0 and increase(y{a="5m"}[30s]) == 0 unless z offset 30s',
      '        for: 15s',
      '        annotations: { summary: "for 5m" }',
    ]);
  });

  it('never scales a window below one second', () => {
    expect(scaleRuleWindows('rate(x[2s])\n  for: 1m', 100)).to.equal('rate(x[1s])\n  for: 1s');
  });

  it('leaves no minute or hour window in the deployed rules', () => {
    const text = scaleRuleWindows(fs.readFileSync(path.join(__dirname, 'alerts.yaml'), 'utf8'), 20);
    expect(text).to.not.match(/\[\d+[mhd]\]|offset \d+[mhd]\b|^\s*for: \d+[mhd]\s*$/m);
    expect(text).to.include('delta(school:school_events_consumer_lag_records:sum[30s])');
  });
});
