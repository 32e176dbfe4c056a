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
import { matches, readDeadLetters, redrive, type DeadLetterFilter } from './dlq';
import { ProcessorHost } from './host';
import { createCounterTable, pgCounter } from './testing/counter';

describe('dead-letter tooling: list, filter, redrive, park (real stack)', function () {
  this.timeout(120000);
  const config = testConfig({ DLQ_MAX_REDRIVES: '2', RUNTIME_RETRY_INITIAL_MS: '100' });
  const kafka = createKafka(config);
  const topic = randomName('it-dlq');
  const topic2 = randomName('it-dlq2'); // a second source, so the sourceTopic filter has something to leave out
  const topics = [topic, topic2].flatMap((t) => [t, dlqTopic(t), parkedTopic(t)]);
  const schema = randomName('it_dlq').replace(/-/g, '_');
  const schema2 = `${schema}_2`; // the second source's processor: its own schema, as every processor has
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
      topics: topics.map((t) => ({ topic: t, numPartitions: 1 })),
    });
    producer = createEventProducer(kafka);
    await producer.connect();
    pool = createPgPool(config);
    await createCounterTable(pool, schema);
    await createCounterTable(pool, schema2);
    await pool.query(`insert into "${schema}".blocked values ('USR-BLOCKED')`);
    host = new ProcessorHost([pgCounter(name, topic), pgCounter(`${name}-2`, topic2)], config, createLogger(config, 'it'), {
      opsPort: 0,
      pgSchema: (d) => (d.name === name ? schema : schema2),
    });
    await host.start();
  });
  after(async () => {
    await host.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics });
    await admin.disconnect();
    await pool.query(`drop schema "${schema}" cascade; drop schema "${schema2}" cascade`);
    await pool.end();
  });

  it('lists what failed, filters it, redrives a fixed one (applied once even if redriven twice), parks one that keeps failing', async () => {
    const codec = new EventCodec(createSchemaRegistry(config));
    const publisher = new EventPublisher(producer, codec, () => topic);
    // First wave: two rule violations on `topic`.
    const blocked = tardy('T-2', 'USR-BLOCKED', 5);
    const broken = tardy('T-4', 'USR-2', -1);
    await publisher.publish(tardy('T-1', 'USR-0', 1), blocked, tardy('T-3', 'USR-1', 2), broken);
    await eventually(async () => ((await totals())['USR-1'] === 1 ? true : undefined), 'the good records', 30000);
    const dlqs = [dlqTopic(topic), dlqTopic(topic2)];
    await eventually(async () => ((await readDeadLetters(kafka, dlqs)).length === 2 ? true : undefined), 'the first wave dead-lettered');
    const between = new Date();
    // Second wave, moved after `between`: a rule violation on `topic2`, and two records that are not Avro at all
    // (wire-format errors): one from a foreign producer (no eventType header), one whose header names the handled
    // type. A third garbage record names a type the processor does not handle: it is skipped from the header
    // without decoding, never dead-lettered (same key as GARBAGE-2, so it is consumed before it).
    const other = tardy('T-5', 'USR-OTHER', -1);
    await new EventPublisher(producer, codec, () => topic2).publish(other);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'G-1', value: Buffer.from('not avro'), headers: { eventId: 'GARBAGE-1' } },
        { key: 'G-2', value: Buffer.from('not avro'), headers: { eventType: 'grade.recorded', eventId: 'GARBAGE-3' } },
        { key: 'G-2', value: Buffer.from('not avro'), headers: { eventType: 'tardiness.recorded', eventId: 'GARBAGE-2' } },
      ],
    });
    const letters = await eventually(async () => {
      const all = await readDeadLetters(kafka, dlqs);
      return all.length === 5 ? all : undefined;
    }, 'the second wave dead-lettered');

    const byId = (id: string | undefined) => letters.find((d) => d.eventId === id)!;
    expect([blocked, broken, other].map((e) => [byId(e.eventId).errorClass, byId(e.eventId).sourceTopic])).to.deep.equal([
      ['RuleViolationError', topic],
      ['RuleViolationError', topic],
      ['RuleViolationError', topic2],
    ]);
    expect(['GARBAGE-1', 'GARBAGE-2'].map((id) => byId(id).errorClass)).to.deep.equal(['WireFormatError', 'WireFormatError']);
    // Each filter keeps a proper, non-empty part of the five, and exactly that part.
    const selected = (f: DeadLetterFilter): string[] =>
      letters
        .filter((d) => matches(d, f))
        .map((d) => d.eventId!)
        .sort();
    const ids = (...xs: Array<string | { eventId: string }>): string[] => xs.map((x) => (typeof x === 'string' ? x : x.eventId)).sort();
    expect(selected({ errorClass: 'WireFormatError' })).to.deep.equal(ids('GARBAGE-1', 'GARBAGE-2'));
    expect(selected({ errorClass: 'RuleViolationError' })).to.deep.equal(ids(blocked, broken, other));
    expect(selected({ eventType: 'tardiness.recorded' })).to.deep.equal(ids(blocked, broken, other, 'GARBAGE-2'));
    expect(letters.map((d) => d.eventId)).not.to.include('GARBAGE-3');
    expect(selected({ sourceTopic: topic2 })).to.deep.equal(ids(other));
    expect(selected({ sourceTopic: topic })).to.deep.equal(ids(blocked, broken, 'GARBAGE-1', 'GARBAGE-2'));
    expect(selected({ since: between })).to.deep.equal(ids(other, 'GARBAGE-1', 'GARBAGE-2'));
    expect(selected({ until: between })).to.deep.equal(ids(blocked, broken));
    expect(selected({ since: between, eventType: 'tardiness.recorded', sourceTopic: topic })).to.deep.equal(ids('GARBAGE-2'));

    // The cause is fixed; redrive twice (an operator's double click): applied once.
    await pool.query(`delete from "${schema}".blocked`);
    await redrive(producer, [byId(blocked.eventId)], { ratePerSecond: 100 });
    await redrive(producer, [byId(blocked.eventId)], { ratePerSecond: 100 });
    await eventually(async () => ((await totals())['USR-BLOCKED'] === 1 ? true : undefined), 'the redriven record', 30000);

    // A record that fails every time: after DLQ_MAX_REDRIVES redrives it is parked, not looped.
    let current = byId(broken.eventId);
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
