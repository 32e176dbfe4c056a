import type { Admin } from 'kafkajs';
import type { ProcessorDefinition } from '../processors/runtime/types';

/** Total records not yet consumed by each processor's group over its topics (committed offsets vs end offsets). */
export async function groupLag(admin: Admin, defs: ProcessorDefinition[]): Promise<Record<string, number>> {
  const ends = new Map<string, number>();
  const topics = [...new Set(defs.flatMap((d) => d.topics))];
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}:${p.partition}`, Number(p.high));
  const out: Record<string, number> = {};
  for (const d of defs) {
    const committed = await admin.fetchOffsets({ groupId: d.name, topics: [...d.topics] });
    let lag = 0;
    for (const t of committed) {
      for (const p of t.partitions) {
        const end = ends.get(`${t.topic}:${p.partition}`) ?? 0;
        const at = Number(p.offset) < 0 ? 0 : Number(p.offset);
        lag += Math.max(0, end - at);
      }
    }
    out[d.name] = lag;
  }
  return out;
}
