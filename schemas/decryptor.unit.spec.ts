import avro from 'avsc';
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fixedClock } from '../lib/clock';
import { DataKeyNotFoundError, SubjectErasedError } from '../lib/privacy/errors';
import { associatedData, decryptField, encryptField, type DataKey } from '../lib/privacy/field-cipher';
import { LocalKek } from '../lib/privacy/kek';
import { wrapAad } from '../lib/privacy/key-store';
import { ERASED_MARKER, EventDecryptor, isEncryptedString, PersonalFieldUnreadableError } from './decryptor';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_DEFINITIONS, type EventPayloads, type EventType, type SchoolEvent } from './generated/events';
import { avroOptions } from './logical-types';
import { personalSlots, sealPersonalFields, type FieldDecryptor, type FieldEncryptor } from './personal-fields';

const clock = fixedClock('2025-03-15T08:30:00.000Z');
const META = { triggeredBy: 'USR-ADMIN-001', ipAddress: '203.0.113.7', userAgent: 'curl/8.5' };
const event = <T extends EventType>(t: T, payload: Partial<EventPayloads[T]> = {}): SchoolEvent<T> =>
  buildEvent(t, { ...structuredClone(EXAMPLE_PAYLOADS[t]), ...payload }, { sourceService: 'test', clock, metadata: META });

/** Data keys in memory, with the key store's contract (get-or-create for writing, erased, unknown key id). */
class MemoryKeys implements FieldEncryptor, FieldDecryptor {
  private readonly material = new Map<string, Buffer>();
  readonly erased = new Set<string>();
  readonly forgotten: string[] = [];
  /** One key per subject; its id is derived from the subject, so a test can name it. */
  keyForWriting(subject: string): Promise<DataKey> {
    if (!this.material.has(subject)) this.material.set(subject, crypto.randomBytes(32));
    return Promise.resolve({ keyId: `dk-of-${subject}`, subject, material: this.material.get(subject)! });
  }
  keyForReading(subject: string, keyId: string): Promise<DataKey> {
    const material = this.material.get(subject);
    const err = this.erased.has(subject)
      ? new SubjectErasedError(subject)
      : !material || keyId !== `dk-of-${subject}`
        ? new DataKeyNotFoundError(subject, keyId)
        : undefined;
    return err ? Promise.reject(err) : Promise.resolve({ keyId, subject, material: material! });
  }
  forget(subject: string): void {
    this.forgotten.push(subject);
  }
}

/**
 * Sealed and encoded as our producers write it, then decoded as a stock consumer does: avsc with default options,
 * which is what @kafkajs/confluent-schema-registry's decode uses (unions unwrapped, no logical types: timestamps
 * are numbers, an unencrypted date the int of days).
 */
async function asStockConsumerSeesIt<T extends EventType>(keys: MemoryKeys, e: SchoolEvent<T>): Promise<Record<string, unknown>> {
  const schema = EVENT_DEFINITIONS[e.eventType].schema as avro.Schema;
  const sealed = await sealPersonalFields(e, personalSlots(EVENT_DEFINITIONS[e.eventType].schema), keys);
  const bytes = avro.Type.forSchema(schema, avroOptions()).toBuffer(sealed);
  return avro.Type.forSchema(schema).fromBuffer(bytes) as Record<string, unknown>;
}

