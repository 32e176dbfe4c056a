import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import type pg from 'pg';
import { fixedClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { randomName, testConfig } from '../test/support';
import { configuredKekBase64 } from '../test/support/privacy';
import { EventCodec } from './codec';
import { codecKeys } from './codec-keys';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_DEFINITIONS, EVENT_TYPES, type SchoolEvent } from './generated/events';
import { ERASED_MARKER, personalSlots } from './personal-fields';
import { createEventProducer, EventPublisher, type OutboundRecord } from './publisher';

/**
 * A client we did not write decodes what we publish: Python confluent-kafka's stock
 * AvroDeserializer, configured with nothing but the broker and the registry URL.
 * Its virtualenv is made once under the stack cache from scripts/foreign-client/requirements.txt.
 */
const ROOT = path.resolve(__dirname, '..');
/** A Buffer as JSON.stringify hands it to a replacer. */
const isBuffer = (v: unknown): v is { type: 'Buffer'; data: number[] } =>
  typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);

function ensureVenv(cacheDir: string): string {
  const req = path.join(ROOT, 'scripts/foreign-client/requirements.txt');
  const venv = path.join(cacheDir, 'pyvenv-foreign-client');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.requirements');
  const wanted = fs.readFileSync(req, 'utf8');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python;
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (python3 with venv and pip is a prerequisite of this test):\n${r.stderr}`);
  };
  run('python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '-q', '-r', req]);
  fs.writeFileSync(stamp, wanted);
  return python;
}

describe('a foreign client (Python confluent-kafka AvroDeserializer) decodes our records', function () {
  this.timeout(300000);
  const config = testConfig();
  const kafka = createKafka(config);
  const topic = randomName('e2e-foreign');
  const encryptedTopic = randomName('e2e-foreign-encrypted');
  let admin: Admin;
  let producer: Producer;
  let python: string;

  before(async () => {
    python = ensureVenv(config.stack.cacheDir);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [topic, encryptedTopic].map((t) => ({ topic: t, numPartitions: 1 })) });
    producer = createEventProducer(kafka);
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, encryptedTopic] });
    await admin.disconnect();
  });

  type Printed = { key: string; headers: Record<string, string>; value: unknown };
  /** Runs one of scripts/foreign-client/ on the first `count` records of a topic. */
  const foreign = (script: string, from: string, count: number, env: NodeJS.ProcessEnv = {}) =>
    spawnSync(
      python,
      [path.join(ROOT, 'scripts/foreign-client', script), config.kafka.brokers.join(','), config.registry.url, from, String(count)],
      { encoding: 'utf8', timeout: 120000, env: { ...process.env, ...env } },
    );
  const printed = (stdout: string): Printed[] =>
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Printed);
  /** What the stock Python client printed for each record of a topic. */
  const foreignDecode = (from: string, count: number): Printed[] => {
    const r = foreign('decode.py', from, count);
    expect(r.status, r.stderr).to.equal(0);
    return printed(r.stdout);
  };

  it('every event type, field for field', async () => {
    const clock = fixedClock('2025-03-15T08:30:00.123Z');
    const events = EVENT_TYPES.map((t) => buildEvent(t, EXAMPLE_PAYLOADS[t], { sourceService: 'e2e', clock }));
    await new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic).publish(...events);
    const decoded = foreignDecode(topic, events.length);
    expect(decoded).to.have.length(events.length);
    decoded.forEach((d, i) => {
      const e = events[i]!;
      expect(d.key).to.equal(e.aggregateId);
      expect(d.headers.eventType).to.equal(e.eventType);
      expect(d.value).to.deep.equal(JSON.parse(JSON.stringify(e)));
    });
  });

  it('the Python decryptor’s byte layouts are the documented test vector (which the TypeScript unit test checks against lib/privacy)', () => {
    const r = spawnSync(python, ['check_vector.py', path.join(ROOT, 'docs/privacy-decryptor.md')], {
      cwd: path.join(ROOT, 'scripts/foreign-client'),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('ok');
  });

  describe('with personal fields encrypted (PRIVACY_ENCRYPT), every event type and one person erased after publishing', () => {
    const keySchema = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
    const keysConfig = testConfig({ PRIVACY_SCHEMA: keySchema, PRIVACY_ENCRYPT: 'true' });
    const erasedUser = `USR-E2E-ERASED-${crypto.randomBytes(4).toString('hex')}`;
    const metadata = { triggeredBy: 'USR-ADMIN-001', ipAddress: '203.0.113.9', userAgent: 'e2e/1.0' };
    let pool: pg.Pool;
    let events: SchoolEvent[];
    let records: OutboundRecord[];
    /** Key access as a downstream team gets it: the KEK, the PostgreSQL URL and the key table's schema. */
    const keyAccess = (): NodeJS.ProcessEnv => ({
      PRIVACY_KEK: configuredKekBase64(config),
      PG_URL: config.pg.url,
      PRIVACY_SCHEMA: keySchema,
    });

    before(async () => {
      pool = createPgPool(keysConfig, { max: 2 });
      const clock = fixedClock('2025-03-15T08:30:00.123Z');
      const erased = buildEvent(
        'user.created',
        { ...EXAMPLE_PAYLOADS['user.created'], userId: erasedUser, phone: '+34 622 000 111', birthDate: '2012-09-30' },
        { sourceService: 'e2e', clock, metadata },
      );
      events = [...EVENT_TYPES.map((t) => buildEvent(t, EXAMPLE_PAYLOADS[t], { sourceService: 'e2e', clock, metadata })), erased];
      const keys = await codecKeys(keysConfig, pool);
      const publisher = new EventPublisher(producer, new EventCodec(createSchemaRegistry(config), keys), () => encryptedTopic);
      records = await publisher.encode(...events);
      await publisher.send(records);
      expect(await keys.store.erase(erasedUser)).to.equal(true);
    });
    after(async () => {
      await pool?.query(`drop schema if exists "${keySchema}" cascade`);
      await pool?.end();
    });

    it('without key access (the stock client): the same record our keyless codec sees, each personal value an EncryptedString', async () => {
      const decoded = foreignDecode(encryptedTopic, events.length);
      expect(decoded).to.have.length(events.length);
      const keyless = new EventCodec(createSchemaRegistry(config), { autoRegister: false });
      const asJson = (x: unknown): unknown =>
        JSON.parse(JSON.stringify(x, (_k, v: unknown) => (isBuffer(v) ? Buffer.from(v.data).toString('base64') : v)));
      let encrypted = 0;
      for (const [i, d] of decoded.entries()) {
        const e = events[i]!;
        const sealed = (await keyless.decode(records[i]!.value)).event;
        expect(d.key).to.equal(e.aggregateId);
        expect(d.value).to.deep.equal(asJson(sealed), e.eventType);
        const value = d.value as Record<string, Record<string, unknown>>;
        for (const s of personalSlots(EVENT_DEFINITIONS[e.eventType].schema)) {
          const v = value[s.path[0]!]![s.path[1]!];
          const items = s.shape === 'array' ? (v as unknown[]) : s.shape === 'map' ? Object.values(v as object) : [v];
          for (const item of items.filter((x) => x !== null && s.subjectPath)) {
            expect(item).to.have.all.keys('keyId', 'subject', 'iv', 'ciphertext', 'tag');
            encrypted++;
          }
        }
      }
      expect(encrypted).to.be.above(EVENT_TYPES.length * 2); // every event's IP and user agent, plus the payloads'
    });

    it('with key access (scripts/foreign-client/decryptor.py): every event exactly as published; the erased person as the marker', () => {
      const r = foreign('decrypt.py', encryptedTopic, events.length, keyAccess());
      expect(r.status, r.stderr).to.equal(0);
      const decrypted = printed(r.stdout);
      expect(decrypted).to.have.length(events.length);
      decrypted.slice(0, -1).forEach((d, i) => expect(d.value, events[i]!.eventType).to.deep.equal(JSON.parse(JSON.stringify(events[i]))));
      const last = decrypted[decrypted.length - 1]!.value as Record<string, Record<string, unknown>>;
      expect(last.payload).to.deep.include({
        userId: erasedUser,
        firstName: ERASED_MARKER,
        lastName: ERASED_MARKER,
        email: ERASED_MARKER,
        phone: ERASED_MARKER,
        birthDate: null,
      });
      expect(last.metadata).to.deep.include(metadata); // the admin's key was not erased
    });

    it('another KEK is refused, naming the KEK; without a KEK or database URL the decryptor does not run', () => {
      const wrong = foreign('decrypt.py', encryptedTopic, events.length, {
        ...keyAccess(),
        PRIVACY_KEK: crypto.randomBytes(32).toString('base64'),
      });
      expect(wrong.status, wrong.stderr).to.equal(3);
      expect(wrong.stderr).to.include('PRIVACY_KEK_UNKNOWN');
      expect(wrong.stdout).to.equal(''); // not one record printed half-open
      const none = foreign('decrypt.py', encryptedTopic, events.length, { PRIVACY_KEK: '', PG_URL: '' });
      expect(none.status).to.equal(2);
    });
  });
});
