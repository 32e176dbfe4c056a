import { Kafka, logLevel, type Admin, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { RETRIABLE_KAFKA_MESSAGES } from './kafka-errors';

/**
 * The one place that constructs the Kafka client. kafkajs is in maintenance mode
 * upstream; any KafkaJS-compatible client can be swapped in here.
 */
export function createKafka(config: Pick<Config, 'kafka'>, logger?: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: config.kafka.connectionTimeoutMs,
    requestTimeout: config.kafka.requestTimeoutMs,
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = entry.log;
      // A response kafkajs retries by itself (the group coordinator loading at start, a leader election) is not
      // an error for whoever reads our logs: if the retries run out, the call fails and that failure is logged.
      const retried = typeof extra.error === 'string' && RETRIABLE_KAFKA_MESSAGES.has(extra.error);
      const level = entry.level <= logLevel.ERROR && !retried ? 'error' : entry.level <= logLevel.WARN && !retried ? 'warn' : 'debug';
      logger.log(level, message, { kafkajs: entry.namespace, ...extra });
    },
    ...overrides,
  });
}

/** A short-lived admin client for one piece of work (tests, tools), disconnected whatever happens. */
export async function withKafkaAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
