import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { expect } from 'chai';
import crypto from 'node:crypto';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import pg from 'pg';
import { fixedClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { openKeyStore } from '../lib/privacy';
import { randomName, testConfig } from '../test/support';
import { readAll } from '../test/support/kafka';
import { configuredKekBase64 } from '../test/support/privacy';
import { EventCodec } from './codec';
import { codecKeys } from './codec-keys';
import { ERASED_MARKER, EventDecryptor, isEncryptedString, PersonalFieldUnreadableError } from './decryptor';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { createEventProducer, EventPublisher } from './publisher';

type Rec = Record<string, unknown> & { payload: Record<string, unknown>; metadata: Record<string, unknown> };

/**
 * A downstream team's consumer (issue 21 item 4) on the real stack: plain kafkajs and the stock
 * @kafkajs/confluent-schema-registry decode (none of our codec), then EventDecryptor with key access, through a
 * PostgreSQL role that may only SELECT the key table.
 */
describe('EventDecryptor on the real stack: a plain kafkajs consumer with key access', function () {
  this.timeout(60000);
  const keySchema = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
  const readerRole = `decryptor_ro_${crypto.randomBytes(5).toString('hex')}`;
  const config = testConfig({ PRIVACY_SCHEMA: keySchema, PRIVACY_ENCRYPT: 'true' });
  const topic = randomName('it-decryptor.user-events');
  const rand = crypto.randomBytes(4).toString('hex');
  const userId = `USR-IT-DEC-${rand}`;
  const secrets = { firstName: `Ysolde${rand}`, lastName: `Marquan${rand}`, email: `ym.${rand}@example.org`, phone: `+34 611 ${rand}` };
  const ip = '198.51.100.77';
  const downstream = new Kafka({ clientId: 'downstream-team', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const registry = new SchemaRegistry({ host: config.registry.url.replace(/\/$/, '') });
  let pool: pg.Pool;
  let readerPool: pg.Pool;
  let admin: Admin;
  let producer: Producer;
  let bytes: Buffer;

  before(async () => {
    pool = createPgPool(config, { max: 3 });
    admin = createKafka(config).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    producer = createEventProducer(createKafka(config));
    await producer.connect();
    const event = buildEvent(
      'user.created',
      { ...EXAMPLE_PAYLOADS['user.created'], userId, ...secrets, birthDate: '2013-11-20' },
      { sourceService: 'it', clock: fixedClock('2025-03-15T08:30:00.000Z'), metadata: { triggeredBy: 'USR-ADMIN-001', ipAddress: ip } },
    );
    // Published the way the API publishes: our codec with the key store, encrypting.
    await new EventPublisher(producer, new EventCodec(createSchemaRegistry(config), await codecKeys(config, pool)), () => topic).publish(
      event,
    );
    // The downstream team's database role: SELECT on the key table, nothing else.
    await pool.query(`create role ${readerRole} login`);
    await pool.query(`grant usage on schema "${keySchema}" to ${readerRole}`);
    await pool.query(`grant select on "${keySchema}".data_keys to ${readerRole}`);
    const url = new URL(config.pg.url);
    url.username = readerRole;
    url.password = '';
    readerPool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    const [record] = await readAll(downstream, topic, 1);
    bytes = record!.value!;
  });
  after(async () => {
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await readerPool?.end();
    await pool?.query(`drop schema if exists "${keySchema}" cascade`);
    await pool?.query(`drop role if exists ${readerRole}`);
    await pool?.end();
  });

  /** What a stock consumer decodes: personal fields are the EncryptedString branch. */
  const stockDecode = async (): Promise<Rec> => (await registry.decode(bytes)) as Rec;

  it('without key access the fields are EncryptedString; with it, exactly what was published', async () => {
    const record = await stockDecode();
    for (const f of ['firstName', 'lastName', 'email', 'phone', 'birthDate'])
      expect(isEncryptedString(record.payload[f]), f).to.equal(true);
    expect(isEncryptedString(record.metadata.ipAddress)).to.equal(true);

    const decryptor = EventDecryptor.connect({ pool: readerPool, kek: configuredKekBase64(config), schema: keySchema });
    const out = await decryptor.decrypt(record);
    expect(out.payload).to.deep.include({ userId, ...secrets, birthDate: '2013-11-20' });
    expect(out.metadata).to.deep.include({ triggeredBy: 'USR-ADMIN-001', ipAddress: ip });
  });

  it('another KEK: PERSONAL_FIELD_UNREADABLE, naming the KEK the data key is wrapped by', async () => {
    const wrong = EventDecryptor.connect({ pool: readerPool, kek: crypto.randomBytes(32).toString('base64'), schema: keySchema });
    const err = await wrong.decrypt(await stockDecode()).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PersonalFieldUnreadableError).and.include({ retriable: false });
    // Each wrapped key names its KEK's id (a fingerprint): another KEK is refused before any unwrap is tried.
    expect((err as Error).message).to.include('PRIVACY_KEK_UNKNOWN');
  });

  it('after erasure: a fresh decryptor reads the marker, a running one as soon as it is told (forget)', async () => {
    const running = EventDecryptor.connect({ pool: readerPool, kek: configuredKekBase64(config), schema: keySchema, cacheTtlMs: 0 });
    expect((await running.decrypt(await stockDecode())).payload.firstName).to.equal(secrets.firstName); // key now cached
    expect(await (await openKeyStore(config, pool)).erase(userId)).to.equal(true);

    const fresh = EventDecryptor.connect({ pool: readerPool, kek: configuredKekBase64(config), schema: keySchema });
    const erased = { firstName: ERASED_MARKER, lastName: ERASED_MARKER, email: ERASED_MARKER, phone: ERASED_MARKER, birthDate: null };
    expect((await fresh.decrypt(await stockDecode())).payload).to.deep.include({ userId, ...erased });
    expect((await fresh.decrypt(await stockDecode())).metadata.ipAddress).to.equal(ip); // the admin's key is not erased

    expect((await running.decrypt(await stockDecode())).payload.firstName).to.equal(secrets.firstName); // cached: the TTL bounds it
    running.forget(userId); // what a consumer of user.personal-data.erased does
    expect((await running.decrypt(await stockDecode())).payload).to.deep.include(erased);
  });
});
