import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseCli, runCli } from '../../lib/cli';
import { loadConfig } from '../../lib/config';
import { ensurePromtool } from '../local/install';

const HELP = `usage: npm run rules:test

Checks the Prometheus rules (deploy/observability/alerts.yaml) with promtool and runs their unit tests
(alerts.test.yaml: every alert firing and not firing). promtool comes from PATH, else from Debian's
prometheus package, unpacked into STACK_CACHE_DIR (nothing is installed).`;

runCli('rules:test', () => {
  parseCli({ name: 'rules:test', help: HELP, options: {} });
  const promtool = ensurePromtool(loadConfig().stack.cacheDir, (m) => process.stdout.write(`${m}\n`));
  const cwd = path.join(__dirname);
  for (const args of [
    ['check', 'rules', 'alerts.yaml'],
    ['test', 'rules', 'alerts.test.yaml'],
  ]) {
    const r = spawnSync(promtool, args, { cwd, stdio: 'inherit' });
    if (r.status !== 0) {
      process.exitCode = 1;
      return;
    }
  }
});
