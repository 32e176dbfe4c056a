import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import Transport from 'winston-transport';
import type { Admin, Producer } from 'kafkajs';
import { systemClock } from '../../lib/clock';
import { createKafka } from '../../lib/clients/kafka';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { createLogger } from '../../lib/logger';
import { ProcessorHost } from '../../processors/runtime/host';
import { createCounterTable, pgCounter } from '../../processors/runtime/testing/counter';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import type { SchoolEvent } from '../../schemas/generated/events';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { dlqTopic, parkedTopic } from '../../topics/catalog';
import { eventually, randomName, testConfig } from '../../test/support';
import { IsolatedPostgres } from '../../test/support/postgres';
import { IsolatedPrometheus } from '../../test/support/prometheus';
import { scaleRuleWindows } from './scale';

/** The deployed rules with every window divided by 20: ten minutes become 30 s, "for 5m" 15 s. */
const SCALE = 20;
const TRACE = 'a'.repeat(32);

/** Keeps the logger's lines in memory, to read what an operator would see. */
class Lines extends Transport {
  readonly seen: Array<Record<string, unknown>> = [];
  override log(info: Record<string, unknown>, next: () => void): void {
    this.seen.push(info);
    next();
  }
}

/**
 * A processor whose database is stopped while records keep arriving, scraped by a real Prometheus that
 * evaluates the deployed alerting rules (windows scaled down, expressions unchanged): the lag it scrapes
 * never falls and grows with every record published, ConsumerLagNotDecreasing goes pending (then fires), and it clears
 * once the database is back and the records are applied.
 */
