import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { prometheusTargetsDir } from '../../deploy/local/services';
import { stackPaths } from '../../deploy/local/stack';
import { createKafka } from '../../lib/clients/kafka';
import { eventually, testConfig } from '../support';
import { ApiHarness } from '../support/api';
import { TestPipeline } from '../support/pipeline';
import { launchChromium, screenshot } from '../support/browser';
import { promQuery, type Series } from '../support/prometheus';

/**
 * The local stack's real Prometheus (stack:up) scrapes this run's processors and API (registered through its
 * target files), evaluates the project's rules, and shows the lag, saga and API series; poison records make
 * the dead-letter alert pending or firing.
 */
describe('Prometheus of the local stack (e2e: real scrapes and rules)', function () {
  this.timeout(180_000);
  const p = new TestPipeline(testConfig());
  const api = new ApiHarness(p);
  const targets = prometheusTargetsDir(stackPaths(p.config));
  const files = [path.join(targets, `processors-${p.run}.json`), path.join(targets, `api-${p.run}.json`)];
  const prometheus = p.config.metrics.prometheusUrl.replace(/\/$/, '');

  /** An instant query; the result vector. */
  const query = (promql: string): Promise<Series[]> => promQuery(prometheus, promql); // a refused query throws
  /** Polls until the query answers at least `min` series. */
  const some = (promql: string, what: string, min = 1) =>
    eventually(
      async () => {
        const r = await query(promql);
        return r.length >= min ? r : undefined;
      },
      what,
      60_000,
      1000,
    );

  before(async () => {
    await p.start();
    await api.start();
    fs.mkdirSync(targets, { recursive: true });
    fs.writeFileSync(files[0]!, JSON.stringify([{ targets: [`127.0.0.1:${p.host.port}`], labels: { run: p.run } }]));
    fs.writeFileSync(files[1]!, JSON.stringify([{ targets: [new URL(api.base).host], labels: { run: p.run } }]));
  });
  after(async () => {
    for (const f of files) fs.rmSync(f, { force: true });
    await api.stop();
    await p.stop();
  });

  it('scrapes the run: lag per partition, the saga gauges and the API histograms', async () => {
    const up = await some(`up{run="${p.run}"} == 1`, 'both targets up', 2);
    expect(up.map((r) => r.metric.job).sort()).to.deep.equal(['school-api', 'school-processors']);
    const lag = await some(
      `school_events_consumer_lag_records{run="${p.run}",processor="grades",topic="${p.topic('grades-events')}"}`,
      'lag series',
      6,
    );
    expect(lag.map((r) => r.metric.partition).sort()).to.deep.equal(['0', '1', '2', '3', '4', '5']);

    await p.publish('student.enrolled', {
      enrollmentId: `ENR-${p.run}`,
      studentUserId: `USR-${p.run}-nobody`, // unknown student: the saga fails at VALIDATE_USER
      sectionId: `SEC-${p.run}`,
      academicYearId: `Y-${p.run}`,
      enrollmentDate: '2025-03-03',
      enrollmentType: 'REGULAR',
      previousInstitution: null,
    });
    const failed = await some(`school_events_sagas_failed{run="${p.run}",failed_step="VALIDATE_USER"}`, 'the failed saga counted');
    expect(failed[0]!.value[1]).to.equal('1');
    expect(await query(`school:school_events_consumer_lag_records:sum{processor="academic"}`)).to.not.have.length(0);

    expect((await api.call('GET', '/health')).status).to.equal(200);
    await some(`school_events_http_request_duration_seconds_count{run="${p.run}",route="/health"}`, 'the API request counted');
  });

  it('poison records: the dead letters are counted and the DeadLettersGrowing alert goes pending or firing', async () => {
    const producer = createKafka(p.config).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: p.topic('grades-events'),
        messages: [{ key: 'poison', value: Buffer.from('not avro'), headers: { eventType: 'grade.recorded', eventId: `POISON-${p.run}` } }],
      });
    } finally {
      await producer.disconnect();
    }
    await some(`school_events_dead_letters_total{run="${p.run}",processor="grades"} > 0`, 'the dead letter counted');
    const alert = await some(
      `ALERTS{alertname="DeadLettersGrowing",processor="grades",topic="${p.topic('grades-events')}.dlq"}`,
      'the dead-letter alert',
    );
    expect(['pending', 'firing']).to.include(alert[0]!.metric.alertstate);
    expect(alert[0]!.metric.severity).to.equal('warning');
  });

  it("Prometheus's own alerts page (its web UI, Debian's files) shows the alert, in a real browser", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      await page.goto(`${prometheus}/classic/alerts`);
      const rule = page.locator('tr.alert-warning, tr.alert-danger', { hasText: 'DeadLettersGrowing' });
      await rule.first().waitFor({ timeout: 30_000 });
      expect(await rule.first().innerText()).to.match(/DeadLettersGrowing \([1-9]\d* active\)/);
      // Opened, the rule lists its active alerts with their labels: this run's dead-letter topic among them.
      await rule.first().click();
      await page
        .getByText(`${p.topic('grades-events')}.dlq`)
        .first()
        .waitFor();
      await screenshot(page, 'prometheus-alerts');
    } finally {
      await browser.close();
    }
  });
});
