import fs from 'node:fs';
import { expect } from 'chai';
import YAML from 'yaml';
import { MONITORING_FILE, monitoringManifests, RULES_FILE } from './k8s';

describe('deploy/k8s/monitoring.yaml', () => {
  it('is what `npm run rules:k8s` generates from alerts.yaml (the cluster runs the rules promtool tests)', () => {
    expect(fs.readFileSync(MONITORING_FILE, 'utf8')).to.equal(monitoringManifests(fs.readFileSync(RULES_FILE, 'utf8')));
  });

  it('holds every group and rule of alerts.yaml in its PrometheusRule', () => {
    const rules = YAML.parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: unknown[] }> };
    const docs = YAML.parseAllDocuments(fs.readFileSync(MONITORING_FILE, 'utf8')).map((d) => d.toJS() as { kind: string; spec: unknown });
    const rule = docs.find((d) => d.kind === 'PrometheusRule')!.spec as { groups: Array<{ rules: unknown[] }> };
    expect(rule.groups).to.deep.equal(rules.groups);
    expect(rule.groups.flatMap((g) => g.rules).length).to.be.greaterThan(5);
    expect(docs.map((d) => d.kind).sort()).to.deep.equal(['PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
  });
});
