import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { expect } from 'chai';
import crypto from 'node:crypto';
import { fixedClock } from '../lib/clock';
import { DataKeyNotFoundError, SubjectErasedError } from '../lib/privacy/errors';
import { classify } from '../processors/runtime/errors';
import type { DataKey } from '../lib/privacy/field-cipher';
import { EventCodec } from './codec';
import { compareWithBreaks, type ReviewedBreak } from './compat';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_DEFINITIONS, EVENT_TYPES, type EventPayloads, type EventType, type SchoolEvent } from './generated/events';
import {
  ERASED_MARKER,
  isEncryptedString,
  openPersonalFields,
  PersonalFieldUnreadableError,
  personalSlots,
  sealPersonalFields,
  type FieldDecryptor,
  type FieldEncryptor,
} from './personal-fields';
import { loadLibrary } from './tools/assemble';
import { avroOptions } from './logical-types';
import { piiFields } from './tools/pii';

const clock = fixedClock('2025-03-15T08:30:00.000Z');
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const META = { triggeredBy: 'USR-ADMIN-001', ipAddress: '203.0.113.7', userAgent: 'curl/8.5' };
const event = <T extends EventType>(t: T, payload: Partial<EventPayloads[T]> = {}): SchoolEvent<T> =>
  buildEvent(t, { ...structuredClone(EXAMPLE_PAYLOADS[t]), ...payload }, { sourceService: 'test', clock, metadata: META });

/** An in-memory key store with the PgDataKeyStore's contract: get-or-create, erase, find by key id. */
class MemoryKeys implements FieldEncryptor, FieldDecryptor {
  readonly keys = new Map<string, DataKey>();
  readonly erased = new Set<string>();
  writes = 0;
  keyForWriting(subject: string): Promise<DataKey> {
    this.writes++;
    if (this.erased.has(subject)) return Promise.reject(new SubjectErasedError(subject));
    let k = this.keys.get(subject);
    if (!k) this.keys.set(subject, (k = { keyId: `dk-${crypto.randomUUID()}`, subject, material: crypto.randomBytes(32) }));
    return Promise.resolve(k);
  }
  keyForReading(subject: string, keyId: string): Promise<DataKey> {
    if (this.erased.has(subject)) return Promise.reject(new SubjectErasedError(subject));
    const k = this.keys.get(subject);
    return k && k.keyId === keyId ? Promise.resolve(k) : Promise.reject(new DataKeyNotFoundError(subject, keyId));
  }
}

/** A registry that knows our current schemas by a fixed id per event type (nothing leaves the process). */
function fakeRegistry(): SchemaRegistry {
  const ids = new Map(EVENT_TYPES.map((t, i) => [t, 100 + i]));
  return {
    register: (s: { schema: string }) => {
      const t = EVENT_TYPES.find((x) => JSON.stringify(EVENT_DEFINITIONS[x].schema) === s.schema)!;
      return Promise.resolve({ id: ids.get(t)! });
    },
    getSchema: (id: number) => Promise.resolve(avro.Type.forSchema(EVENT_DEFINITIONS[EVENT_TYPES[id - 100]!].schema as avro.Schema)),
  } as unknown as SchemaRegistry;
}