describe('lag alert in a real Prometheus while a processor’s database is down (int)', function () {
  this.timeout(300_000);
  const config = testConfig({ RUNTIME_RETRY_INITIAL_MS: '200', RUNTIME_RETRY_MAX_MS: '1000', BREAKER_OPEN_MS: '2000' });
  const logger = createLogger({ log: { ...config.log, level: 'info' } }, 'it');
  const lines = new Lines();
  logger.clear().add(lines); // read here, not printed
  const kafka = createKafka(config);
  const server = new IsolatedPostgres(config);
  const prometheus = new IsolatedPrometheus(config);
  const topic = randomName('it-lag');
  const schema = randomName('it_lag').replace(/-/g, '_');
  const name = `lagged_${schema.slice(-6)}`;
  let admin: Admin;
  let producer: Producer;
  let host: ProcessorHost | undefined;
  let sent = 0;

  const tardies = (n: number): SchoolEvent[] =>
    Array.from({ length: n }, () => {
      const i = sent++;
      return buildEvent(
        'tardiness.recorded',
        {
          tardinessId: `TRD-${i}`,
          studentUserId: `USR-${i % 10}`,
          sectionId: 'SEC-1',
          date: '2025-03-18',
          minutesLate: 1,
          recordedBy: 'USR-T-1',
        },
        { sourceService: 'it', clock: systemClock, metadata: { traceparent: `00-${TRACE}-${'1'.repeat(16)}-01` } },
      );
    });
  const publish = (n: number) =>
    new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic).publish(...tardies(n));
  const lagSum = `sum(school_events_consumer_lag_records{processor="${name}"})`;
  const alerts = `ALERTS{alertname="ConsumerLagNotDecreasing",processor="${name}"}`;

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: 3 },
        { topic: dlqTopic(topic), numPartitions: 1 },
        { topic: parkedTopic(topic), numPartitions: 1 },
      ],
    });
    producer = createEventProducer(kafka);
    await producer.connect();
    const pgConfig = await server.start();
    const pool = createPgPool(pgConfig);
    await createCounterTable(pool, schema);
    await pool.end();
    host = new ProcessorHost([pgCounter(name, topic)], pgConfig, logger, { opsPort: 0, pgSchema: () => schema });
    await host.start();
    const rules = scaleRuleWindows(fs.readFileSync(path.join(__dirname, 'alerts.yaml'), 'utf8'), SCALE);
    await prometheus.start({ rules, jobs: { 'school-processors': [`127.0.0.1:${host.port}`] } });
  });

  after(async () => {
    await host?.stop();
    await prometheus.stop();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic, dlqTopic(topic), parkedTopic(topic)] }).catch(() => undefined);
    await admin?.disconnect();
    await server.destroy();
  });

  it('lag never falls and grows with the records while the database is down; the alert goes pending, fires, then clears', async () => {
    await publish(100);
    await eventually(
      async () =>
        (
          await prometheus.query(
            `${lagSum} == 0 and on() sum(school_events_records_handled_total{processor="${name}",outcome="applied"}) >= 100`,
          )
        ).length
          ? true
          : undefined,
      'Prometheus sees the first 100 applied and no lag',
      60_000,
      500,
    );

    expect(await server.stop()).to.equal(true);
    const outage = Date.now();
    // Records keep arriving, 20 every two seconds, until the alert has been pending for its whole `for` and fires.
    const states: string[] = [];
    let batches = 0;
    const firing = await eventually(
      async () => {
        await publish(20);
        batches++;
        const a = await prometheus.query(alerts);
        if (a[0]) states.push(a[0].metric.alertstate!);
        return a[0]?.metric.alertstate === 'firing' ? a[0] : undefined;
      },
      'ConsumerLagNotDecreasing pending, then firing',
      120_000,
      2000,
    );
    expect(states[0], states.join(' → ')).to.equal('pending');
    // The retry lines of the stuck chunk say which records they hold up: event, correlation and trace ids.
    const retry = lines.seen.find((l) => l.message === 'transient failure, holding the partition and retrying');
    expect(retry, 'a retry line').to.not.equal(undefined);
    expect(retry).to.include({ processor: name, traceId: TRACE });
    expect(retry!.eventId).to.be.a('string').and.equal(retry!.correlationId);
    expect(retry!.records).to.be.a('number').and.at.least(1);
    expect(firing.metric.severity).to.equal('critical');
    const seconds = Math.ceil((Date.now() - outage) / 1000);
    const lags = await prometheus.range(lagSum, seconds);
    expect(lags.length, 'a sample a second during the outage').to.be.at.least(seconds - 3);
    for (let i = 1; i < lags.length; i++) expect(lags[i], `sample ${i} of ${lags.join(', ')}`).to.be.at.least(lags[i - 1]!);
    // Every batch but the last two (maybe not scraped yet) is in the lag Prometheus saw.
    expect(lags.at(-1)! - lags[0]!, `lag over the outage: ${lags.join(', ')}`).to.be.at.least(20 * (batches - 2));
    // What the processor applied did not move while the database was down.
    expect(
      await prometheus.query(
        `increase(school_events_records_handled_total{processor="${name}",outcome="applied"}[${Math.max(5, seconds - 5)}s]) > 0`,
      ),
    ).to.deep.equal([]);

    await server.start();
    await eventually(
      async () => ((await prometheus.query(`${lagSum} == 0`)).length ? true : undefined),
      'every record applied once the database is back',
      120_000,
      1000,
    ).catch(async (e: unknown) => {
      // What an operator would look at, so a failure here says where it stuck.
      const lag = await prometheus.query(`school_events_consumer_lag_records{processor="${name}"}`).catch(String);
      const last = lines.seen.slice(-15).map((l) => `${String(l.level)} ${String(l.message)} ${JSON.stringify(l.error ?? '')}`);
      throw new Error(`${e instanceof Error ? e.message : String(e)}\nlag series: ${JSON.stringify(lag)}\nlast lines:\n${last.join('\n')}`);
    });
    await eventually(async () => ((await prometheus.query(alerts)).length ? undefined : true), 'the alert cleared', 60_000, 1000);
  });
});
