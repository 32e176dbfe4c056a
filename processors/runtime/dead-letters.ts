import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { AppError } from '../../lib/errors';
import { RuleViolationError } from './errors';
import { dlqTopic, parkedTopic } from '../../topics/catalog';

/** Header names of a dead letter; the DLQ tool and downstream readers rely on them. */
export const DLQ = {
  errorClass: 'dlq.error.class',
  errorCode: 'dlq.error.code',
  /** The rule a record broke (RuleViolationError with a rule code, docs/invariants.md). */
  rule: 'dlq.rule',
  errorMessage: 'dlq.error.message',
  errorStack: 'dlq.error.stack',
  attempts: 'dlq.attempts',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  sourceTimestamp: 'dlq.source.timestamp',
  group: 'dlq.consumer.group',
  movedAt: 'dlq.moved.at',
  schemaId: 'dlq.schema.id',
  eventType: 'dlq.eventType',
  eventId: 'dlq.eventId',
  correlationId: 'dlq.correlationId',
  redriveCount: 'redrive.count',
  redriveFrom: 'redrive.from',
  redriveAt: 'redrive.at',
} as const;

export interface DeadLetterInput {
  message: KafkaMessage;
  topic: string;
  partition: number;
  group: string;
  error: unknown;
  attempts: number;
  /** What could be read of the record, if anything. */
  known: { schemaId?: number; eventType?: string; eventId?: string; correlationId?: string };
  maxRedrives: number;
  now: Date;
}

export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/**
 * Builds the dead letter: the original key, value and headers, plus why and where
 * from. A record that already went through `maxRedrives` redrives is parked instead,
 * so a record that keeps failing is kept but never loops.
 */
export function deadLetterRecord(input: DeadLetterInput): { topic: string; key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const { message, error, known } = input;
  const err = error instanceof Error ? error : new Error(String(error));
  const redrives = Number(headerString(message.headers, DLQ.redriveCount) ?? 0);
  const headers: IHeaders = { ...(message.headers ?? {}) };
  const set = (k: string, v: string | number | undefined): void => {
    if (v !== undefined) headers[k] = String(v);
  };
  set(DLQ.errorClass, err.name);
  set(DLQ.errorCode, error instanceof AppError ? error.code : undefined);
  set(DLQ.rule, error instanceof RuleViolationError ? error.rule : undefined);
  set(DLQ.errorMessage, err.message.slice(0, 2000));
  set(DLQ.errorStack, (err.stack ?? '').slice(0, 4000));
  set(DLQ.attempts, input.attempts);
  set(DLQ.sourceTopic, input.topic);
  set(DLQ.sourcePartition, input.partition);
  set(DLQ.sourceOffset, message.offset);
  set(DLQ.sourceTimestamp, new Date(Number(message.timestamp)).toISOString());
  set(DLQ.group, input.group);
  set(DLQ.movedAt, input.now.toISOString());
  set(DLQ.schemaId, known.schemaId);
  set(DLQ.eventType, known.eventType ?? headerString(message.headers, 'eventType'));
  set(DLQ.eventId, known.eventId ?? headerString(message.headers, 'eventId'));
  set(DLQ.correlationId, known.correlationId ?? headerString(message.headers, 'correlationId'));
  const topic = redrives >= input.maxRedrives ? parkedTopic(input.topic) : dlqTopic(input.topic);
  return { topic, key: message.key, value: message.value, headers };
}

export async function sendDeadLetter(producer: Producer, input: DeadLetterInput): Promise<string> {
  const r = deadLetterRecord(input);
  await producer.send({ topic: r.topic, acks: -1, messages: [{ key: r.key, value: r.value, headers: r.headers }] });
  return r.topic;
}
