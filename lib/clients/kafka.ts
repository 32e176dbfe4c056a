import { Kafka, logLevel, type Admin, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from '../config';
import type { Logger } from '../logger';

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
      const level = entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
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
