import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { ConfigError } from '../errors';
import { KeyUnwrapError } from './errors';

/**
 * The key-encryption key (KEK) that wraps every data key at rest. One small interface so production can plug a
 * KMS (AWS KMS Encrypt/Decrypt, GCP Cloud KMS, Vault transit: each is wrap/unwrap of a small blob with
 * associated data, and `id` is the KMS key's version) without touching the key store; the local
 * implementation keeps the KEK in process memory. Async because a KMS call is a network round trip; the key
 * store caches unwrapped data keys so it is not one per record.
 */
export interface KeyEncryptionKey {
  /** Stable, non-secret id stored beside each wrapped key (which KEK to unwrap with; what rotation moves). */
  readonly id: string;
  wrap(dataKey: Buffer, associatedData: Buffer): Promise<Buffer>;
  /** KeyUnwrapError when the blob or its associated data were not wrapped by this KEK. */
  unwrap(wrapped: Buffer, associatedData: Buffer): Promise<Buffer>;
}

const IV = 12;
const TAG = 16;

/** AES-256-GCM with a 32-byte key in memory; the wrapped blob is iv ‖ tag ‖ ciphertext. */
export class LocalKek implements KeyEncryptionKey {
  readonly id: string;

  constructor(private readonly material: Buffer) {
    if (material.length !== 32) throw new ConfigError(`a key-encryption key must be 32 bytes, got ${material.length}`);
    // A fingerprint, not the key: tells KEKs apart in the table without revealing anything usable.
    this.id = `local:${crypto.createHash('sha256').update('school-events/kek-id').update(material).digest('hex').slice(0, 16)}`;
  }

  wrap(dataKey: Buffer, associatedData: Buffer): Promise<Buffer> {
    const iv = crypto.randomBytes(IV);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.material, iv, { authTagLength: TAG });
    cipher.setAAD(associatedData);
    const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Promise.resolve(Buffer.concat([iv, cipher.getAuthTag(), ct]));
  }

  unwrap(wrapped: Buffer, associatedData: Buffer): Promise<Buffer> {
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.material, wrapped.subarray(0, IV), { authTagLength: TAG });
      decipher.setAAD(associatedData);
      decipher.setAuthTag(wrapped.subarray(IV, IV + TAG));
      return Promise.resolve(Buffer.concat([decipher.update(wrapped.subarray(IV + TAG)), decipher.final()]));
    } catch (e) {
      return Promise.reject(new KeyUnwrapError(`a data key does not unwrap under KEK ${this.id}`, { cause: e }));
    }
  }
}

/** The current KEK from config: PRIVACY_KEK, else the local file (generated once, like the JWT key pair). */
export function loadKek(config: Pick<Config, 'env' | 'privacy'>): KeyEncryptionKey {
  if (config.privacy.kek) return new LocalKek(Buffer.from(config.privacy.kek, 'base64'));
  if (config.env === 'production')
    throw new ConfigError('PRIVACY_KEK is required in production (base64 of 32 bytes from your secret store, or plug a KMS)');
  const file = path.resolve(config.privacy.kekFile);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    // link, not rename: two processes starting at once must not replace a KEK that already wrapped keys.
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const material = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (material.length !== 32) throw new ConfigError(`${file} must hold the base64 of 32 bytes (PRIVACY_KEK_FILE)`);
  return new LocalKek(material);
}

/** The KEK being rotated away from (PRIVACY_KEK_PREVIOUS), if a rotation is configured. */
export function loadPreviousKek(config: Pick<Config, 'privacy'>): KeyEncryptionKey | undefined {
  return config.privacy.kekPrevious ? new LocalKek(Buffer.from(config.privacy.kekPrevious, 'base64')) : undefined;
}
