import fs from 'node:fs';
import path from 'node:path';

/** `npm run build` copies what tsc does not: the SQL migrations next to the compiled processors, and the two contracts and the browser pages the API serves. */
const root = path.resolve(__dirname, '..');
for (const f of ['api/openapi.yaml', 'docs/asyncapi.yaml']) {
  fs.mkdirSync(path.join(root, 'dist', path.dirname(f)), { recursive: true });
  fs.copyFileSync(path.join(root, f), path.join(root, 'dist', f));
}
// The browser pages (api/web: plain files, served as they are).
fs.cpSync(path.join(root, 'api', 'web'), path.join(root, 'dist', 'api', 'web'), { recursive: true });
const migrationDirs = [
  ...fs.readdirSync(path.join(root, 'processors')).map((dir) => path.join('processors', dir, 'migrations')),
  path.join('lib', 'privacy', 'migrations'),
];
for (const dir of migrationDirs) {
  const from = path.join(root, dir);
  if (!fs.existsSync(from)) continue;
  const to = path.join(root, 'dist', dir);
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
}
