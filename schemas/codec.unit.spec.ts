import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fixedClock } from '../lib/clock';
import { createSchemaRegistry } from '../lib/clients/registry';
import { EventValidationError, RegistryUnavailableError, UnknownEventTypeError, WireFormatError } from '../lib/errors';
import { EventCodec } from './codec';
import { compare } from './compat';
import { buildEvent, causedBy, deterministicEventId } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_DEFINITIONS, EVENT_TYPES, type EventType, type SchoolEvent } from './generated/events';
import { assembleAll } from './tools/assemble';
import { generateDocs, generateTypes } from './tools/codegen';

const clock = fixedClock('2025-03-15T08:30:00.000Z');
const example = <T extends EventType>(t: T): SchoolEvent<T> => buildEvent(t, EXAMPLE_PAYLOADS[t], { sourceService: 'test', clock });
// These tests exercise only the pure parts of the codec: the registry is never called.
const codec = new EventCodec(createSchemaRegistry({ registry: { url: 'http://127.0.0.1:1' } }));
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('schemas', () => {
  it('define all thirty catalog event types from DOMAIN.md, the erasure event (issue 21), plus saga events', () => {
    const catalog = EVENT_TYPES.filter((t) => EVENT_DEFINITIONS[t].kind === 'catalog');
    expect(catalog).to.have.length(31);
    expect(catalog).to.include('user.personal-data.erased');
    expect(EVENT_TYPES.filter((t) => EVENT_DEFINITIONS[t].kind === 'compensation')).to.have.length(4);
  });

  it('put a doc on every field', () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n) => walk(n, where));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      if (o.type === 'record') {
        for (const f of o.fields as Array<Record<string, unknown>>) {
          if (!f.doc) undocumented.push(`${where}.${String(f.name)}`);
          walk(f.type, `${where}.${String(f.name)}`);
        }
      } else if (o.type === 'array') walk(o.items, where);
      else if (o.type === 'map') walk(o.values, where);
    };
    for (const t of EVENT_TYPES) walk(EVENT_DEFINITIONS[t].schema, t);
    expect(undocumented).to.deep.equal([]);
  });

  it('generated types and docs are up to date with the .avsc sources', () => {
    const events = assembleAll();
    expect(fs.readFileSync(path.join(__dirname, 'generated/events.ts'), 'utf8')).to.equal(generateTypes(events), 'run npm run schemas:gen');
    expect(fs.readFileSync(path.join(__dirname, '../docs/events.md'), 'utf8')).to.equal(generateDocs(events), 'run npm run schemas:gen');
  });

  for (const t of EVENT_TYPES) {
    it(`round-trips a realistic ${t} through Avro`, () => {
      const event = example(t);
      const buf = codec.encodeWithId(codec.typeOf(t), 7, event);
      expect(buf[0]).to.equal(0);
      expect(buf.readInt32BE(1)).to.equal(7);
      expect(plain(codec.typeOf(t).fromBuffer(buf.subarray(5)))).to.deep.equal(plain(event));
    });
  }
});

describe('codec validation', () => {
  it('names the bad field of an invalid payload', () => {
    const bad = {
      ...example('section.created'),
      payload: { ...EXAMPLE_PAYLOADS['section.created'], capacity: 'thirty' },
    } as unknown as SchoolEvent;
    expect(() => codec.validate(bad)).to.throw(EventValidationError, /payload\.capacity/);
    const err = (() => {
      try {
        codec.encodeWithId(codec.typeOf('section.created'), 1, bad);
      } catch (e) {
        return e as EventValidationError;
      }
    })();
    expect(err?.fields).to.deep.equal(['payload.capacity']);
  });

  it('rejects impossible dates and non-ISO instants', () => {
    const ok = example('student.enrolled');
    const badDate = { ...ok, payload: { ...ok.payload, enrollmentDate: '2025-02-30' } }; // not the shared example's payload
    expect(() => codec.validate(badDate)).to.throw(EventValidationError, /payload\.enrollmentDate/);
    const badTime = { ...example('student.enrolled'), timestamp: 'yesterday' };
    expect(() => codec.validate(badTime)).to.throw(EventValidationError, /timestamp/);
  });

  it('rejects an unknown event type', () => {
    expect(() => codec.typeOf('student.expelled')).to.throw(UnknownEventTypeError, /student\.expelled/);
    expect(() => buildEvent('student.expelled' as EventType, EXAMPLE_PAYLOADS['student.enrolled'], { sourceService: 't', clock })).to.throw(
      UnknownEventTypeError,
    );
  });

  it('rejects bytes without the Confluent header before touching the registry', async () => {
    const short = await codec.decode(Buffer.from([0, 1])).catch((e: unknown) => e);
    expect(short).to.be.instanceOf(WireFormatError);
    const noMagic = await codec.decode(Buffer.from('{"json":"instead of avro"}')).catch((e: unknown) => e);
    expect(noMagic)
      .to.be.instanceOf(WireFormatError)
      .with.property('message')
      .match(/magic byte/);
  });
});

