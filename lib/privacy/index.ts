import type pg from 'pg';
import type { Config } from '../config';
import { loadKek, loadPreviousKek } from './kek';
import { PgDataKeyStore } from './key-store';

export { DataKeyNotFoundError, DecryptionFailedError, KeyUnwrapError, SubjectErasedError, UnknownKekError } from './errors';
export { decryptField, encryptField, type DataKey, type EncryptedValue, type FieldContext } from './field-cipher';
export { LocalKek, loadKek, loadPreviousKek, type KeyEncryptionKey } from './kek';
export { PgDataKeyStore, type KeyStatus } from './key-store';

/**
 * The key store as configured: the current KEK (PRIVACY_KEK or the local file), the previous one when a
 * rotation is configured, the schema and cache size from config. Migrates its schema first.
 */
export function openKeyStore(config: Pick<Config, 'env' | 'privacy'>, pool: pg.Pool): Promise<PgDataKeyStore> {
  const previous = loadPreviousKek(config);
  return PgDataKeyStore.open({
    pool,
    schema: config.privacy.schema,
    kek: loadKek(config),
    previousKeks: previous ? [previous] : [],
    cacheSize: config.privacy.keyCacheSize,
    cacheTtlMs: config.privacy.keyCacheTtlMs,
  });
}
