import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../lib/config';
import { loadKek } from '../../lib/privacy/kek';

/**
 * The stack's key-encryption key as a downstream team would be handed it: PRIVACY_KEK when set, else the local
 * file the stack generated (`.stack/privacy/kek`, base64 of 32 bytes). Tests only: key material never leaves a
 * product process.
 */
export function configuredKekBase64(config: Pick<Config, 'env' | 'privacy'>): string {
  if (config.privacy.kek) return config.privacy.kek;
  loadKek(config); // generates the local file if no process did yet
  return fs.readFileSync(path.resolve(config.privacy.kekFile), 'utf8').trim();
}
