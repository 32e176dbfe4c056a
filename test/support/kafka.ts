import type { Kafka, KafkaMessage } from 'kafkajs';
import { eventually, randomName } from './index';

/** Reads `count` records of one or more topics from the beginning, with a deadline. */
export async function readAll(
  kafka: Kafka,
  topic: string | string[],
  count: number,
  timeoutMs = 30000,
): Promise<Array<KafkaMessage & { topic: string }>> {
  const consumer = kafka.consumer({ groupId: randomName('it-read') });
  const seen: Array<KafkaMessage & { topic: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: Array.isArray(topic) ? topic : [topic], fromBeginning: true });
    await consumer.run({ eachMessage: ({ topic: t, message }) => Promise.resolve(void seen.push({ ...message, topic: t })) });
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

/** Sum of the end offsets of a topic: how many records it ever held. */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** End offset of every partition of a topic, by partition number. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}
