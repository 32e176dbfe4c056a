import type http from 'node:http';
import { systemClock } from '../lib/clock';
import { loadConfigOrExit } from '../lib/config';
import { createLogger } from '../lib/logger';
import { loadJwtKeys } from './auth/jwt';
import { createApp } from './app';
import { createApiDeps } from './deps';
import { liveLocator } from './locator';

/** `npm run api` (or `node dist/api/main.js`): the HTTP API on API_PORT until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'api');
  const resources = await createApiDeps(config, logger, systemClock, loadJwtKeys(config), liveLocator(config));
  const app = createApp(resources.deps);
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(config.api.port, '0.0.0.0', () => resolve(s));
  });
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  const purge = setInterval(() => void resources.deps.idempotency.purge().catch(() => undefined), 60_000);
  logger.info('api listening', { port: config.api.port });
  const stop = (signal: string): void => {
    logger.info('api stopping', { signal });
    clearInterval(purge);
    server.close(() => void resources.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), config.runtime.shutdownTimeoutMs).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`api: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
