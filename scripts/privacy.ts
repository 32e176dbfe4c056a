import { parseCli, runCli, UsageError } from '../lib/cli';
import { createPgPool } from '../lib/clients/pg';
import { loadConfigOrExit } from '../lib/config';
import { loadKek, loadPreviousKek, openKeyStore, type KeyStatus } from '../lib/privacy';
import { ERASED_MARKER } from '../schemas/personal-fields';
import { ERASURE_REASONS, eraseAndPublish, type ErasureReason } from './privacy-erase';

const HELP = `usage: npm run privacy -- keys status | keys rotate | erase --user <id> [--reason R] [--topic T]

Data keys of personal data (issue 21): one per person, wrapped by a key-encryption key (KEK), in PostgreSQL
(PRIVACY_SCHEMA, table data_keys).
  keys status     subjects with a key, erased subjects, active keys by KEK id (* = the configured PRIVACY_KEK)
  keys rotate     re-wraps every key under PRIVACY_KEK, unwrapping with PRIVACY_KEK_PREVIOUS (the old KEK);
                  no event is rewritten. Idempotent: run it again after every process runs on the new KEK.
  erase --user ID crypto-shredding, irreversible: deletes the person's data key and keeps a tombstone, so every
                  personal field encrypted under it reads as the erased marker and they never get a new key;
                  then publishes user.personal-data.erased, on which running processes drop the key from their
                  caches and projections replace what they hold of the person by the marker. Running it again
                  publishes the event again (a retry after a failed publish); applying it twice changes nothing.
    --reason R    ${ERASURE_REASONS.join(' | ')} (default none)
    --topic T     where the event goes (default user-events; tests use their own copy)`;

function print(s: KeyStatus, currentKekId: string): void {
  process.stdout.write(`subjects ${s.subjects}  active ${s.active}  erased ${s.erased}\n`);
  for (const [kek, n] of Object.entries(s.byKek).sort()) process.stdout.write(`  ${kek === currentKekId ? '*' : ' '} ${kek}  ${n}\n`);
}

runCli('privacy', async () => {
  const { positionals, values } = parseCli({
    name: 'privacy',
    help: HELP,
    options: { user: { type: 'string' }, reason: { type: 'string' }, topic: { type: 'string' } },
    allowPositionals: true,
  });
  const [group, command, extra] = positionals;
  const erase = group === 'erase' && command === undefined;
  if (erase && !values.user?.trim()) throw new UsageError('erase needs --user <user id>');
  if (!erase && (values.user ?? values.reason ?? values.topic) !== undefined)
    throw new UsageError('--user, --reason and --topic go with erase');
  if (values.reason !== undefined && !ERASURE_REASONS.includes(values.reason as ErasureReason))
    throw new UsageError(`--reason must be one of ${ERASURE_REASONS.join(', ')}`);
  if (!erase && (group !== 'keys' || (command !== 'status' && command !== 'rotate') || extra !== undefined))
    throw new UsageError(`expected "keys status" or "keys rotate" or "erase --user <id>", got ${JSON.stringify(positionals.join(' '))}`);
  const config = loadConfigOrExit(); // a bad PRIVACY_KEK: its key, rule and env var on one line, exit 2
  const previous = loadPreviousKek(config);
  if (command === 'rotate' && !previous)
    throw new UsageError('keys rotate needs the old KEK in PRIVACY_KEK_PREVIOUS and the new one in PRIVACY_KEK');
  const kek = loadKek(config);
  if (command === 'rotate' && previous?.id === kek.id) throw new UsageError('PRIVACY_KEK and PRIVACY_KEK_PREVIOUS are the same key');
  const pool = createPgPool(config, { max: 2 });
  try {
    const store = await openKeyStore(config, pool);
    if (erase) {
      const user = values.user!.trim();
      const { erasedNow, event } = await eraseAndPublish(config, store, user, {
        reason: (values.reason as ErasureReason | undefined) ?? null,
        topic: values.topic,
      });
      process.stdout.write(
        `${erasedNow ? `erased the data key of ${user}` : `${user} was already erased`}: their personal fields read as ${JSON.stringify(ERASED_MARKER)}; published ${event.eventType} ${event.eventId} (processes drop the key from their caches on it, at the latest after PRIVACY_KEY_CACHE_TTL_MS, ${config.privacy.keyCacheTtlMs} ms)\n`,
      );
    }
    if (command === 'rotate') {
      const { rewrapped } = await store.rewrap(kek);
      process.stdout.write(`re-wrapped ${rewrapped} data key(s) under ${kek.id} (from ${previous!.id})\n`);
    }
    print(await store.status(), kek.id);
  } finally {
    await pool.end();
  }
});
