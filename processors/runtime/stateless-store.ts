import { publishNow, type ChunkResult, type Outbound, type Outcome, type Ready, type RuntimeStore } from './store';
import type { Emitted, Position, ProjectContext, StatelessProcessor } from './types';

/** No store: positions live only in Kafka's committed offsets (at-least-once). */
export class StatelessStore implements RuntimeStore {
  readonly kind = 'none';
  private readonly handles: ReadonlySet<string>;

  constructor(private readonly processor: StatelessProcessor) {
    this.handles = new Set(processor.handles);
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  position(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  async applyChunk(records: Ready[], ctx: (p: Position) => ProjectContext, outbound: Outbound | undefined): Promise<ChunkResult> {
    const outcomes: Outcome[] = [];
    const emitted: Emitted = [];
    for (const r of records) {
      if (!r.event || !this.handles.has(r.event.eventType)) outcomes.push('ignored');
      else {
        emitted.push(...(await this.processor.project(r.event, ctx(r.position))));
        outcomes.push('applied');
      }
    }
    await publishNow(outbound, emitted);
    return { outcomes, emitted };
  }
}
