import { expect } from 'chai';
import crypto from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import type pg from 'pg';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { createLogger } from '../lib/logger';
import { openKeyStore, SubjectErasedError, type PgDataKeyStore } from '../lib/privacy';
import { eventually, randomName, testConfig } from '../test/support';
import { EventCodec } from './codec';
import { buildEvent } from './envelope';
import { ErasureWatch } from './erasure-watch';
import { createEventProducer, EventPublisher } from './publisher';
import { systemClock } from '../lib/clock';

/**
 * The key cache eviction of issue 21 on the real broker and key store: a process that cached a person's key
 * (process A) keeps decrypting them after another process (B) erased them, until the erasure event reaches A's
 * ErasureWatch; then A reads the tombstone at once, long before PRIVACY_KEY_CACHE_TTL_MS.
 */
describe('ErasureWatch: an erasure event evicts the key from another process’s cache (real Kafka, PostgreSQL)', function () {
  this.timeout(60000);
  const keySchema = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
  const config = testConfig({ PRIVACY_SCHEMA: keySchema, PRIVACY_KEY_CACHE_TTL_MS: String(3_600_000) });
  const kafka = createKafka(config);
  const topic = randomName('it-erasure.user-events');
  let pool: pg.Pool;
  let admin: Admin;
  let producer: Producer;
  let a: PgDataKeyStore;
  let b: PgDataKeyStore;
  let watch: ErasureWatch;
  const evicted: string[] = [];

  before(async () => {
    pool = createPgPool(config, { max: 4 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    producer = createEventProducer(kafka);
    await producer.connect();
    a = await openKeyStore(config, pool);
    b = await openKeyStore(config, pool);
    watch = new ErasureWatch({
      kafka,
      forget: (s) => (a.forget(s), evicted.push(s)),
      logger: createLogger(config, 'erasure-watch-it'),
      topic,
      groupPrefix: 'it',
    });
    await watch.start();
  });
  after(async () => {
    await watch?.stop();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await pool?.query(`drop schema if exists "${keySchema}" cascade`);
    await pool?.end();
  });

  it('A decrypts from its cache after B erased, and reads the tombstone as soon as the event arrives', async () => {
    const subject = `USR-IT-${crypto.randomBytes(4).toString('hex')}`;
    const bystander = `USR-IT-${crypto.randomBytes(4).toString('hex')}`;
    const key = await a.keyForWriting(subject);
    await a.keyForWriting(bystander);
    expect(await b.erase(subject)).to.equal(true);
    // Before the event, A's cached key still opens (the TTL is an hour here): what the event is for.
    expect((await a.keyForReading(subject, key.keyId)).keyId).to.equal(key.keyId);
    const publisher = new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic);
    // Another event type on the topic, keyed by the bystander: not an erasure, nothing evicted.
    await publisher.publish(
      buildEvent(
        'user.role.changed',
        { userId: bystander, previousRoles: [], newRoles: ['STUDENT'] },
        { sourceService: 'it', clock: systemClock },
      ),
    );
    await publisher.publish(
      buildEvent(
        'user.personal-data.erased',
        { userId: subject, erasedBy: 'ADM-1', reason: null },
        { sourceService: 'it', clock: systemClock },
      ),
    );
    await eventually(() => Promise.resolve(evicted.includes(subject) ? true : undefined), 'the eviction');
    expect(evicted).to.deep.equal([subject]);
    let error: unknown;
    await a.keyForReading(subject, key.keyId).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(SubjectErasedError);
    expect((await a.keyForWriting(bystander)).subject).to.equal(bystander); // others stay cached and usable
  });
});