describe('codec decoding', () => {
  it('fetches the writer schema of a new id once for concurrent decodes, and again after a failed fetch', async () => {
    const event = example('tardiness.recorded');
    let fetches = 0;
    let down = true;
    const registry = {
      async getSchema(): Promise<avro.Type> {
        fetches++;
        await new Promise((r) => setTimeout(r, 5));
        if (down) throw Object.assign(new Error('registry down'), { status: 503 });
        // As the registry client parses it: plain Avro, our logical types are the reader's.
        return avro.Type.forSchema(EVENT_DEFINITIONS['tardiness.recorded'].schema as avro.Schema);
      },
    } as unknown as SchemaRegistry;
    const fresh = new EventCodec(registry);
    const bytes = fresh.encodeWithId(fresh.typeOf('tardiness.recorded'), 42, event);
    const failed = await Promise.all(Array.from({ length: 50 }, () => fresh.decode(bytes).catch((e: unknown) => e)));
    expect(failed.every((e) => e instanceof RegistryUnavailableError)).to.equal(true);
    expect(fetches).to.equal(1);
    down = false;
    const decoded = await Promise.all(Array.from({ length: 50 }, () => fresh.decode(bytes)));
    expect(fetches).to.equal(2);
    expect(decoded.every((d) => d.schemaId === 42 && d.event.eventId === event.eventId)).to.equal(true);
    await fresh.decode(bytes);
    expect(fetches).to.equal(2);
  });
});

describe('envelope', () => {
  it('fills id, time, source, aggregate and starts a correlation', () => {
    const e = example('student.enrolled');
    expect(e.eventId).to.match(/^[0-9a-f-]{36}$/);
    expect(e.timestamp).to.equal('2025-03-15T08:30:00.000Z');
    expect(e.aggregateId).to.equal('ENR-2025-000001');
    expect(e.aggregateType).to.equal('StudentEnrollment');
    expect(e.correlationId).to.equal(e.eventId);
    expect(e.causationId).to.equal(null);
  });

  it('carries correlation and sets causation for a caused event, with a deterministic id', () => {
    const cause = example('student.enrolled');
    const a = causedBy(cause, 'enrollment.user.validated', EXAMPLE_PAYLOADS['enrollment.user.validated'], {
      sourceService: 'users',
      clock,
    });
    const b = causedBy(cause, 'enrollment.user.validated', EXAMPLE_PAYLOADS['enrollment.user.validated'], {
      sourceService: 'users',
      clock,
    });
    expect(a.correlationId).to.equal(cause.correlationId);
    expect(a.causationId).to.equal(cause.eventId);
    expect(a.eventId).to.equal(b.eventId);
    expect(a.eventId).to.not.equal(
      causedBy(cause, 'enrollment.user.validated', EXAMPLE_PAYLOADS['enrollment.user.validated'], {
        sourceService: 'users',
        clock,
        discriminator: '2',
      }).eventId,
    );
  });

  it("a caused event keeps who triggered it, the request and the trace, not the caller's IP address and user agent", () => {
    const cause = buildEvent('student.enrolled', EXAMPLE_PAYLOADS['student.enrolled'], {
      sourceService: 'api',
      clock,
      metadata: { triggeredBy: 'USR-ADMIN-001', ipAddress: '203.0.113.7', userAgent: 'curl/8.5', requestId: 'R-1', traceparent: 'T-1' },
    });
    const derived = causedBy(cause, 'enrollment.user.validated', EXAMPLE_PAYLOADS['enrollment.user.validated'], {
      sourceService: 'users',
      clock,
    });
    expect(derived.metadata).to.deep.equal({
      triggeredBy: 'USR-ADMIN-001',
      ipAddress: null,
      userAgent: null,
      requestId: 'R-1',
      traceparent: 'T-1',
    });
    expect(cause.metadata.ipAddress).to.equal('203.0.113.7');
  });

  it('makes deterministic ids in UUID v5 layout', () => {
    expect(deterministicEventId('a', 'b')).to.equal(deterministicEventId('a', 'b'));
    expect(deterministicEventId('a', 'b')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicEventId('a', 'b')).to.not.equal(deterministicEventId('ab', ''));
  });
});

describe('compatibility check', () => {
  const base = EVENT_DEFINITIONS['student.enrolled'].schema;
  const withPayloadFields = (edit: (fields: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): Record<string, unknown> => {
    const s = structuredClone(base) as { fields: Array<Record<string, unknown>> };
    const payload = s.fields.find((f) => f.name === 'payload') as { type: { fields: Array<Record<string, unknown>> } };
    payload.type.fields = edit(payload.type.fields);
    return s;
  };

  it('accepts an optional field with a default', () => {
    const next = withPayloadFields((f) => [...f, { name: 'nickname', type: ['null', 'string'], default: null, doc: 'x' }]);
    expect(compare(next, base)).to.deep.equal([]);
  });

  it('fails a removed required field, naming it (old consumers need it)', () => {
    const next = withPayloadFields((f) => f.filter((x) => x.name !== 'sectionId'));
    expect(compare(next, base)).to.deep.equal([
      {
        direction: 'FORWARD',
        field: 'payload.sectionId',
        message: 'field payload.sectionId removed or made required: consumers on the old schema cannot read new records',
      },
    ]);
  });

  it('fails a required field added without a default, naming it (old records lack it)', () => {
    const next = withPayloadFields((f) => [...f, { name: 'room', type: 'string', doc: 'x' }]);
    expect(compare(next, base).map((i) => [i.direction, i.field])).to.deep.equal([['BACKWARD', 'payload.room']]);
  });
});