describe('personal fields on the wire (issue 21): the codec mapping', () => {
  const slotsOf = (t: EventType) => personalSlots(EVENT_DEFINITIONS[t].schema);
  const typeOf = (t: EventType): avro.Type => avro.Type.forSchema(EVENT_DEFINITIONS[t].schema as avro.Schema, avroOptions());
  /** Through Avro and back, as a consumer decodes it (a fresh object, Buffers included). */
  const viaWire = <T extends EventType>(t: T, e: SchoolEvent<T>): Record<string, unknown> =>
    typeOf(t).fromBuffer(typeOf(t).toBuffer(e)) as Record<string, unknown>;

  it('finds exactly the declared personal fields of every event type, with their subject, shape and date flag', () => {
    for (const t of EVENT_TYPES) {
      const declared = piiFields({ file: t, schema: EVENT_DEFINITIONS[t].schema }).map((f) => f.path.replace('[]', ''));
      expect(slotsOf(t).map((s) => s.name)).to.deep.equal(declared, t);
    }
    const byName = Object.fromEntries(slotsOf('user.created').map((s) => [s.name, s]));
    expect(byName['payload.firstName']).to.deep.include({ subjectPath: ['payload', 'userId'], shape: 'one', date: false });
    expect(byName['payload.birthDate']).to.deep.include({ shape: 'one', date: true });
    expect(byName['metadata.ipAddress']).to.deep.include({ subjectPath: ['metadata', 'triggeredBy'] });
    expect(slotsOf('enrollment.completed').find((s) => s.name === 'payload.warnings')).to.deep.include({ shape: 'array' });
    expect(slotsOf('notification.requested').find((s) => s.name === 'payload.variables')).to.deep.include({ shape: 'map' });
    expect(slotsOf('notification.failed').find((s) => s.name === 'payload.errorMessage')?.subjectPath).to.equal(undefined);
  });

  it('seals every personal value under its subject’s key, leaves the caller’s event alone, and opens back to it', async () => {
    const keys = new MemoryKeys();
    const e = event('user.created', { phone: '+34 600 111 222', birthDate: '2014-05-02' });
    const before = plain(e);
    const wire = await sealPersonalFields(e, slotsOf('user.created'), keys);
    expect(plain(e)).to.deep.equal(before);
    for (const v of [wire.payload.firstName, wire.payload.email, wire.payload.phone, wire.payload.birthDate, wire.metadata.ipAddress])
      expect(isEncryptedString(v)).to.equal(true);
    expect((wire.payload.firstName as unknown as { subject: string }).subject).to.equal(e.payload.userId);
    expect((wire.metadata.ipAddress as unknown as { subject: string }).subject).to.equal('USR-ADMIN-001');
    expect(wire.payload.userId).to.equal(e.payload.userId); // not personal: untouched
    const bytes = typeOf('user.created').toBuffer(wire);
    for (const secret of [e.payload.firstName, e.payload.lastName, e.payload.email, '+34 600 111 222', '203.0.113.7'])
      expect(bytes.includes(Buffer.from(secret))).to.equal(false, secret);
    const opened = viaWire('user.created', wire);
    await openPersonalFields(opened, slotsOf('user.created'), keys);
    expect(plain(opened)).to.deep.equal(before);
  });

  it('arrays and maps: each item under its own path; a field without a subject stays plaintext', async () => {
    const keys = new MemoryKeys();
    const done = event('enrollment.completed', { warnings: ['welcome failed: smtp said ana@example.org', 'second'] });
    const wire = await sealPersonalFields(done, slotsOf('enrollment.completed'), keys);
    expect(wire.payload.warnings.every(isEncryptedString)).to.equal(true);
    // Items are bound to their index: swapping two does not open.
    const swapped = viaWire('enrollment.completed', wire) as unknown as { payload: { warnings: unknown[] } };
    swapped.payload.warnings.reverse();
    const err = await openPersonalFields(swapped as unknown as Record<string, unknown>, slotsOf('enrollment.completed'), keys).catch(
      (x: unknown) => x,
    );
    expect(err)
      .to.be.instanceOf(PersonalFieldUnreadableError)
      .and.include({ code: 'PERSONAL_FIELD_UNREADABLE', retriable: false, fieldPath: 'payload.warnings[0]' });
    const req = event('notification.requested', { variables: { firstName: 'Ana', sectionName: '5A' } });
    const sealed = await sealPersonalFields(req, slotsOf('notification.requested'), keys);
    expect(Object.values(sealed.payload.variables).every(isEncryptedString)).to.equal(true);
    const back = viaWire('notification.requested', sealed);
    await openPersonalFields(back, slotsOf('notification.requested'), keys);
    expect(plain(back)).to.deep.equal(plain(req));
    const failed = event('notification.failed', { errorMessage: 'mailbox full' });
    expect((await sealPersonalFields(failed, slotsOf('notification.failed'), keys)).payload.errorMessage).to.equal('mailbox full');
  });

  it('an erased person: written as the marker (a date as null), and read as the marker where it was encrypted', async () => {
    const keys = new MemoryKeys();
    const e = event('user.created', { birthDate: '2014-05-02' });
    const wire = await sealPersonalFields(e, slotsOf('user.created'), keys);
    keys.erased.add(e.payload.userId);
    const read = viaWire('user.created', wire) as unknown as SchoolEvent<'user.created'>;
    await openPersonalFields(read as unknown as Record<string, unknown>, slotsOf('user.created'), keys);
    expect(read.payload).to.deep.include({ firstName: ERASED_MARKER, lastName: ERASED_MARKER, email: ERASED_MARKER, birthDate: null });
    expect(read.metadata.ipAddress).to.equal(META.ipAddress); // the admin who triggered it was not erased
    const later = await sealPersonalFields(e, slotsOf('user.created'), keys);
    expect(later.payload).to.deep.include({ firstName: ERASED_MARKER, email: ERASED_MARKER, birthDate: null });
  });

  it('a value that does not open (changed bytes, another event, an unknown key) is PERSONAL_FIELD_UNREADABLE', async () => {
    const keys = new MemoryKeys();
    const e = event('user.created');
    const wire = await sealPersonalFields(e, slotsOf('user.created'), keys);
    const attempt = async (mutate: (w: Record<string, unknown>) => void): Promise<unknown> => {
      const copy = viaWire('user.created', wire);
      mutate(copy);
      return openPersonalFields(copy, slotsOf('user.created'), keys).catch((x: unknown) => x);
    };
    const payload = (w: Record<string, unknown>) => w.payload as Record<string, { ciphertext: Buffer; keyId: string }>;
    const errors = [
      await attempt((w) => payload(w).email!.ciphertext.writeUInt8(payload(w).email!.ciphertext[0]! ^ 1, 0)),
      await attempt((w) => (w.eventId = crypto.randomUUID())),
      await attempt((w) => (payload(w).email!.keyId = 'dk-other')),
    ];
    for (const err of errors)
      expect(err).to.be.instanceOf(PersonalFieldUnreadableError).and.include({ code: 'PERSONAL_FIELD_UNREADABLE', retriable: false });
    // A key store that is down is not the record's fault: its own error, for the runtime to retry.
    const down: FieldDecryptor = {
      keyForReading: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    };
    const copy = viaWire('user.created', wire);
    expect(await openPersonalFields(copy, slotsOf('user.created'), down).catch((x: unknown) => x)).to.include({ code: 'ECONNREFUSED' });
    // The runtime's one decision: an unreadable field is the record's (dead letter), a store down is not (retry).
    expect(errors.map(classify)).to.deep.equal(['permanent', 'permanent', 'permanent']);
    expect(
      classify(await openPersonalFields(viaWire('user.created', wire), slotsOf('user.created'), down).catch((x: unknown) => x)),
    ).to.equal('transient');
  });

  it('the codec: encrypts on encode with an encryptor, decodes for a consumer without keys, opens with a decryptor', async () => {
    const keys = new MemoryKeys();
    const registry = fakeRegistry();
    const writer = new EventCodec(registry, { encryptor: keys, decryptor: keys });
    const withoutKeys = new EventCodec(registry);
    for (const t of EVENT_TYPES) {
      const e = event(t);
      const bytes = await writer.encode(e);
      expect(plain((await writer.decode(bytes)).event)).to.deep.equal(plain(e), t);
      const sealed = (await withoutKeys.decode(bytes)).event as unknown as Record<string, Record<string, unknown>>;
      for (const s of personalSlots(EVENT_DEFINITIONS[t].schema)) {
        const v = sealed[s.path[0]!]![s.path[1]!];
        const items = s.shape === 'array' ? (v as unknown[]) : s.shape === 'map' ? Object.values(v as object) : [v];
        for (const item of items) if (item !== null && s.subjectPath) expect(isEncryptedString(item)).to.equal(true, `${t} ${s.name}`);
      }
    }
    // Plaintext records (written before encryption, or without keys) still decode, with or without keys.
    const old = event('user.created');
    const plainBytes = await withoutKeys.encode(old);
    expect(plain((await writer.decode(plainBytes)).event)).to.deep.equal(plain(old));
    expect(plain((await withoutKeys.decode(plainBytes)).event)).to.deep.equal(plain(old));
    // Validation comes first: a bad personal field is named, nothing is encrypted.
    const writes = keys.writes;
    const bad = { ...old, payload: { ...old.payload, email: 42 } } as unknown as SchoolEvent;
    expect(await writer.encode(bad).catch((x: unknown) => x)).to.include({ code: 'EVENT_INVALID' });
    expect(keys.writes).to.equal(writes);
  });
});

