import crypto from 'node:crypto';
import { DecryptionFailedError } from './errors';

/**
 * Field-level authenticated encryption: AES-256-GCM of one string value under the data key of the person it
 * describes. The associated data binds the ciphertext to its key id, subject, event id and field path, so a
 * value copied into another event, field or person does not open (it fails, typed, instead of yielding a
 * plausible wrong plaintext). Pure: no I/O, the IV comes from the caller or node:crypto.
 */

export const DATA_KEY_BYTES = 32;
const IV_BYTES = 12; // GCM's native nonce size
const TAG_BYTES = 16;
const AD_VERSION = 'school-events/field/v1';

export interface DataKey {
  keyId: string;
  subject: string;
  /** 32 random bytes; never logged, never leaves the process unwrapped. */
  material: Buffer;
}

/** Where a value lives: the person it describes, the event and the field (e.g. `payload.email`). */
export interface FieldContext {
  subject: string;
  eventId: string;
  fieldPath: string;
}

/** The encrypted value as it will travel (the wire's EncryptedString record: docs/decisions.md). */
export interface EncryptedValue {
  keyId: string;
  subject: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Length-prefixed parts, so no two different contexts encode to the same bytes. */
export function associatedData(keyId: string, ctx: FieldContext): Buffer {
  const parts = [AD_VERSION, keyId, ctx.subject, ctx.eventId, ctx.fieldPath].map((p) => Buffer.from(p, 'utf8'));
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

export function encryptField(
  key: DataKey,
  ctx: FieldContext,
  plaintext: string,
  iv: Buffer = crypto.randomBytes(IV_BYTES),
): EncryptedValue {
  // A programming error, not bad data: a value must be encrypted under the key of the person it describes.
  if (key.subject !== ctx.subject) throw new Error(`data key of ${key.subject} used for ${ctx.subject}`);
  if (key.material.length !== DATA_KEY_BYTES || iv.length !== IV_BYTES) throw new Error('data key must be 32 bytes and iv 12');
  const cipher = crypto.createCipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(key.keyId, ctx));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId: key.keyId, subject: ctx.subject, iv, ciphertext, tag: cipher.getAuthTag() };
}

/** The plaintext, or DecryptionFailedError when key, context or bytes do not match what was encrypted. */
export function decryptField(key: DataKey, ctx: FieldContext, value: EncryptedValue): string {
  if (value.keyId !== key.keyId) throw new DecryptionFailedError(`value was encrypted under key ${value.keyId}, not ${key.keyId}`);
  if (value.subject !== ctx.subject) throw new DecryptionFailedError(`value belongs to ${value.subject}, not ${ctx.subject}`);
  if (value.iv.length !== IV_BYTES || value.tag.length !== TAG_BYTES) throw new DecryptionFailedError('malformed iv or tag');
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.material, value.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(key.keyId, ctx));
    decipher.setAuthTag(value.tag);
    return Buffer.concat([decipher.update(value.ciphertext), decipher.final()]).toString('utf8');
  } catch (e) {
    throw new DecryptionFailedError(`${ctx.fieldPath} of event ${ctx.eventId} does not authenticate (wrong key, context or bytes)`, {
      cause: e,
    });
  }
}

export const newDataKeyMaterial = (): Buffer => crypto.randomBytes(DATA_KEY_BYTES);
