import type pg from 'pg';
import { UnknownEventTypeError } from '../lib/errors';
import { LocalKek, type KeyEncryptionKey } from '../lib/privacy/kek';
import { PgDataKeyStore } from '../lib/privacy/key-store';
import { EVENT_DEFINITIONS, type EventType } from './generated/events';
import { openPersonalFields, personalSlots, type FieldDecryptor, type PersonalSlot } from './personal-fields';

export { ERASED_MARKER, isEncryptedString, PersonalFieldUnreadableError, type EncryptedString } from './personal-fields';

/**
 * The decryptor for consumers that are not ours (issue 21 item 4; docs/privacy-decryptor.md): a record as a stock
 * Confluent/avsc consumer decodes it (each personal value the `school.common.EncryptedString` branch of its union)
 * comes back with its personal fields in plaintext, or the erased marker once the person's data key was shredded.
 * It is the codec's own decode path (`openPersonalFields` over the declared fields, the key store's
 * `keyForReading`), not a second implementation: a value opens here exactly when it opens in our processors.
 */

/** Key access: a connection to the key store and the key-encryption key its data keys are wrapped with. */
export interface KeyAccess {
  /** PostgreSQL holding `<schema>.data_keys`; SELECT on that table is all the decryptor needs. */
  pool: pg.Pool;
  /** The KEK (PRIVACY_KEK: base64 of 32 bytes), or a KMS behind the KeyEncryptionKey interface. */
  kek: KeyEncryptionKey | string;
  /** The KEK being rotated away from, while a rotation runs (PRIVACY_KEK_PREVIOUS). */
  previousKek?: KeyEncryptionKey | string;
  /** PostgreSQL schema of the key table (PRIVACY_SCHEMA); default `privacy`. */
  schema?: string;
  /** Unwrapped data keys kept in memory; default 1,000. */
  cacheSize?: number;
  /**
   * How long a cached key is used (default 60 s): without `forget` on erasure events, the bound on how long
   * this process still decrypts a person after their erasure.
   */
  cacheTtlMs?: number;
}

const asKek = (k: KeyEncryptionKey | string): KeyEncryptionKey => (typeof k === 'string' ? new LocalKek(Buffer.from(k, 'base64')) : k);

export class EventDecryptor {
  private readonly slots = new Map<string, PersonalSlot[]>();

  /** Over any key lookup with the key store's contract (tests pass an in-memory one). */
  constructor(private readonly keys: FieldDecryptor & { forget?(subject: string): void }) {}

  /** Over the PostgreSQL key store; migrates nothing and writes nothing. */
  static connect(access: KeyAccess): EventDecryptor {
    return new EventDecryptor(
      PgDataKeyStore.forReading({
        pool: access.pool,
        schema: access.schema ?? 'privacy',
        kek: asKek(access.kek),
        previousKeks: access.previousKek ? [asKek(access.previousKek)] : [],
        cacheSize: access.cacheSize ?? 1000,
        cacheTtlMs: access.cacheTtlMs ?? 60_000,
      }),
    );
  }

  /**
   * Opens every personal field of a decoded record in place and returns it. An erased person's value becomes
   * ERASED_MARKER (`[erased]`; a date: null); plaintext values and records without personal fields are left
   * alone. Throws UnknownEventTypeError for a record whose `eventType` is not one of ours,
   * PersonalFieldUnreadableError (not retriable) for a value that does not open (wrong KEK, a key this store
   * does not hold, changed bytes), and PostgreSQL's own error when the key store is unreachable (retry).
   */
  async decrypt<T extends object>(record: T): Promise<T> {
    const r = record as Record<string, unknown>;
    const slots = this.slotsOf(r.eventType);
    if (slots.length) await openPersonalFields(r, slots, this.keys);
    return record;
  }

  /** Drops a person's cached key at once: call it on `user.personal-data.erased` (key = the user id). */
  forget(subject: string): void {
    this.keys.forget?.(subject);
  }

  private slotsOf(eventType: unknown): PersonalSlot[] {
    const known = typeof eventType === 'string' ? this.slots.get(eventType) : undefined;
    if (known) return known;
    if (typeof eventType !== 'string' || !Object.hasOwn(EVENT_DEFINITIONS, eventType))
      throw new UnknownEventTypeError(`not one of our event types: ${JSON.stringify(eventType)} (its personal fields are unknown)`);
    const slots = personalSlots(EVENT_DEFINITIONS[eventType as EventType].schema);
    this.slots.set(eventType, slots);
    return slots;
  }
}
