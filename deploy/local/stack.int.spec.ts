import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { MongoServerError, type MongoClient } from 'mongodb';
import type pg from 'pg';
import { createKafka } from '../../lib/clients/kafka';
import { createMongoClient } from '../../lib/clients/mongo';
import { createPgPool, pgUrlForDatabase, withPgClient } from '../../lib/clients/pg';
import { eventually, randomName, testConfig } from '../../test/support';
import { ensureKafka, KAFKA_VERSION } from './install';

/** Proves each server of the local stack is the real program, through the project's own clients. */
describe('local stack (real servers)', () => {
  const config = testConfig();

  describe('Kafka', () => {
    const kafka = createKafka(config);
    const topic = randomName('it-roundtrip');
    let admin: Admin;
    before(async () => {
      admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    });
    after(async () => {
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    });

    /** Runs one of Kafka's own admin tools (the jars the stack installed) against the broker and returns its output. */
    async function kafkaTool(mainClass: string, ...args: string[]): Promise<string> {
      const lib = ensureKafka(config.stack.cacheDir, () => undefined, version);
      const bootstrap = config.kafka.brokers.join(',');
      const { stdout } = await promisify(execFile)('java', ['-cp', `${lib}/*`, mainClass, '--bootstrap-server', bootstrap, ...args], {
        timeout: 60000,
      });
      return stdout;
    }

    /** The broker the stack runs: the pinned version, or STACK_KAFKA_VERSION (npm run test:kafka4). */
    const version = config.stack.kafkaVersion || KAFKA_VERSION;
    const minor = version.split('.').slice(0, 2).join('\\.');

    it(`is Apache Kafka ${version} in KRaft mode`, async () => {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).to.have.length(1);
      const nodeId = cluster.brokers[0]!.nodeId;
      expect(cluster.controller).to.equal(nodeId);
      // The version the broker's software supports at most, and the one its cluster runs (metadata.version exists only in KRaft).
      const features = await kafkaTool('org.apache.kafka.tools.FeatureCommand', 'describe');
      const metadata =
        /^Feature: metadata\.version\s+SupportedMinVersion: \S+\s+SupportedMaxVersion: (\S+)\s+FinalizedVersionLevel: (\S+)/m.exec(
          features,
        );
      expect(metadata, features).to.not.equal(null);
      expect(metadata![1], 'highest metadata.version the broker supports').to.match(new RegExp(`^${minor}-IV\\d+$`));
      expect(metadata![2], 'metadata.version the cluster runs').to.match(new RegExp(`^${minor}-IV\\d+$`));
      // KRaft: the broker answers DescribeQuorum, led by this very node; it has roles and no ZooKeeper.
      const quorum = await kafkaTool('org.apache.kafka.tools.MetadataQuorumCommand', 'describe', '--status');
      expect(quorum).to.match(new RegExp(`^ClusterId:\\s+${cluster.clusterId}$`, 'm'));
      expect(quorum).to.match(new RegExp(`^LeaderId:\\s+${nodeId}$`, 'm'));
      const [broker] = (
        await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.BROKER, name: String(nodeId), configNames: ['process.roles', 'zookeeper.connect'] }],
        })
      ).resources;
      const value = (name: string): string | null | undefined => broker?.configEntries.find((e) => e.configName === name)?.configValue;
      expect(value('process.roles')?.split(',').sort()).to.deep.equal(['broker', 'controller']);
      expect(value('zookeeper.connect') ?? null).to.equal(null);
    });

    it('round-trips a record through a topic', async () => {
      const producer = kafka.producer();
      const consumer = kafka.consumer({ groupId: randomName('it-group') });
      await producer.connect();
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        const seen: string[] = [];
        await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void seen.push(message.value?.toString() ?? '')) });
        await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
        await eventually(() => Promise.resolve(seen.length ? seen : undefined), 'the record to come back');
        expect(seen).to.deep.equal(['hello kafka']);
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
      }
    });
  });

  describe('schema registry (Apicurio, Confluent-compatible API)', () => {
    it('registers and fetches an Avro schema with @kafkajs/confluent-schema-registry', async () => {
      const registry = new SchemaRegistry({ host: config.registry.url });
      const subject = randomName('it-subject');
      const schema = JSON.stringify({ type: 'record', name: 'Ping', namespace: 'it', fields: [{ name: 'n', type: 'int' }] });
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
      const again = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
      expect(again.id).to.equal(id);
      const encoded = await registry.encode(id, { n: 42 });
      expect(encoded[0]).to.equal(0); // Confluent wire format magic byte
      expect(encoded.readInt32BE(1)).to.equal(id);
      expect({ ...(await registry.decode(encoded)) }).to.deep.equal({ n: 42 });
      const res = await fetch(`${config.registry.url}/subjects/${subject}`, { method: 'DELETE' });
      expect(res.status).to.equal(200);
    });
  });

  describe('MongoDB protocol (FerretDB)', () => {
    let client: MongoClient;
    const dbName = randomName('it');
    before(async () => {
      client = createMongoClient(config);
      await client.connect();
    });
    after(async () => {
      await client.db(dbName).dropDatabase();
      await client.close();
    });

    it('inserts, finds and enforces a unique index', async () => {
      const users = client.db(dbName).collection<{ _id: string; email: string }>('users');
      await users.createIndex({ email: 1 }, { unique: true });
      await users.insertOne({ _id: 'USR-1', email: 'a@school.test' });
      expect(await users.findOne({ _id: 'USR-1' })).to.deep.equal({ _id: 'USR-1', email: 'a@school.test' });
      const err = await users.insertOne({ _id: 'USR-2', email: 'a@school.test' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MongoServerError);
      expect((err as MongoServerError).code).to.equal(11000);
    });

    it('serves an _id lookup from an index on a collection created now (deploy/ferretdb/lookup-indexes.sql)', async () => {
      const docs = client.db(dbName).collection<{ _id: string; n: number }>('markers');
      await docs.insertMany(Array.from({ length: 5000 }, (_, n) => ({ _id: `EVT-${n}`, n })));
      expect(await docs.findOne({ _id: 'EVT-4321' })).to.deep.equal({ _id: 'EVT-4321', n: 4321 });
      await withPgClient(pgUrlForDatabase(config.pg.url, 'ferretdb'), async (ferret) => {
        const idx = await ferret.query<{ schemaname: string; tablename: string }>(
          `select schemaname, tablename from pg_indexes where schemaname = $1 and tablename like 'markers%' and indexdef like '%USING gin%'`,
          [dbName],
        );
        expect(idx.rows, 'a GIN index on the new collection').to.have.length(1);
        const table = `"${idx.rows[0]!.schemaname}"."${idx.rows[0]!.tablename}"`;
        await ferret.query(`analyze ${table}`);
        // The predicate FerretDB v1 generates for {_id: x}; with only its btree index this is a sequential scan.
        const plan = await ferret.query<{ 'QUERY PLAN': string }>(
          `explain select _jsonb from ${table} where _jsonb -> '_id' @> '"EVT-4321"'`,
        );
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).to.match(/Index Scan/);
      });
    });
  });

  describe('PostgreSQL', () => {
    let pool: pg.Pool;
    before(() => {
      pool = createPgPool(config);
    });
    after(() => pool.end());

    it('round-trips a row', async () => {
      const table = randomName('it_t').replace(/-/g, '_');
      await pool.query(`create table ${table} (id text primary key, n int)`);
      try {
        await pool.query(`insert into ${table} values ($1, $2)`, ['a', 7]);
        const r = await pool.query<{ n: number }>(`select n from ${table} where id = $1`, ['a']);
        expect(r.rows).to.deep.equal([{ n: 7 }]);
        const v = await pool.query<{ v: string }>('select current_setting($$server_version$$) as v');
        expect(Number(v.rows[0]?.v.split('.')[0])).to.be.at.least(15);
      } finally {
        await pool.query(`drop table ${table}`);
      }
    });
  });
});
