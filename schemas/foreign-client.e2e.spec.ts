import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { fixedClock } from '../lib/clock';
import { createKafka } from '../lib/clients/kafka';
import { createSchemaRegistry } from '../lib/clients/registry';
import { randomName, testConfig } from '../test/support';
import { EventCodec } from './codec';
import { buildEvent } from './envelope';
import { EXAMPLE_PAYLOADS } from './examples';
import { EVENT_TYPES } from './generated/events';
import { createEventProducer, EventPublisher } from './publisher';

/**
 * A client we did not write decodes what we publish: Python confluent-kafka's stock
 * AvroDeserializer, configured with nothing but the broker and the registry URL.
 * Its virtualenv is made once under the stack cache from scripts/foreign-client/requirements.txt.
 */
const ROOT = path.resolve(__dirname, '..');

function ensureVenv(cacheDir: string): string {
  const req = path.join(ROOT, 'scripts/foreign-client/requirements.txt');
  const venv = path.join(cacheDir, 'pyvenv-foreign-client');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.requirements');
  const wanted = fs.readFileSync(req, 'utf8');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python;
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (python3 with venv and pip is a prerequisite of this test):\n${r.stderr}`);
  };
  run('python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '-q', '-r', req]);
  fs.writeFileSync(stamp, wanted);
  return python;
}

describe('a foreign client (Python confluent-kafka AvroDeserializer) decodes our records', function () {
  this.timeout(300000);
  const config = testConfig();
  const kafka = createKafka(config);
  const topic = randomName('e2e-foreign');
  let admin: Admin;
  let producer: Producer;
  let python: string;

  before(async () => {
    python = ensureVenv(config.stack.cacheDir);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    producer = createEventProducer(kafka);
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('every event type, field for field', async () => {
    const clock = fixedClock('2025-03-15T08:30:00.123Z');
    const events = EVENT_TYPES.map((t) => buildEvent(t, EXAMPLE_PAYLOADS[t], { sourceService: 'e2e', clock }));
    await new EventPublisher(producer, new EventCodec(createSchemaRegistry(config)), () => topic).publish(...events);
    const r = spawnSync(
      python,
      [
        path.join(ROOT, 'scripts/foreign-client/decode.py'),
        config.kafka.brokers.join(','),
        config.registry.url,
        topic,
        String(events.length),
      ],
      {
        encoding: 'utf8',
        timeout: 120000,
      },
    );
    expect(r.status, r.stderr).to.equal(0);
    const decoded = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; headers: Record<string, string>; value: unknown });
    expect(decoded).to.have.length(events.length);
    decoded.forEach((d, i) => {
      const e = events[i]!;
      expect(d.key).to.equal(e.aggregateId);
      expect(d.headers.eventType).to.equal(e.eventType);
      expect(d.value).to.deep.equal(JSON.parse(JSON.stringify(e)));
    });
  });
});
