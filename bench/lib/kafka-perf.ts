import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../lib/config';
import { createKafka } from '../../lib/clients/kafka';
import { ensureKafka } from '../../deploy/local/install';
import { stackPaths } from '../../deploy/local/stack';
import { deleteTopics, freshTopic } from './setup';

/**
 * The yardstick: Kafka's own kafka-producer-perf-test and kafka-consumer-perf-test (classes of the
 * kafka-tools jar the local stack installs) on a fresh topic shaped like ours, so "our events/s"
 * can be read against what this broker on this machine does with no processing at all.
 */
export interface KafkaPerf {
  producer: number;
  consumer: number;
  topic: string;
  partitions: number;
  records: number;
  recordSize: number;
}

/** Runs a kafka-tools main class with the stack's jars; resolves with stdout, rejects with the tail of both streams. */
function runTool(config: Config, mainClass: string, args: string[], timeoutMs: number): Promise<string> {
  const lib = ensureKafka(stackPaths(config).cache, () => undefined);
  // Quiet log4j: the tools log every client config at INFO, which would bury the result lines.
  const log4j = path.join(os.tmpdir(), 'bench-kafka-tools-log4j.properties');
  fs.writeFileSync(
    log4j,
    'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%p %m%n\n',
  );
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx512m', '-cp', `${lib}/*`, `-Dlog4j.configuration=file:${log4j}`, mainClass, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${mainClass} exited ${code}: ${`${out}\n${err}`.trim().split('\n').slice(-8).join('\n')}`));
    });
  });
}

/** "N records sent, X records/sec (Y MB/sec), …" is the producer tool's last line. */
export function parseProducer(out: string): number {
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(out.trim().split('\n').pop() ?? '');
  if (!m) throw new Error(`no summary line in kafka-producer-perf-test output:\n${out}`);
  return Number(m[2]);
}

/**
 * The consumer tool prints a CSV header and one line of values. fetch.nMsg.sec leaves out the
 * group join (rebalance.time.ms), as bench:runtime's steady figure does; nMsg.sec would include it.
 */
export function parseConsumer(out: string): number {
  const lines = out
    .trim()
    .split('\n')
    .filter((l) => l.includes(','));
  const header = (lines[lines.length - 2] ?? '').split(',').map((s) => s.trim());
  const values = (lines[lines.length - 1] ?? '').split(',').map((s) => s.trim());
  const i = header.indexOf('fetch.nMsg.sec');
  if (i < 0 || values[i] === undefined) throw new Error(`no fetch.nMsg.sec in kafka-consumer-perf-test output:\n${out}`);
  return Number(values[i]);
}

export async function kafkaPerf(config: Config, partitions: number, records: number, recordSize: number): Promise<KafkaPerf> {
  const kafka = createKafka(config);
  const bootstrap = config.kafka.brokers.join(',');
  const topic = `bench-yardstick-${Math.random().toString(36).slice(2, 10)}`;
  await freshTopic(kafka, topic, partitions);
  try {
    // Our producer's settings (schemas/publisher.ts): acks=all, idempotent, 5 in flight, no compression.
    const producerOut = await runTool(
      config,
      'org.apache.kafka.tools.ProducerPerformance',
      [
        ...['--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', '-1'],
        ...['--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all', 'enable.idempotence=true'],
        ...['max.in.flight.requests.per.connection=5', 'compression.type=none'],
      ],
      300_000,
    );
    const consumerOut = await runTool(
      config,
      'org.apache.kafka.tools.ConsumerPerformance',
      [
        ...['--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(records)],
        ...['--group', `${topic}-consumer`, '--timeout', '60000'],
      ],
      300_000,
    );
    return { producer: parseProducer(producerOut), consumer: parseConsumer(consumerOut), topic, partitions, records, recordSize };
  } finally {
    await deleteTopics(kafka, [topic]);
    await deleteGroup(config, `${topic}-consumer`);
  }
}

/** The perf consumer's group would otherwise stay listed on the shared broker. */
async function deleteGroup(config: Config, group: string): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await admin.deleteGroups([group]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