describe('the schema gate’s reviewed exceptions (schemas/breaks.json)', () => {
  const encrypted = loadLibrary().library.get('school.common.EncryptedString')!;
  const ES = 'school.common.EncryptedString';
  const prev = {
    type: 'record',
    name: 'R',
    namespace: 'it.breaks',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'email', type: 'string' },
      { name: 'phone', type: ['null', 'string'], default: null },
      { name: 'notes', type: { type: 'array', items: 'string' } },
    ],
  };
  const widened = (over: Record<string, unknown> = {}) => ({
    ...prev,
    fields: [
      { name: 'id', type: 'string' },
      { name: 'email', type: ['string', encrypted] },
      { name: 'phone', type: ['null', 'string', ES], default: null },
      { name: 'notes', type: { type: 'array', items: ['string', ES] } },
    ].map((f) => (f.name in over ? { ...f, type: over[f.name] } : f)),
  });
  const breaks = (...fields: string[]): ReviewedBreak[] => fields.map((field) => ({ subject: 's', field, reason: 'issue 21 encryption' }));

  it('accepts exactly the listed fields widened by EncryptedString, and nothing else', () => {
    expect(compareWithBreaks(widened(), prev, [], encrypted).issues.map((i) => i.direction)).to.deep.equal(['FORWARD']);
    expect(compareWithBreaks(widened(), prev, breaks('email', 'phone', 'notes'), encrypted)).to.deep.equal({
      issues: [],
      accepted: breaks('email', 'phone', 'notes'),
    });
    // One widened field not listed: refused.
    expect(compareWithBreaks(widened(), prev, breaks('email', 'phone'), encrypted).issues).to.have.length.above(0);
    // A listed field also changed otherwise (required string → nullable): refused.
    const alsoNullable = widened({ email: ['null', 'string', encrypted] });
    expect(compareWithBreaks(alsoNullable, prev, breaks('email', 'phone', 'notes'), encrypted).accepted).to.deep.equal([]);
    // A field that was not a string before: refused.
    const intBefore = { ...prev, fields: prev.fields.map((f) => (f.name === 'id' ? f : f.name === 'email' ? { ...f, type: 'int' } : f)) };
    expect(compareWithBreaks(widened(), intBefore, breaks('email', 'phone', 'notes'), encrypted).accepted).to.deep.equal([]);
    // Another EncryptedString definition than the reviewed one: refused.
    const other = widened({ email: ['string', { ...encrypted, fields: [{ name: 'blob', type: 'bytes' }] }] });
    expect(compareWithBreaks(other, prev, breaks('email', 'phone', 'notes'), encrypted).issues[0]?.message).to.match(/not the reviewed/);
  });
});
