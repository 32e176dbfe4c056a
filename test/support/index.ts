import crypto from 'node:crypto';
import { loadConfig, type Config } from '../../lib/config';

/** Config for tests: the same loader the product uses, quiet logs. */
export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ LOG_LEVEL: 'error', ...process.env, NODE_ENV: 'test', ...overrides });
}

export const randomName = (prefix: string): string => `${prefix}-${crypto.randomBytes(5).toString('hex')}`;

/** Polls until `check` returns a value (not undefined) or the deadline passes; never a bare sleep. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}
