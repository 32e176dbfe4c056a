import type pg from 'pg';
import type { Config } from '../lib/config';
import { openKeyStore, type PgDataKeyStore } from '../lib/privacy';
import type { CodecOptions } from './codec';

/** The codec's key options, and the store behind them (to erase, and to evict on an erasure event: ErasureWatch). */
export type CodecKeys = Pick<CodecOptions, 'encryptor' | 'decryptor'> & { store: PgDataKeyStore };

/**
 * The key access a process's codec gets (issue 21): the data key store (PostgreSQL, PRIVACY_SCHEMA) decrypts
 * always, and encrypts when PRIVACY_ENCRYPT is on. For the composition roots (API, processor host, demo).
 */
export async function codecKeys(config: Pick<Config, 'env' | 'privacy'>, pool: pg.Pool): Promise<CodecKeys> {
  const store = await openKeyStore(config, pool);
  return { store, decryptor: store, encryptor: config.privacy.encrypt ? store : undefined };
}
