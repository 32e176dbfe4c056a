import { withKafkaAdmin } from '../../lib/clients/kafka';
import { key, type Offsets } from '../../processors/replay/offsets';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { eventually, randomName } from './index';

/** Reads `count` records of one or more topics from the beginning, with a deadline. */
export async function readAll(
  kafka: Kafka,
  topic: string | string[],
  count: number,
  timeoutMs = 30000,
): Promise<Array<KafkaMessage & { topic: string; partition: number }>> {
  const consumer = kafka.consumer({ groupId: randomName('it-read') });
  const seen: Array<KafkaMessage & { topic: string; partition: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: Array.isArray(topic) ? topic : [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic: t, partition, message }) => Promise.resolve(void seen.push({ ...message, topic: t, partition })),
    });
    await eventually(
      () => Promise.resolve(seen.length >= count ? true : undefined),
      `${count} records on ${String(topic)} (have ${seen.length})`,
      timeoutMs,
    );
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** The record of one event (by its eventId header), read from the beginning of a topic: what the broker stored. */
export async function recordOf(kafka: Kafka, topic: string, eventId: string, timeoutMs = 30000): Promise<KafkaMessage> {
  const consumer = kafka.consumer({ groupId: randomName('it-find') });
  let found: KafkaMessage | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (String(message.headers?.eventId) === eventId) found = message;
        return Promise.resolve();
      },
    });
    return await eventually(() => Promise.resolve(found), `event ${eventId} on ${topic}`, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
}

/** Sum of the end offsets of a topic: how many records it ever held. */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  return Object.values(await topicEndOffsets(kafka, topic)).reduce((n, high) => n + Number(high), 0);
}

/** Offsets per partition, keyed `topic:partition` (the replay tooling's own, so tests and product agree). */
export { endOffsets, key as partitionKey, type Offsets as PartitionOffsets } from '../../processors/replay/offsets';

/** A consumer group's committed offsets (the next offset it will read) on the topics; a partition it never committed counts as 0. */
export async function committedOffsets(admin: Admin, groupId: string, topics: string[]): Promise<Offsets> {
  const out: Offsets = new Map();
  for (const t of await admin.fetchOffsets({ groupId, topics }))
    for (const p of t.partitions) out.set(key(t.topic, p.partition), Math.max(0, Number(p.offset)));
  return out;
}

/** End offset of every partition of a topic, by partition number. */
export function topicEndOffsets(kafka: Kafka, topic: string): Promise<Record<number, string>> {
  return withKafkaAdmin(kafka, async (admin) =>
    Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high])),
  );
}
