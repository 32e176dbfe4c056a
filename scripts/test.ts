import { spawnSync } from 'node:child_process';
import { loadConfig } from '../lib/config';
import { up } from '../deploy/local/stack';

/**
 * `npm test`: brings the local stack up when it is not running (a no-op when it is),
 * type-checks, then runs every tier: unit, integration, end-to-end.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const t0 = Date.now();
  await up(config);
  process.stdout.write(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const steps: Array<[string, string[]]> = [
    ['typecheck', ['run', 'typecheck']],
    ['unit', ['run', 'test:unit']],
    ['integration', ['run', 'test:int']],
    ['end-to-end', ['run', 'test:e2e']],
  ];
  for (const [name, args] of steps) {
    process.stdout.write(`\n=== ${name} ===\n`);
    const r = spawnSync('npm', args, { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`${name} failed\n`);
      process.exit(r.status ?? 1);
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`test: ${(e as Error).message}\n`);
  process.exit(1);
});
