import type { Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import { withKafkaAdmin } from '../../lib/clients/kafka';
import type { Config } from '../../lib/config';
import { AppError } from '../../lib/errors';
import { endOffsetsOnce } from '../../processors/runtime/end-offsets';
import { headerString } from '../../processors/runtime/dead-letters';
import { matches, readDeadLetters, redrive, type DeadLetter, type DeadLetterFilter } from '../../processors/runtime/dlq';
import { partitionLag, type PartitionLag } from '../../processors/runtime/group-lag';
import { HEARTBEAT_TABLE } from '../../processors/runtime/heartbeat';
import type { ProcessorManifest } from '../../processors/manifest';
import type { EventCodec } from '../../schemas/codec';
import { DOMAIN_TOPICS, dlqTopic, parkedTopic, type DomainTopic } from '../../topics/catalog';
import { badRequest, conflict, notFound } from '../http/problem';
import type { Locator } from '../locator';
import { isStale, parseDeadLetterId, processorState, toJson, type InstanceBeat, type ProcessorState } from './derive';

export interface ProcessorStatus {
  name: string;
  group: string;
  topics: string[];
  lag: number;
  partitions: PartitionLag[];
  instances: InstanceBeat[];
  status: ProcessorState;
}

export interface DeadLetterSummary {
  id: string;
  dlqTopic: string;
  partition: number;
  offset: string;
  sourceTopic: string | null;
  eventType: string | null;
  eventId: string | null;
  errorClass: string | null;
  rule: string | null;
  errorMessage: string | null;
  movedAt: string | null;
  redriveCount: number;
}

export interface DeadLetterSearch extends Omit<DeadLetterFilter, 'sourceTopic'> {
  topic?: DomainTopic;
  parked: boolean;
  limit: number;
}

export interface ReplayBuild {
  target: string;
  projection: string;
  kind: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  oldSchema: string | null;
  done: number | null;
  total: number | null;
  progressAt: string | null;
}

/** Bytes of a dead letter's value shown as hex. */
const HEX_BYTES = 256;
/** The newest replay builds listed. */
const MAX_BUILDS = 500;

/** A timestamp of to_jsonb (a string) as ISO-8601 UTC. */
const iso = (v: unknown): string | null => (typeof v === 'string' ? new Date(v).toISOString() : null);
const textOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * What the operator console reads and does (admin only, through the API's ops endpoints): processor lag and
 * heartbeats, dead letters (list, show decoded, redrive) and replay builds. Topic and group names go through
 * the Locator, so it works the same live and on a test run's prefixed copies.
 */
export class OpsService {
  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly pool: pg.Pool,
    private readonly codec: EventCodec,
    private readonly defs: readonly ProcessorManifest[],
    private readonly at: Locator,
    private readonly config: Config,
  ) {}

  async processors(): Promise<{ at: string; processors: ProcessorStatus[] }> {
    const beats = await this.heartbeats(this.defs.map((d) => this.at.group(d.name)));
    const lags = await withKafkaAdmin(this.kafka, async (admin) => {
      const endsOf = endOffsetsOnce(admin);
      return Promise.all(
        this.defs.map((d) =>
          partitionLag(admin, { name: d.name, groupId: this.at.group(d.name), topics: d.topics.map((t) => this.at.topicName(t)) }, endsOf),
        ),
      );
    });
    const processors = this.defs.map((d, i) => {
      const group = this.at.group(d.name);
      const partitions = lags[i]!;
      const lag = partitions.reduce((n, p) => n + p.lag, 0);
      const instances = beats.filter((b) => b.group === group && b.processor === d.name).map(({ beat }) => beat);
      return {
        name: d.name,
        group,
        topics: d.topics.map((t) => this.at.topicName(t)),
        lag,
        partitions,
        instances,
        status: processorState(lag, instances),
      };
    });
    return { at: new Date().toISOString(), processors };
  }

  /** Heartbeat rows of these groups, ages measured by the database's clock (the one that stamped them). */
  private async heartbeats(groups: string[]): Promise<Array<{ group: string; processor: string; beat: InstanceBeat }>> {
    const exists = await this.pool.query<{ t: string | null }>('select to_regclass($1)::text t', [HEARTBEAT_TABLE]);
    if (!exists.rows[0]?.t) return [];
    const r = await this.pool.query<{
      group_id: string;
      processor: string;
      instance: string;
      ready: boolean;
      circuit: InstanceBeat['circuit'];
      seen_at: Date;
      age_ms: number;
    }>(
      `select group_id, processor, instance, ready, circuit, seen_at, extract(epoch from now() - seen_at)::float8 * 1000 age_ms
       from ${HEARTBEAT_TABLE} where group_id = any($1::text[]) order by processor, instance`,
      [groups],
    );
    return r.rows.map((x) => ({
      group: x.group_id,
      processor: x.processor,
      beat: {
        instance: x.instance,
        ready: x.ready,
        circuit: x.circuit,
        seenAt: x.seen_at.toISOString(),
        stale: isStale(x.age_ms, this.config.runtime.heartbeatMs),
      },
    }));
  }

  /** The dead-letter (and parked) topics of this deployment, physical names. */
  private letterTopics(sources: readonly string[], parked: boolean): string[] {
    const physical = sources.map((t) => this.at.topicName(t));
    return [...physical.map(dlqTopic), ...(parked ? physical.map(parkedTopic) : [])];
  }

  private read(topics: string[]): Promise<DeadLetter[]> {
    return readDeadLetters(this.kafka, topics, this.config.api.timeouts.ops);
  }

  async deadLetters(s: DeadLetterSearch): Promise<{ items: DeadLetterSummary[]; total: number }> {
    if (s.since && s.until && s.since > s.until)
      throw badRequest('since is after until', [{ field: 'query.since', message: 'must not be after until' }]);
    const sources = s.topic ? [s.topic] : [...DOMAIN_TOPICS];
    const filter: DeadLetterFilter = { ...s, sourceTopic: s.topic ? this.at.topicName(s.topic) : undefined };
    const all = (await this.read(this.letterTopics(sources, s.parked))).filter((d) => matches(d, filter));
    all.sort(
      (a, b) =>
        (b.movedAt ?? '').localeCompare(a.movedAt ?? '') ||
        a.dlqTopic.localeCompare(b.dlqTopic) ||
        a.partition - b.partition ||
        Number(BigInt(b.offset) - BigInt(a.offset)),
    );
    return { items: all.slice(0, s.limit).map(summaryOf), total: all.length };
  }

  /** The dead letters of these ids, in the order asked; 400 for a malformed id, 404 naming those missing. */
  private async find(ids: readonly string[]): Promise<DeadLetter[]> {
    const refs = ids.map((id, i) => {
      const ref = parseDeadLetterId(id);
      if (!ref)
        throw badRequest('not a dead-letter id', [{ field: `ids.${i}`, message: 'must be <dead-letter topic>:<partition>:<offset>' }]);
      return ref;
    });
    const ours = new Set(this.letterTopics(DOMAIN_TOPICS, true));
    const topics = [...new Set(refs.map((r) => r.topic))].filter((t) => ours.has(t));
    const byId = new Map((topics.length ? await this.read(topics) : []).map((d) => [d.id, d]));
    const missing = refs.filter((r) => !byId.has(r.id)).map((r) => r.id);
    if (missing.length) throw notFound(`no dead letter ${missing.join(', ')}`);
    return refs.map((r) => byId.get(r.id)!);
  }

  async deadLetter(id: string) {
    if (!parseDeadLetterId(id))
      throw badRequest('not a dead-letter id', [
        { field: 'path.deadLetterId', message: 'must be <dead-letter topic>:<partition>:<offset>' },
      ]);
    const [d] = await this.find([id]);
    const decoded = await this.decode(d!.value);
    return {
      ...summaryOf(d!),
      key: d!.key ? d!.key.toString('utf8') : null,
      headers: Object.fromEntries(Object.keys(d!.headers).map((k) => [k, headerString(d!.headers, k) ?? ''])),
      ...decoded,
      valueHex: d!.value ? d!.value.subarray(0, HEX_BYTES).toString('hex') : null,
    };
  }

  /** The event (envelope and payload) when the value decodes; otherwise why not. A registry outage is a 503, not a reason. */
  private async decode(value: Buffer | null): Promise<{ payload: unknown; decodeError: string | null }> {
    if (!value) return { payload: null, decodeError: 'the record has no value' };
    try {
      return { payload: toJson((await this.codec.decode(value)).event), decodeError: null };
    } catch (e) {
      if (e instanceof AppError && e.retriable) throw e;
      return { payload: null, decodeError: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  }

  /**
   * Sends these dead letters back to their source topics (dlq.ts's redrive: rate-bounded, lineage headers).
   * All or nothing up front: any unknown id is a 404 and nothing is sent. The whole redrive must fit in half
   * the ops timeout at the asked rate (400 otherwise), so the answer never outlives its own deadline.
   */
  async redrive(ids: readonly string[], ratePerSecond: number) {
    const seconds = (ids.length - 1) / ratePerSecond;
    const budget = this.config.api.timeouts.ops / 2000;
    if (seconds > budget)
      throw badRequest(`${ids.length} records at ${ratePerSecond}/s take ${seconds.toFixed(1)} s, more than ${budget} s`, [
        { field: 'body.ratePerSecond', message: `too low for ${ids.length} ids; raise it or send fewer ids per request` },
      ]);
    const letters = await this.find(ids);
    const unroutable = letters.filter((d) => !d.sourceTopic).map((d) => d.id);
    if (unroutable.length) throw conflict('DEAD_LETTER_UNROUTABLE', `no source topic recorded on ${unroutable.join(', ')}`);
    const redriven = await redrive(this.producer, letters, { ratePerSecond });
    return { redriven, items: letters.map((d) => ({ id: d.id, sourceTopic: d.sourceTopic!, eventId: d.eventId ?? null })) };
  }

  /** public.replay_builds (processors/replay/rebuild.ts), newest first; none before the first rebuild. */
  async replayBuilds(): Promise<{ items: ReplayBuild[] }> {
    const exists = await this.pool.query<{ t: string | null }>("select to_regclass('public.replay_builds')::text t");
    if (!exists.rows[0]?.t) return { items: [] };
    // As JSON: a table no rebuild of this version touched yet has no progress columns.
    const r = await this.pool.query<{ j: Record<string, unknown> }>(
      `select to_jsonb(b) j from public.replay_builds b order by started_at desc, target limit ${MAX_BUILDS}`,
    );
    return {
      items: r.rows.map(({ j }) => ({
        target: textOrNull(j.target) ?? '',
        projection: textOrNull(j.projection) ?? '',
        kind: textOrNull(j.kind) ?? '',
        status: textOrNull(j.status) ?? '',
        startedAt: iso(j.started_at)!,
        finishedAt: iso(j.finished_at),
        oldSchema: textOrNull(j.old_schema),
        done: numberOrNull(j.done),
        total: numberOrNull(j.total),
        progressAt: iso(j.progress_at),
      })),
    };
  }
}

function summaryOf(d: DeadLetter): DeadLetterSummary {
  return {
    id: d.id,
    dlqTopic: d.dlqTopic,
    partition: d.partition,
    offset: d.offset,
    sourceTopic: d.sourceTopic ?? null,
    eventType: d.eventType ?? null,
    eventId: d.eventId ?? null,
    errorClass: d.errorClass ?? null,
    rule: d.rule ?? null,
    errorMessage: d.errorMessage ?? null,
    movedAt: d.movedAt ?? null,
    redriveCount: d.redriveCount,
  };
}
