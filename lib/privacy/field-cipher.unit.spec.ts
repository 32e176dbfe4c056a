import { expect } from 'chai';
import crypto from 'node:crypto';
import { DecryptionFailedError } from './errors';
import { associatedData, decryptField, encryptField, type DataKey, type EncryptedValue, type FieldContext } from './field-cipher';

describe('field encryption (AES-256-GCM per data subject)', () => {
  const key: DataKey = { keyId: 'dk-1', subject: 'USR-1', material: crypto.randomBytes(32) };
  const ctx: FieldContext = { subject: 'USR-1', eventId: 'evt-1', fieldPath: 'payload.email' };
  const value = encryptField(key, ctx, 'ana@example.org');
  const fails = (k: DataKey, c: FieldContext, v: EncryptedValue = value): void => {
    expect(() => decryptField(k, c, v)).to.throw(DecryptionFailedError);
    try {
      decryptField(k, c, v);
    } catch (e) {
      expect(e).to.include({ code: 'PRIVACY_DECRYPTION_FAILED', retriable: false });
    }
  };
  const flip = (b: Buffer): Buffer => Buffer.from(b.map((x, i) => (i === 0 ? x ^ 1 : x)));

  it('round-trips a value, with its key id and subject on the value and no plaintext in it', () => {
    expect(decryptField(key, ctx, value)).to.equal('ana@example.org');
    expect(value).to.include({ keyId: 'dk-1', subject: 'USR-1' });
    expect(value.iv).to.have.length(12);
    expect(value.tag).to.have.length(16);
    expect(value.ciphertext.toString('latin1')).not.to.include('ana');
    expect(decryptField(key, ctx, encryptField(key, ctx, ''))).to.equal('');
    expect(decryptField(key, ctx, encryptField(key, ctx, 'Zoë Ñúñez 李'))).to.equal('Zoë Ñúñez 李');
  });

  it('a fresh IV each time: the same value encrypts differently', () => {
    expect(encryptField(key, ctx, 'x').ciphertext.equals(encryptField(key, ctx, 'x').ciphertext)).to.equal(false);
  });

  it('fails, typed, under another subject, event, field, key or key id', () => {
    fails(key, { ...ctx, subject: 'USR-2' });
    fails({ ...key, subject: 'USR-2' }, { ...ctx, subject: 'USR-2' }, { ...value, subject: 'USR-2' }); // subject relabelled: AD differs
    fails(key, { ...ctx, eventId: 'evt-2' });
    fails(key, { ...ctx, fieldPath: 'payload.phone' });
    fails({ ...key, material: crypto.randomBytes(32) }, ctx);
    fails({ ...key, keyId: 'dk-2' }, ctx);
    fails({ ...key, keyId: 'dk-2' }, ctx, { ...value, keyId: 'dk-2' }); // key id relabelled: AD differs
  });

  it('fails, typed, when ciphertext, tag or IV were changed', () => {
    fails(key, ctx, { ...value, ciphertext: flip(value.ciphertext) });
    fails(key, ctx, { ...value, tag: flip(value.tag) });
    fails(key, ctx, { ...value, iv: flip(value.iv) });
    fails(key, ctx, { ...value, tag: value.tag.subarray(0, 8) });
  });

  it('associated data is unambiguous: moving a separator between parts changes it', () => {
    const a = associatedData('k', { subject: 'ab', eventId: 'c', fieldPath: 'd' });
    const b = associatedData('k', { subject: 'a', eventId: 'bc', fieldPath: 'd' });
    expect(a.equals(b)).to.equal(false);
  });

  it('refuses to encrypt under another subject’s key (a programming error)', () => {
    expect(() => encryptField(key, { ...ctx, subject: 'USR-2' }, 'x')).to.throw(/data key of USR-1 used for USR-2/);
  });
});
