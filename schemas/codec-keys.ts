import type pg from 'pg';
import type { Config } from '../lib/config';
import { openKeyStore } from '../lib/privacy';
import type { CodecOptions } from './codec';

/**
 * The key access a process's codec gets (issue 21): the data key store (PostgreSQL, PRIVACY_SCHEMA) decrypts
 * always, and encrypts when PRIVACY_ENCRYPT is on. For the composition roots (API, processor host, demo).
 */
export async function codecKeys(
  config: Pick<Config, 'env' | 'privacy'>,
  pool: pg.Pool,
): Promise<Pick<CodecOptions, 'encryptor' | 'decryptor'>> {
  const store = await openKeyStore(config, pool);
  return { decryptor: store, encryptor: config.privacy.encrypt ? store : undefined };
}
