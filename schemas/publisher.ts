import type { Kafka, Message, Producer } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';
import type { EventCodec } from './codec';
import { EVENT_DEFINITIONS, type SchoolEvent } from './generated/events';

export const CONTENT_TYPE = 'application/vnd.school.event+avro';

/**
 * Idempotent producer, acks from all in-sync replicas: no duplicates from producer retries, no loss on
 * leader change. Up to 5 requests in flight keep per-partition order under idempotence (broker sequence numbers).
 */
export function createEventProducer(kafka: Kafka): Producer {
  // The default partitioner is the Java client's murmur2: keys land where other clients' producers put them.
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** Record headers: what a consumer needs to route or trace without decoding. */
export function eventHeaders(event: SchoolEvent): Record<string, string> {
  const h: Record<string, string> = {
    eventType: event.eventType,
    eventId: event.eventId,
    correlationId: event.correlationId,
    'content-type': CONTENT_TYPE,
  };
  if (event.causationId) h.causationId = event.causationId;
  // W3C trace context for consumers that trace from headers (ours read it from the metadata too).
  if (event.metadata.traceparent) h.traceparent = event.metadata.traceparent;
  return h;
}

/** One encoded event ready to send: what a transactional outbox stores. */
export interface OutboundRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Publishes typed events: every event is validated and encoded before anything is
 * sent, so a bad one fails the call with nothing written. Key = aggregateId.
 */
export class EventPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly codec: EventCodec,
    /** Where each event goes; tests and replays point it at other topics. */
    readonly topicOf: (event: SchoolEvent) => string = (event) => EVENT_DEFINITIONS[event.eventType].topic,
  ) {}

  async publish(...events: SchoolEvent[]): Promise<void> {
    await this.send(await this.encode(...events));
  }

  /** Validates and encodes events into the records `send` writes (a bad event throws, naming the field). */
  async encode(...events: SchoolEvent[]): Promise<OutboundRecord[]> {
    const out: OutboundRecord[] = [];
    for (const event of events) {
      const value = await this.codec.encode(event); // first: it names an unknown type or a bad field
      out.push({ topic: this.topicOf(event), key: event.aggregateId, value, headers: eventHeaders(event) });
    }
    return out;
  }

  /** Sends encoded records in one request per call, in their order per topic. */
  async send(records: readonly OutboundRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.key, value: r.value, headers: r.headers });
      byTopic.set(r.topic, list);
    }
    await this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}

/**
 * Publishes concurrent callers' events together: while one send is in flight, new events
 * queue and go out in the next single send. kafkajs's idempotent producer allows one request
 * per broker at a time, so without this, concurrent HTTP commands wait in line for each
 * other's broker round trip. Each caller's promise settles with its batch (after acks=all).
 * Callers validate first: one invalid event would fail its whole batch.
 */
export class CoalescingPublisher {
  private queue: Array<{ events: SchoolEvent[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushing = false;

  constructor(private readonly inner: Pick<EventPublisher, 'publish'>) {}

  publish(...events: SchoolEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.queue.length);
      try {
        await this.inner.publish(...batch.flatMap((b) => b.events));
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.flushing = false;
  }
}
