import crypto from 'node:crypto';
import { ConfigResourceTypes, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { EventCodec } from '../../schemas/codec';
import { classify } from '../runtime/errors';
import { endOffsets, key, startOffsets, type Offsets } from './offsets';
import { progressOf, type Progress } from './progress';

export interface ReencryptOptions {
  from: string;
  to: string;
  /** Decodes without a decryptor (what is encrypted stays as it is) and encodes with an encryptor. */
  codec: EventCodec;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  logger: Logger;
  /** Called after each batch copied (a progress bar or log line). */
  onProgress?: (p: Progress) => void;
}

export interface ReencryptResult {
  /** Records re-encoded with different bytes: personal plaintext sealed, or an earlier schema version upgraded. */
  rewritten: number;
  /** Records copied byte for byte after re-encoding (nothing to seal, current schema) and tombstones. */
  unchanged: number;
  /** Records that do not decode (a poison record in the source): copied byte for byte, never dropped. */
  raw: number;
  /** Records a previous run had copied already (skipped). */
  skipped: number;
}

/**
 * The migration path of topics written before PRIVACY_ENCRYPT (issue 21): copies `from` into `to`, partition
 * by partition in order, with each record's key, headers and timestamp, and its personal fields in plaintext
 * written encrypted (an erased person's as the marker). What is already encrypted is copied as it is (its
 * associated data, the event id and the field path, does not change). A record is re-encoded with the current
 * schema, into which any earlier version resolves.
 *
 * It copies what `from` holds when it starts (its end offsets then) and is resumable: the k-th record of a
 * source partition goes to the same partition of `to`, so a second run skips as many records as `to` already
 * holds there. `to` must not be written by anything else.
 */
export async function reencryptTopic(o: ReencryptOptions): Promise<ReencryptResult> {
  if (!o.codec.encrypts) throw new ReencryptError('the copy needs a codec with an encryptor (PRIVACY_ENCRYPT=true)');
  const copied = await copiedSoFar(o); // checks the topics first
  const [low, high] = [await startOffsets(o.admin, [o.from]), await endOffsets(o.admin, [o.from])];
  const result: ReencryptResult = { rewritten: 0, unchanged: 0, raw: 0, skipped: 0 };
  const seen = new Map<number, number>(); // records read per source partition (offsets may have gaps)
  const position: Offsets = new Map(); // next source offset per partition, for progress
  const started = Date.now();
  const remaining = (): boolean => [...high].some(([k, end]) => (position.get(k) ?? low.get(k) ?? 0) < end);
  if (!remaining()) return result;

  // A throwaway group: the copy's own position is the target's record count, not a committed offset.
  const groupId = `reencrypt-${o.from}-${crypto.randomBytes(4).toString('hex')}`;
  const consumer = o.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 4 * 1024 * 1024 });
  let done!: () => void;
  let failed!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [o.from], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        try {
          const k = key(o.from, batch.partition);
          const end = high.get(k) ?? 0;
          const out: Message[] = [];
          for (const m of batch.messages) {
            if (Number(m.offset) >= end) break; // written after the copy started: not this run's
            const index = seen.get(batch.partition) ?? 0;
            seen.set(batch.partition, index + 1);
            position.set(k, Number(m.offset) + 1);
            if (index < (copied.get(batch.partition) ?? 0)) {
              result.skipped++;
              continue;
            }
            out.push({
              partition: batch.partition,
              key: m.key,
              value: await reseal(o, m.value, result),
              headers: m.headers,
              timestamp: m.timestamp,
            });
          }
          if (out.length) await o.producer.send({ topic: o.to, acks: -1, messages: out });
          if (Number(batch.lastOffset()) + 1 >= end) position.set(k, end);
          await payload.heartbeat();
          o.onProgress?.(progressOf(low, high, position, (Date.now() - started) / 1000));
          if (!remaining()) done();
        } catch (e) {
          failed(e);
          throw e;
        }
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
    await o.admin
      .deleteGroups([groupId])
      .catch((e: unknown) => o.logger.warn('could not delete the copy group', { groupId, error: String(e) }));
  }
  return result;
}

/** Topic configs the copy takes over from the source (what makes a domain topic keep everything). */
const KEPT_CONFIGS = ['cleanup.policy', 'retention.ms', 'retention.bytes', 'min.insync.replicas', 'message.timestamp.type'];

/**
 * Records `to` holds per partition (what an earlier run copied); `to` is created like `from` (partitions,
 * replication, retention) when missing, and refused when its partitions differ (the copy keeps partitions).
 */
async function copiedSoFar(o: Pick<ReencryptOptions, 'admin' | 'to' | 'from'>): Promise<Map<number, number>> {
  const topics = await o.admin.listTopics();
  if (!topics.includes(o.from)) throw new ReencryptError(`topic ${o.from} does not exist`);
  const [source] = (await o.admin.fetchTopicMetadata({ topics: [o.from] })).topics;
  const partitions = source?.partitions.length ?? 0;
  if (!topics.includes(o.to)) {
    const described = await o.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: o.from, configNames: KEPT_CONFIGS }],
    });
    const configEntries = (described.resources[0]?.configEntries ?? [])
      .filter((e) => !e.isDefault)
      .map((e) => ({ name: e.configName, value: e.configValue }));
    const replicationFactor = source?.partitions[0]?.replicas.length ?? 1;
    await o.admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: o.to, numPartitions: partitions, replicationFactor, configEntries }],
    });
  }
  const [target] = (await o.admin.fetchTopicMetadata({ topics: [o.to] })).topics;
  if ((target?.partitions.length ?? 0) !== partitions)
    throw new ReencryptError(
      `${o.to} has ${target?.partitions.length ?? 0} partitions and ${o.from} ${partitions}: the copy keeps partitions, they must match`,
    );
  const out = new Map<number, number>();
  for (const p of await o.admin.fetchTopicOffsets(o.to)) out.set(p.partition, Number(p.high) - Number(p.low));
  return out;
}

/**
 * A source record re-encoded: personal plaintext sealed, the current schema. One that does not decode for
 * good is copied as it is (counted); a transient failure (registry, key store) stops the copy, to resume.
 */
async function reseal(o: Pick<ReencryptOptions, 'codec'>, value: Buffer | null, result: ReencryptResult): Promise<Buffer | null> {
  if (value === null) {
    result.unchanged++;
    return value;
  }
  let decoded;
  try {
    decoded = await o.codec.decode(value);
  } catch (e) {
    if (classify(e) === 'transient') throw e;
    result.raw++; // the processors dead-letter it from the copy as they did from the source
    return value;
  }
  const out = await o.codec.encode(decoded.event);
  if (out.equals(value)) result.unchanged++;
  else result.rewritten++;
  return out;
}

/** The copy cannot go on as asked (a missing source, mismatched partitions, no encryptor). */
export class ReencryptError extends AppError {
  readonly code = 'REENCRYPT_REFUSED';
  readonly retriable = false;
}
