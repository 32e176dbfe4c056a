import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import type { Admin, KafkaMessage, Producer } from 'kafkajs';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createKafka } from '../../lib/clients/kafka';
import { createPgPool } from '../../lib/clients/pg';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { createLogger } from '../../lib/logger';
import { openKeyStore, type PgDataKeyStore } from '../../lib/privacy';
import { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER, isEncryptedString } from '../../schemas/personal-fields';
import { createEventProducer, EventPublisher } from '../../schemas/publisher';
import { randomName, testConfig } from '../../test/support';
import { readAll } from '../../test/support/kafka';
import { reencryptTopic, type ReencryptResult } from './reencrypt';

type Read = KafkaMessage & { topic: string; partition: number };

/** The records of a partition in offset order, as compared between source and copy. */
const byPartition = (records: Read[]): Map<number, Read[]> => {
  const out = new Map<number, Read[]>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset)))
    out.set(r.partition, [...(out.get(r.partition) ?? []), r]);
  return out;
};

/** The migration path of plaintext topics (issue 21): a copy with personal fields sealed, on the real stack. */
describe('privacy:reencrypt copies a plaintext topic with its personal fields sealed (real Kafka, registry, PostgreSQL keys)', function () {
  this.timeout(120000);
  const keySchema = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
  const config = testConfig({ PRIVACY_SCHEMA: keySchema });
  const kafka = createKafka(config);
  const logger = createLogger(config, 'it');
  const from = randomName('it-reenc.user-events');
  const to = `${from}.sealed`;
  const rand = crypto.randomBytes(4).toString('hex');
  const people = [0, 1, 2].map((i) => ({
    userId: `USR-RE-${rand}-${i}`,
    email: `p${i}.${rand}@example.org`,
    lastName: `Vrell${rand}${i}`,
  }));
  const erased = people[2]!;
  let pool: pg.Pool;
  let admin: Admin;
  let producer: Producer;
  let store: PgDataKeyStore;
  const sent: SchoolEvent[] = [];

  const codec = (o: ConstructorParameters<typeof EventCodec>[1]): EventCodec => new EventCodec(createSchemaRegistry(config), o);
  const copy = (): Promise<ReencryptResult> =>
    reencryptTopic({ from, to, codec: codec({ encryptor: store }), kafka, admin, producer, logger });

  before(async () => {
    pool = createPgPool(config, { max: 4 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: from, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
    });
    producer = createEventProducer(kafka);
    await producer.connect();
    store = await openKeyStore(config, pool);
    // Written before encryption: a codec without an encryptor, as PRIVACY_ENCRYPT=false (or an older release) wrote.
    const plain = new EventCodec(createSchemaRegistry(config));
    for (const p of people)
      sent.push(
        buildEvent(
          'user.created',
          { ...EXAMPLE_PAYLOADS['user.created'], ...p, phone: `+34 600 ${rand}` },
          { sourceService: 'it', clock: systemClock },
        ),
        buildEvent('user.deactivated', { userId: p.userId, reason: 'moved away' }, { sourceService: 'it', clock: systemClock }),
      );
    await new EventPublisher(producer, plain, () => from).publish(...sent);
    // A poison record in the source, and one the current release already wrote encrypted.
    await producer.send({ topic: from, messages: [{ key: people[0]!.userId, value: Buffer.from('not an avro record') }] });
    const late = buildEvent(
      'user.updated',
      { ...EXAMPLE_PAYLOADS['user.updated'], userId: people[1]!.userId },
      { sourceService: 'it', clock: systemClock },
    );
    sent.push(late);
    await new EventPublisher(producer, codec({ encryptor: store }), () => from).publish(late);
    await store.erase(erased.userId); // erased after it was written in plaintext: the copy must not carry it on
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [from, to] }).catch(() => undefined);
    await admin?.disconnect();
    await pool?.query(`drop schema if exists "${keySchema}" cascade`);
    await pool?.end();
  });

  it('same partitions, order, keys, headers and timestamps; no plaintext left; readers with keys see the same events; a rerun copies nothing twice', async () => {
    const total = sent.length + 1;
    const result = await copy();
    // Each person's user.created and user.deactivated (its reason is free text) sealed; the encrypted update as it was.
    expect(result).to.deep.equal({ rewritten: 2 * people.length, unchanged: 1, raw: 1, skipped: 0 });

    const [source, target] = [byPartition(await readAll(kafka, from, total)), byPartition(await readAll(kafka, to, total))];
    expect([...target.keys()].sort()).to.deep.equal([...source.keys()].sort());
    const open = codec({ decryptor: await openKeyStore(config, pool) }); // a fresh store: nothing cached
    const keyless = codec({ autoRegister: false });
    for (const [partition, records] of source) {
      const copied = target.get(partition)!;
      expect(
        copied.map((r) => [r.key?.toString(), r.timestamp]),
        `partition ${partition}`,
      ).to.deep.equal(records.map((r) => [r.key?.toString(), r.timestamp]));
      for (const [i, r] of records.entries()) {
        const c = copied[i]!;
        expect(Object.keys(c.headers ?? {})).to.deep.equal(Object.keys(r.headers ?? {}));
        if (r.value!.toString() === 'not an avro record') {
          expect(c.value!.equals(r.value!), 'the poison record, byte for byte').to.equal(true);
          continue;
        }
        // No plaintext of anyone's personal data in the copy.
        for (const p of people) {
          expect(c.value!.includes(Buffer.from(p.email)), `${p.email} in the copy`).to.equal(false);
          expect(c.value!.includes(Buffer.from(p.lastName)), `${p.lastName} in the copy`).to.equal(false);
        }
        const [was, now] = [(await open.decode(r.value!)).event, (await open.decode(c.value!)).event];
        // What a processor with keys reads from the copy: the same event (so the same projections, rebuilt from
        // it), except that the erased person's plaintext became the marker.
        const about = 'userId' in was.payload ? String(was.payload.userId) : '';
        if (about === erased.userId && was.eventType === 'user.created')
          expect(now.payload).to.deep.include({ userId: erased.userId, email: ERASED_MARKER, lastName: ERASED_MARKER, birthDate: null });
        else if (about === erased.userId) expect(now.payload).to.deep.include({ userId: erased.userId, reason: ERASED_MARKER });
        else expect(JSON.parse(JSON.stringify(now))).to.deep.equal(JSON.parse(JSON.stringify(was)));
        // What a reader without keys sees: live people's fields are sealed.
        const sealed = (await keyless.decode(c.value!)).event;
        if (sealed.eventType === 'user.created' && about !== erased.userId)
          for (const f of ['firstName', 'lastName', 'email', 'phone', 'birthDate'] as const)
            expect(isEncryptedString(sealed.payload[f]), `${about} ${f}`).to.equal(true);
      }
    }

    // Resumable: a second run finds everything copied.
    expect(await copy()).to.deep.equal({ rewritten: 0, unchanged: 0, raw: 0, skipped: total });
    const ends = await admin.fetchTopicOffsets(to);
    expect(ends.reduce((n, p) => n + Number(p.high), 0)).to.equal(total);
  });

  it('npm run privacy:reencrypt: usage errors exit 2 with one line; a missing source is named', () => {
    const cli = (...args: string[]) =>
      spawnSync('npm', ['run', '-s', 'privacy:reencrypt', '--', ...args], {
        encoding: 'utf8',
        env: { ...process.env, PRIVACY_SCHEMA: keySchema, LOG_LEVEL: 'error' },
        timeout: 60000,
      });
    const none = cli('--from', from);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.include('give --from <topic> and --to <topic>');
    expect(cli('--from', from, '--to', from).stderr).to.include('cannot be rewritten in place');
    const missing = cli('--from', `${from}-missing`, '--to', `${to}-x`);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.include(`topic ${from}-missing does not exist`);
    expect(missing.stderr).to.not.match(/\n\s+at /); // no stack trace
  });
});