describe('EventDecryptor (issue 21 item 4): a stock-decoded record with key access', () => {
  it('opens every personal field to what was published and leaves every other field as the stock decoder gave it', async () => {
    const keys = new MemoryKeys();
    const e = event('user.created', { phone: '+34 600 111 222', birthDate: '2014-05-02' });
    const record = await asStockConsumerSeesIt(keys, e);
    const payload = record.payload as Record<string, unknown>;
    for (const v of [payload.firstName, payload.email, payload.phone, payload.birthDate]) expect(isEncryptedString(v)).to.equal(true);
    const untouched = { timestamp: record.timestamp, eventId: record.eventId, userId: payload.userId };

    const out = await new EventDecryptor(keys).decrypt(record);
    expect(out).to.equal(record); // in place
    expect(out.payload).to.deep.include({
      firstName: e.payload.firstName,
      lastName: e.payload.lastName,
      email: e.payload.email,
      phone: '+34 600 111 222',
      birthDate: '2014-05-02', // the encrypted branch carries the ISO date
      userId: untouched.userId,
    });
    expect(out.metadata).to.deep.include(META);
    expect(out).to.deep.include({ timestamp: untouched.timestamp, eventId: untouched.eventId });
    expect(typeof out.timestamp).to.equal('number'); // still the stock form: the decryptor changes personal fields only
  });

  it('an erased person reads as the marker (a date: null); another subject in the same record still opens', async () => {
    const keys = new MemoryKeys();
    const e = event('user.created', { birthDate: '2014-05-02' });
    const record = await asStockConsumerSeesIt(keys, e);
    keys.erased.add(e.payload.userId);
    const out = await new EventDecryptor(keys).decrypt(record);
    expect(out.payload).to.deep.include({ firstName: ERASED_MARKER, lastName: ERASED_MARKER, email: ERASED_MARKER, birthDate: null });
    expect((out.metadata as Record<string, unknown>).ipAddress).to.equal(META.ipAddress); // the admin's key
  });

  it('array items and map values, each under its own path', async () => {
    const keys = new MemoryKeys();
    const decryptor = new EventDecryptor(keys);
    const done = event('enrollment.completed', { warnings: ['welcome failed: smtp said ana@example.org', 'second'] });
    const a = await decryptor.decrypt(await asStockConsumerSeesIt(keys, done));
    expect((a.payload as Record<string, unknown>).warnings).to.deep.equal(done.payload.warnings);
    const req = event('notification.requested', { variables: { firstName: 'Ana', sectionName: '5A' } });
    const b = await decryptor.decrypt(await asStockConsumerSeesIt(keys, req));
    expect((b.payload as Record<string, unknown>).variables).to.deep.equal({ firstName: 'Ana', sectionName: '5A' });
  });

  it('refuses what it cannot open: a value moved from another event, and a record that is not one of our event types', async () => {
    const keys = new MemoryKeys();
    const decryptor = new EventDecryptor(keys);
    const one = await asStockConsumerSeesIt(keys, event('user.created'));
    const other = await asStockConsumerSeesIt(keys, event('user.created'));
    (other.payload as Record<string, unknown>).email = (one.payload as Record<string, unknown>).email; // same person, same key
    const err = await decryptor.decrypt(other).catch((x: unknown) => x);
    expect(err)
      .to.be.instanceOf(PersonalFieldUnreadableError)
      .and.include({ code: 'PERSONAL_FIELD_UNREADABLE', retriable: false, fieldPath: 'payload.email' });
    const unknown = await decryptor.decrypt({ eventType: 'someone.elses' }).catch((x: unknown) => x);
    expect(unknown).to.include({ code: 'EVENT_TYPE_UNKNOWN', retriable: false });
  });

  it('forget reaches the key store, so an erasure event can evict a cached key at once', () => {
    const keys = new MemoryKeys();
    new EventDecryptor(keys).forget('USR-1');
    expect(keys.forgotten).to.deep.equal(['USR-1']);
  });

  it('docs/privacy-decryptor.md: its test vector is what lib/privacy writes and unwraps', async () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'privacy-decryptor.md'), 'utf8');
    const block = /## Test vector[\s\S]*?```text\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block, 'the test vector block').to.be.a('string');
    const v = Object.fromEntries(
      block!
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+=\s+/) as [string, string]),
    );
    const hex = (k: string): Buffer => Buffer.from(v[k]!, 'hex');
    const key: DataKey = { keyId: v.keyId!, subject: v.subject!, material: hex('material') };
    const ctx = { subject: v.subject!, eventId: v.eventId!, fieldPath: v.fieldPath! };
    expect(associatedData(key.keyId, ctx).toString('hex')).to.equal(v.aad);
    const sealed = encryptField(key, ctx, v.plaintext!, hex('iv'));
    expect({ ciphertext: sealed.ciphertext.toString('hex'), tag: sealed.tag.toString('hex') }).to.deep.equal({
      ciphertext: v.ciphertext,
      tag: v.tag,
    });
    expect(decryptField(key, ctx, sealed)).to.equal(v.plaintext);
    const kek = new LocalKek(hex('kek'));
    expect(kek.id).to.equal(v.kekId);
    expect(wrapAad(key.subject, key.keyId).toString('utf8')).to.equal(v.wrapAad);
    expect((await kek.unwrap(hex('wrapped'), wrapAad(key.subject, key.keyId))).toString('hex')).to.equal(v.material);
  });
});
