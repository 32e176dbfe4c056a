import { expect } from 'chai';
import type { Admin, Producer } from 'kafkajs';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createKafka } from '../../lib/clients/kafka';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { createLogger } from '../../lib/logger';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { dlqTopic, parkedTopic } from '../../topics/catalog';
import { eventually, randomName, testConfig } from '../../test/support';
import { matches, readDeadLetters, redrive } from './dlq';
import { ProcessorHost } from './host';
import { createCounterTable, pgCounter } from './testing/counter';

describe('dead-letter tooling: list, filter, redrive, park (real stack)', function () {
  this.timeout(120000);
  const config = testConfig({ DLQ_MAX_REDRIVES: '2', RUNTIME_RETRY_INITIAL_MS: '100' });
  const kafka = createKafka(config);
  const topic = randomName('it-dlq');
  const schema = randomName('it_dlq').replace(/-/g, '_');
  const name = randomName('it-dlq-counter');
  let admin: Admin;
  let producer: Producer;
  let pool: pg.Pool;
  let host: ProcessorHost;

  const tardy = (id: string, student: string, minutesLate: number) =>
    buildEvent(
      'tardiness.recorded',
      { tardinessId: id, studentUserId: student, sectionId: 'SEC-1', date: '2025-03-18', minutesLate, recordedBy: 'USR-T-1' },
      { sourceService: 'it', clock: systemClock },
    );
  const totals = async (): Promise<Record<string, number>> => {
    const r = await pool.query<{ student: string; events: string }>(`select student, events from "${schema}".counters order by student`);
    return Object.fromEntries(r.rows.map((x) => [x.student, Number(x.events)]));
  };

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [topic, dlqTopic(topic), parkedTopic(topic)].map((t) => ({ topic: t, numPartitions: 1 })),
    });
    producer = createEventProducer(kafka);
    await producer.connect();
    pool = createPgPool(config);
    await createCounterTable(pool, schema);
    await pool.query(`insert into "${schema}".blocked values ('USR-BLOCKED')`);
    host = new ProcessorHost([pgCounter(name, topic)], config, createLogger(config, 'it'), { opsPort: 0, pgSchema: () => schema });
    await host.start();
  });
  after(async () => {
    await host.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, dlqTopic(topic), parkedTopic(topic)] });
    await admin.disconnect();
    await pool.query(`drop schema "${schema}" cascade`);
    await pool.end();
  });

  it('lists what failed, redrives a fixed one (applied once even if redriven twice), parks one that keeps failing', async () => {
    const publisher = new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic);
    const blocked = tardy('T-2', 'USR-BLOCKED', 5);
    const broken = tardy('T-4', 'USR-2', -1);
    await publisher.publish(tardy('T-1', 'USR-0', 1), blocked, tardy('T-3', 'USR-1', 2), broken);
    await eventually(async () => ((await totals())['USR-1'] === 1 ? true : undefined), 'the good records', 30000);

    const letters = await readDeadLetters(kafka, [dlqTopic(topic)]);
    expect(letters.map((d) => [d.eventId, d.errorClass, d.sourceTopic])).to.deep.equal([
      [blocked.eventId, 'RuleViolationError', topic],
      [broken.eventId, 'RuleViolationError', topic],
    ]);
    expect(letters.filter((d) => matches(d, { errorClass: 'WireFormatError' }))).to.deep.equal([]);
    expect(letters.filter((d) => matches(d, { since: new Date(Date.now() + 60000) }))).to.deep.equal([]);
    expect(letters.filter((d) => matches(d, { eventType: 'tardiness.recorded', sourceTopic: topic }))).to.have.length(2);

    // The cause is fixed; redrive twice (an operator's double click): applied once.
    await pool.query(`delete from "${schema}".blocked`);
    await redrive(producer, [letters[0]!], { ratePerSecond: 100 });
    await redrive(producer, [letters[0]!], { ratePerSecond: 100 });
    await eventually(async () => ((await totals())['USR-BLOCKED'] === 1 ? true : undefined), 'the redriven record', 30000);

    // A record that fails every time: after DLQ_MAX_REDRIVES redrives it is parked, not looped.
    let current = letters[1]!;
    for (let n = 1; n <= 2; n++) {
      await redrive(producer, [current], { ratePerSecond: 100 });
      const target = n < 2 ? dlqTopic(topic) : parkedTopic(topic);
      current = await eventually(
        async () => (await readDeadLetters(kafka, [target])).find((d) => d.eventId === broken.eventId && d.redriveCount === n),
        `redrive ${n} to fail into ${target}`,
        30000,
      );
      expect(current.headers['redrive.from']?.toString()).to.match(new RegExp(`^${dlqTopic(topic)}:0:\\d+$`));
    }
    // Every redrive of the fixed record was a duplicate by eventId: still applied exactly once.
    expect(await totals()).to.deep.equal({ 'USR-0': 1, 'USR-1': 1, 'USR-BLOCKED': 1 });
  });
});
