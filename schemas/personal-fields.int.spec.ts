import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import type pg from 'pg';
import { fixedClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { openKeyStore, type PgDataKeyStore } from '../lib/privacy';
import { eventually, randomName, testConfig } from '../test/support';
import { readAll, topicSize } from '../test/support/kafka';
import { EventCodec } from './codec';
import { codecKeys } from './codec-keys';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import type { SchoolEvent } from './generated/events';
import { ERASED_MARKER, isEncryptedString } from './personal-fields';
import { createEventProducer, EventPublisher } from './publisher';

/** The broker's log.dirs, as the local stack wrote them into its server.properties (deploy/local/services.ts). */
function kafkaLogDirs(stackDir: string): string[] {
  const props = fs.readFileSync(path.resolve(stackDir, 'kafka', 'server.properties'), 'utf8');
  const line = props.split('\n').find((l) => l.startsWith('log.dirs='));
  if (!line) throw new Error('no log.dirs in the stack’s server.properties');
  return line.slice('log.dirs='.length).trim().split(',');
}

/** Every byte of every segment file of a topic's partitions. */
function segmentBytes(logDirs: string[], topic: string): Buffer {
  const parts: Buffer[] = [];
  for (const dir of logDirs)
    for (const d of fs.readdirSync(dir).filter((x) => x.startsWith(`${topic}-`) && /^\d+$/.test(x.slice(topic.length + 1))))
      for (const f of fs.readdirSync(path.join(dir, d)).filter((x) => x.endsWith('.log')))
        parts.push(fs.readFileSync(path.join(dir, d, f)));
  return Buffer.concat(parts);
}

/** Personal fields encrypted on the wire through the real registry, PostgreSQL key store and Kafka (issue 21). */
describe('personal fields encrypted on the wire (real registry, PostgreSQL keys, Kafka segment files)', function () {
  this.timeout(60000);
  const keySchema = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
  const config = testConfig({ PRIVACY_SCHEMA: keySchema }); // PRIVACY_ENCRYPT as configured: on by default
  const kafka = createKafka(config);
  const topic = randomName('it-pii.user-events');
  const rand = crypto.randomBytes(4).toString('hex');
  const secrets = { firstName: `Zelind${rand}`, lastName: `Quarvo${rand}`, email: `zq.${rand}@example.org`, phone: `+34 699 ${rand}` };
  const userId = `USR-IT-${rand}`;
  let pool: pg.Pool;
  let admin: Admin;
  let producer: Producer;
  let writer: EventCodec;
  let store: PgDataKeyStore;

  before(async () => {
    pool = createPgPool(config, { max: 4 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    producer = createEventProducer(kafka);
    await producer.connect();
    writer = new EventCodec(createSchemaRegistry(config), await codecKeys(config, pool)); // the API's and processors' wiring
    store = await openKeyStore(config, pool);
  });
  after(async () => {
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await pool?.query(`drop schema if exists "${keySchema}" cascade`);
    await pool?.end();
  });

  const userCreated = (): SchoolEvent<'user.created'> =>
    buildEvent(
      'user.created',
      { ...EXAMPLE_PAYLOADS['user.created'], userId, ...secrets, birthDate: '2014-05-02' },
      {
        sourceService: 'it',
        clock: fixedClock('2025-03-15T08:30:00.000Z'),
        metadata: { triggeredBy: 'USR-ADMIN-001', ipAddress: '198.51.100.23' },
      },
    );

  it('PRIVACY_ENCRYPT is on by default: the codec the API and processors build encrypts', () => {
    expect(testConfig().privacy.encrypt).to.equal(true);
    expect(writer.encrypts).to.equal(true);
    expect(testConfig({ PRIVACY_ENCRYPT: 'false' }).privacy.encrypt).to.equal(false);
  });

  it('a produced user.created: the segment files hold no plaintext name, e-mail or phone; readers with keys see them, readers without see EncryptedString; erasure yields the marker', async () => {
    const event = userCreated();
    await new EventPublisher(producer, writer, () => topic).publish(event);
    const [record] = await readAll(kafka, topic, 1);

    // What the broker keeps on disk: the segment files of the topic's partitions.
    const dirs = kafkaLogDirs(config.stack.dir);
    const onDisk = await eventually(
      async () => {
        const bytes = segmentBytes(dirs, topic);
        return Promise.resolve(bytes.includes(Buffer.from(userId)) ? bytes : undefined); // the record is there (its key and ids)
      },
      `the record of ${userId} in the segment files of ${topic} under ${dirs.join(',')}`,
    );
    for (const [field, value] of Object.entries({ ...secrets, ipAddress: '198.51.100.23' }))
      expect(onDisk.includes(Buffer.from(value)), `${field} in plaintext on disk`).to.equal(false);
    expect(record!.value!.includes(Buffer.from(secrets.email))).to.equal(false);

    // A process with key access (the registry gives the writer schema, the key store the key).
    const decoded = (await new EventCodec(createSchemaRegistry(config), { decryptor: store }).decode(record!.value!)).event;
    expect(JSON.parse(JSON.stringify(decoded))).to.deep.equal(JSON.parse(JSON.stringify(event)));

    // A consumer without keys decodes the record too: personal fields are the EncryptedString values.
    const sealed = (await new EventCodec(createSchemaRegistry(config), { autoRegister: false }).decode(record!.value!))
      .event as SchoolEvent<'user.created'>;
    expect(sealed.payload.userId).to.equal(userId);
    for (const f of ['firstName', 'lastName', 'email', 'phone', 'birthDate'] as const)
      expect(isEncryptedString(sealed.payload[f]), f).to.equal(true);
    expect(sealed.payload.firstName).to.deep.include({ subject: userId });

    // Crypto-shredding: the key erased, every read of the fields is the marker (a fresh store: nothing cached).
    expect(await store.erase(userId)).to.equal(true);
    const fresh = await openKeyStore(config, pool);
    const afterErasure = (await new EventCodec(createSchemaRegistry(config), { decryptor: fresh }).decode(record!.value!))
      .event as SchoolEvent<'user.created'>;
    expect(afterErasure.payload).to.deep.include({
      userId,
      firstName: ERASED_MARKER,
      lastName: ERASED_MARKER,
      email: ERASED_MARKER,
      phone: ERASED_MARKER,
      birthDate: null,
    });
    expect(afterErasure.metadata.ipAddress).to.equal('198.51.100.23'); // the admin's own data: not erased
    // A writer about an erased person writes the marker, never the value. (A process that had the key cached
    // keeps it until user.personal-data.erased reaches its ErasureWatch: erasure-watch.int.spec.ts.)
    const again = await new EventCodec(createSchemaRegistry(config), { encryptor: fresh }).encode({
      ...userCreated(),
      eventId: crypto.randomUUID(),
    });
    expect(again.includes(Buffer.from(secrets.firstName))).to.equal(false);
    expect(again.includes(Buffer.from(ERASED_MARKER))).to.equal(true);
  });

  it('npm run privacy -- erase --user: the key is shredded, the record reads as the marker, a second erase says so', async () => {
    const other = `USR-IT-CLI-${crypto.randomBytes(4).toString('hex')}`;
    const event = { ...userCreated(), eventId: crypto.randomUUID(), payload: { ...userCreated().payload, userId: other } };
    const bytes = await writer.encode(event);
    const cli = (...args: string[]) =>
      spawnSync('npm', ['run', '-s', 'privacy', '--', ...args], {
        encoding: 'utf8',
        env: { ...process.env, PRIVACY_SCHEMA: keySchema, LOG_LEVEL: 'error' },
        timeout: 60000,
      });
    expect(cli('erase').status).to.equal(2); // --user is required
    expect(cli('erase', '--user', other, '--reason', 'BORED').status).to.equal(2);
    const before = await topicSize(kafka, topic);
    const r = cli('erase', '--user', other, '--reason', 'SUBJECT_REQUEST', '--topic', topic);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`erased the data key of ${other}`);
    const read = (await new EventCodec(createSchemaRegistry(config), { decryptor: await openKeyStore(config, pool) }).decode(bytes))
      .event as SchoolEvent<'user.created'>;
    expect(read.payload).to.deep.include({ userId: other, firstName: ERASED_MARKER, email: ERASED_MARKER, phone: ERASED_MARKER });
    const again = cli('erase', '--user', other, '--topic', topic);
    expect(again.stdout).to.include(`${other} was already erased`);
    // Both runs published the erasure event (a rerun is how a failed publish is retried), keyed by the person.
    const records = (await readAll(kafka, topic, before + 2)).filter((m) => m.key?.toString() === other);
    const events = await Promise.all(records.map(async (m) => (await writer.decode(m.value!)).event));
    expect(events.map((e) => e.eventType)).to.deep.equal(['user.personal-data.erased', 'user.personal-data.erased']);
    expect(events.map((e) => ({ ...(e as SchoolEvent<'user.personal-data.erased'>).payload }))).to.deep.include({
      userId: other,
      erasedBy: `cli:${os.userInfo().username}`,
      reason: 'SUBJECT_REQUEST',
    });
  });
});
