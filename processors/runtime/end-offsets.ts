import type { Admin } from 'kafkajs';

/** A partition's offsets as the broker reports them: `high` is the next offset written, `low` the first kept. */
export interface PartitionEnds {
  partition: number;
  high: number;
  low: number;
}

/**
 * The end offsets of topics, each asked of the broker once for the lifetime of the returned function (one
 * scrape, one lag sample), however many consumer groups read that topic.
 */
export function endOffsetsOnce(admin: Admin): (topic: string) => Promise<PartitionEnds[]> {
  const asked = new Map<string, Promise<PartitionEnds[]>>();
  return (topic) => {
    let ends = asked.get(topic);
    if (!ends) {
      ends = admin
        .fetchTopicOffsets(topic)
        .then((ps) => ps.map((p) => ({ partition: p.partition, high: Number(p.high), low: Number(p.low) })));
      asked.set(topic, ends);
    }
    return ends;
  };
}
