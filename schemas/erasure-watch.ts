import crypto from 'node:crypto';
import os from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../lib/logger';
import { EVENT_DEFINITIONS, type EventType } from './generated/events';

/** The event that tells every process an erased person's data key is gone (issue 21). */
export const ERASURE_EVENT = 'user.personal-data.erased' satisfies EventType;
/** Its catalog topic. */
export const ERASURE_TOPIC = EVENT_DEFINITIONS[ERASURE_EVENT].topic;

/** How long stop() waits for a start still connecting. */
const STOP_WAIT_MS = 5000;

export interface ErasureWatchDeps {
  kafka: Kafka;
  /** Evicts a person's data key from this process's key cache (PgDataKeyStore.forget). */
  forget(subject: string): void;
  logger: Logger;
  /** Physical name of the catalog topic (tests isolate a run with a prefix). */
  topic?: string;
  /** Consumer group prefix (default: the process's KAFKA_CLIENT_ID). */
  groupPrefix?: string;
}

/**
 * Evicts erased people's data keys from this process's cache as their erasure events arrive, so a running
 * process stops decrypting them at once rather than after PRIVACY_KEY_CACHE_TTL_MS (which still bounds what
 * this misses: a process down or still joining when the event passed). Every process with a key cache runs one,
 * whether or not its processors consume user-events (grades and attendance decrypt comments and reasons too).
 *
 * A group of its own per process (kafkajs assigns partitions only through a group), reading from the end and
 * committing nothing, so it leaves no offsets behind and the broker drops the group once it is empty. It reads
 * the eventType header and the record key (the event's aggregateId, the userId: docs/events.md), so it decodes
 * nothing and needs no registry.
 */
export class ErasureWatch {
  private consumer: Consumer | undefined;
  private starting: Promise<void> | undefined;
  readonly groupId: string;

  constructor(private readonly deps: ErasureWatchDeps) {
    const prefix = deps.groupPrefix ?? 'school-events';
    this.groupId = `${prefix}.key-cache.${os.hostname()}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  }

  /**
   * A watch started without waiting for it to join its group (seconds, off the start-up path of the API and the
   * processor hosts): until it runs, PRIVACY_KEY_CACHE_TTL_MS bounds what it misses. A failed start is logged.
   */
  static inBackground(deps: ErasureWatchDeps): ErasureWatch {
    const watch = new ErasureWatch(deps);
    watch.start().catch((e: unknown) => {
      deps.logger.warn('erasure watch did not start: erased keys leave this cache after PRIVACY_KEY_CACHE_TTL_MS', {
        error: e instanceof Error ? e.message : String(e),
      });
    });
    return watch;
  }

  /** Joins the group and starts evicting; resolves once the consumer runs. */
  start(): Promise<void> {
    this.starting = this.run();
    return this.starting;
  }

  /**
   * Leaves the group. A start still connecting (a broker down) is waited for at most STOP_WAIT_MS, so a
   * graceful stop stays within its bound; errors are the watch's own and are not the stopping caller's.
   */
  async stop(): Promise<void> {
    const starting = this.starting?.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([starting, new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }

  private async run(): Promise<void> {
    const consumer = this.deps.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 1000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.deps.topic ?? ERASURE_TOPIC, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ message }) => {
        const type = message.headers?.eventType;
        if ((Array.isArray(type) ? type[0] : type)?.toString() !== ERASURE_EVENT || !message.key) return Promise.resolve();
        const subject = message.key.toString();
        this.deps.forget(subject);
        this.deps.logger.info('erased data key evicted from the cache', { subject });
        return Promise.resolve();
      },
    });
  }
}
