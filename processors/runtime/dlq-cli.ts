import { parseCli, runCli, timeFlag, UsageError } from '../../lib/cli';
import { loadConfig } from '../../lib/config';
import { createKafka } from '../../lib/clients/kafka';
import { createLogger } from '../../lib/logger';
import { DOMAIN_TOPICS, dlqTopic, parkedTopic } from '../../topics/catalog';
import { matches, readDeadLetters, redrive, type DeadLetter, type DeadLetterFilter } from './dlq';

const USAGE = `usage: npm run dlq -- <command> [options]
  list     [--topic T] [--event-type E] [--error-class C] [--rule R] [--since ISO] [--until ISO] [--parked]
  show     <id>                      (id = <dlq topic>:<partition>:<offset>, as printed by list)
  redrive  <id>... | --all [filters] [--rate N]  (N records/s, default 50) [--dry-run]`;

const out = (s: string): void => void process.stdout.write(`${s}\n`);

function summary(d: DeadLetter): string {
  return [
    d.id.padEnd(34),
    (d.eventType ?? '-').padEnd(28),
    (d.errorClass ?? '-').padEnd(24),
    d.movedAt ?? '-',
    `redrives=${d.redriveCount}`,
    (d.errorMessage ?? '').slice(0, 80),
  ].join('  ');
}

runCli('dlq', async () => {
  const { positionals, values } = parseCli({
    name: 'dlq',
    help: USAGE,
    allowPositionals: true,
    options: {
      topic: { type: 'string' },
      'event-type': { type: 'string' },
      'error-class': { type: 'string' },
      rule: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      parked: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      rate: { type: 'string', default: '50' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const [command, ...ids] = positionals;
  if (values.topic && !(DOMAIN_TOPICS as readonly string[]).includes(values.topic))
    throw new UsageError(`--topic must be one of ${DOMAIN_TOPICS.join(', ')}`);
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`--rate must be a positive number, got ${values.rate}`);
  const filter: DeadLetterFilter = {
    sourceTopic: values.topic,
    eventType: values['event-type'],
    errorClass: values['error-class'],
    rule: values.rule,
    since: timeFlag('since', values.since),
    until: timeFlag('until', values.until),
  };
  const config = loadConfig();
  const kafka = createKafka(config, createLogger(config, 'dlq'));
  const sources = values.topic ? [values.topic] : [...DOMAIN_TOPICS];
  const topics = [...sources.map(dlqTopic), ...(values.parked || command !== 'list' ? sources.map(parkedTopic) : [])];

  if (command === 'list') {
    const letters = (await readDeadLetters(kafka, topics)).filter((d) => matches(d, filter));
    for (const d of letters) out(summary(d));
    out(`${letters.length} dead letter(s)`);
  } else if (command === 'show') {
    if (ids.length !== 1) throw new UsageError('show takes exactly one id');
    const d = (await readDeadLetters(kafka, [ids[0]!.split(':')[0]!])).find((x) => x.id === ids[0]);
    if (!d) throw new UsageError(`no dead letter ${ids[0]}`);
    out(summary(d));
    out(`key: ${d.key?.toString() ?? '(null)'}`);
    out(
      `value: ${d.value ? `${d.value.length} bytes, hex ${d.value.subarray(0, 64).toString('hex')}${d.value.length > 64 ? '…' : ''}` : '(null)'}`,
    );
    for (const [k, v] of Object.entries(d.headers)) out(`header ${k}: ${String(v)}`);
  } else if (command === 'redrive') {
    if (!values.all && ids.length === 0) throw new UsageError('redrive needs ids, or --all with filters');
    const all = await readDeadLetters(kafka, values.all ? topics : [...new Set(ids.map((i) => i.split(':')[0]!))]);
    const chosen = values.all ? all.filter((d) => matches(d, filter)) : ids.map((id) => all.find((d) => d.id === id) ?? missing(id));
    for (const d of chosen) out(`${values['dry-run'] ? 'would redrive' : 'redrive'} ${summary(d)}`);
    if (!values['dry-run']) {
      const producer = kafka.producer();
      await producer.connect();
      try {
        out(`${await redrive(producer, chosen, { ratePerSecond: rate })} record(s) redriven`);
      } finally {
        await producer.disconnect();
      }
    }
  } else
    throw new UsageError(command ? `unknown command ${command}; commands: list, show, redrive` : 'give a command: list, show or redrive');
});

function missing(id: string): never {
  throw new UsageError(`no dead letter ${id}`);
}
