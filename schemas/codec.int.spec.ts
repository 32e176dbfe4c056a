import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { expect } from 'chai';
import type { Admin, Producer } from 'kafkajs';
import { fixedClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createSchemaRegistry } from '../lib/clients/registry';
import { EventValidationError, UndecodableRecordError, UnknownEventTypeError, UnknownSchemaIdError } from '../lib/errors';
import { readAll, topicSize } from '../test/support/kafka';
import { randomName, testConfig } from '../test/support';
import { checkAll } from './check';
import { EventCodec, writerType } from './codec';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_DEFINITIONS, EVENT_TYPES, type SchoolEvent } from './generated/events';
import { avroOptions } from './logical-types';
import { createEventProducer, EventPublisher } from './publisher';

const clock = fixedClock('2025-03-15T08:30:00.000Z');
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('codec and publisher (real Kafka + registry)', function () {
  this.timeout(60000);
  const config = testConfig();
  const kafka = createKafka(config);
  const registry = createSchemaRegistry(config);
  const codec = new EventCodec(registry);
  const prefix = randomName('it-codec');
  const topicOf = (e: SchoolEvent): string => `${prefix}.${EVENT_DEFINITIONS[e.eventType].topic}`;
  const topics = [...new Set(EVENT_TYPES.map((t) => `${prefix}.${EVENT_DEFINITIONS[t].topic}`))];
  let admin: Admin;
  let producer: Producer;
  let publisher: EventPublisher;

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3 })) });
    producer = createEventProducer(kafka);
    await producer.connect();
    publisher = new EventPublisher(producer, codec, topicOf);
  });
  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics });
    await admin.disconnect();
  });

  it('publishes every event type and decodes each back, keyed by aggregateId with headers', async () => {
    const events = EVENT_TYPES.map((t) =>
      buildEvent(t, EXAMPLE_PAYLOADS[t], { sourceService: 'it', clock, metadata: { triggeredBy: 'USR-ADMIN-001' } }),
    );
    await publisher.publish(...events);
    const byId = new Map(events.map((e) => [e.eventId, e]));
    const messages = await readAll(kafka, topics, events.length);
    let decoded = 0;
    for (const m of messages) {
      const { event } = await codec.decode(m.value!);
      const original = byId.get(event.eventId)!;
      expect(plain(event)).to.deep.equal(plain(original));
      expect(m.topic).to.equal(topicOf(original));
      expect(m.key?.toString()).to.equal(original.aggregateId);
      expect(m.headers?.eventType?.toString()).to.equal(original.eventType);
      expect(m.headers?.correlationId?.toString()).to.equal(original.correlationId);
      expect(m.headers?.['content-type']?.toString()).to.equal('application/vnd.school.event+avro');
      decoded++;
    }
    expect(decoded).to.equal(EVENT_TYPES.length);
  });

  it('fails bad input before anything reaches Kafka, naming the field', async () => {
    const topic = `${prefix}.academic-events`;
    const before = await topicSize(kafka, topic);
    const good = buildEvent('section.created', EXAMPLE_PAYLOADS['section.created'], { sourceService: 'it', clock });
    const bad = { ...good, payload: { ...good.payload, capacity: -1.5 } };
    const err = await publisher.publish(good, bad).catch((e: unknown) => e);
    expect(err)
      .to.be.instanceOf(EventValidationError)
      .with.property('message')
      .match(/payload\.capacity/);
    const unknown = { ...good, eventType: 'section.exploded' } as unknown as SchoolEvent;
    expect(await publisher.publish(unknown).catch((e: unknown) => e)).to.be.instanceOf(UnknownEventTypeError);
    expect(await topicSize(kafka, topic)).to.equal(before);
  });

  it('raises typed errors for an unknown schema id and for bytes that do not match the schema', async () => {
    const unknownId = Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 1, 2, 3]);
    expect(await codec.decode(unknownId).catch((e: unknown) => e)).to.be.instanceOf(UnknownSchemaIdError);
    const id = await codec.schemaId('section.created');
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    garbage.writeInt32BE(id, 1);
    expect(await codec.decode(garbage).catch((e: unknown) => e)).to.be.instanceOf(UndecodableRecordError);
  });

  it('decodes a record written with an older schema version into the current reader shape', async () => {
    // The "old" StudentEnrolled had no previousInstitution. Registered under a throwaway subject so the
    // product's subjects keep their history; the codec resolves by the writer's record name.
    const current = EVENT_DEFINITIONS['student.enrolled'].schema;
    const old = structuredClone(current) as { fields: Array<{ name: string; type: { fields: Array<{ name: string }> } }> };
    const payload = old.fields.find((f) => f.name === 'payload')!;
    payload.type.fields = payload.type.fields.filter((f) => f.name !== 'previousInstitution');
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(old) },
      { subject: randomName('it-old-writer') },
    );
    const oldType = avro.Type.forSchema(old as avro.Schema, avroOptions());
    const event = buildEvent('student.enrolled', EXAMPLE_PAYLOADS['student.enrolled'], { sourceService: 'it', clock });
    const body = oldType.toBuffer({ ...event, payload: { ...event.payload, previousInstitution: undefined } });
    const header = Buffer.from([0, 0, 0, 0, 0]);
    header.writeInt32BE(id, 1);
    const { event: decoded } = await codec.decode(Buffer.concat([header, body]));
    expect(plain(decoded)).to.deep.equal(plain({ ...event, payload: { ...event.payload, previousInstitution: null } }));
  });

  describe('schema evolution against the registry', () => {
    const subject = randomName('it-evolution');
    const v1 = {
      type: 'record',
      name: 'Evo',
      namespace: 'it.evolution',
      doc: 'test',
      fields: [
        { name: 'id', type: 'string', doc: 'id' },
        { name: 'sectionId', type: 'string', doc: 'section' },
      ],
    };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'nickname', type: ['null', 'string'], default: null, doc: 'optional' }] };
    const v3 = { ...v1, fields: v1.fields.filter((f) => f.name !== 'sectionId') };
    after(async () => {
      await fetch(`${config.registry.url}/subjects/${subject}`, { method: 'DELETE' });
    });

    it('an optional field with a default: old reads new and new reads old', async () => {
      const { id: id1 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
      expect(await checkAll(config.registry.url, [{ subject, schema: v2 }])).to.deep.equal([{ subject, status: 'compatible', issues: [] }]);
      const { id: id2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
      expect(id2).to.not.equal(id1);
      const [w1, w2] = [await writerType(registry, id1), await writerType(registry, id2)];
      const t1 = avro.Type.forSchema(v1 as avro.Schema, avroOptions());
      const t2 = avro.Type.forSchema(v2 as avro.Schema, avroOptions());
      const newRecord = t2.toBuffer({ id: 'a', sectionId: 'SEC-1', nickname: 'Lu' });
      const oldRecord = t1.toBuffer({ id: 'b', sectionId: 'SEC-2' });
      expect(plain(t1.fromBuffer(newRecord, t1.createResolver(w2)))).to.deep.equal({ id: 'a', sectionId: 'SEC-1' });
      expect(plain(t2.fromBuffer(oldRecord, t2.createResolver(w1)))).to.deep.equal({ id: 'b', sectionId: 'SEC-2', nickname: null });
    });

    it('a removed required field fails the check with subject and field named', async () => {
      const [row] = await checkAll(config.registry.url, [{ subject, schema: v3 }]);
      expect(row?.status).to.equal('incompatible');
      expect(row?.issues).to.deep.equal([
        {
          direction: 'FORWARD',
          field: 'sectionId',
          message: 'field sectionId removed or made required: consumers on the old schema cannot read new records',
        },
      ]);
    });
  });

  it('keeps event types and examples in step', () => {
    expect(Object.keys(EXAMPLE_PAYLOADS).sort()).to.deep.equal([...EVENT_TYPES].sort());
  });
});
