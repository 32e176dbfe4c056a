import avro from 'avsc';

/**
 * Logical types as JSON-friendly strings in TypeScript: an instant is an ISO-8601
 * UTC string, a date is YYYY-MM-DD. On the wire they stay standard Avro
 * (long timestamp-millis, int date), so other clients see the usual types.
 */

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

class TimestampMillisIso extends avro.types.LogicalType {
  override _fromValue(value: number): string {
    return new Date(value).toISOString();
  }
  override _toValue(value: unknown): number | undefined {
    if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return undefined;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  override _resolve(type: avro.Type): ((v: number) => string) | undefined {
    return avro.Type.isType(type, 'long', 'logical:timestamp-millis') ? (v: number) => this._fromValue(v) : undefined;
  }
}

class DateIso extends avro.types.LogicalType {
  override _fromValue(value: number): string {
    return new Date(value * DAY_MS).toISOString().slice(0, 10);
  }
  override _toValue(value: unknown): number | undefined {
    if (typeof value !== 'string') return undefined;
    const m = ISO_DATE.exec(value);
    if (!m) return undefined;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    // Rejects 2025-02-30 and friends: the date must survive the round trip.
    return new Date(ms).toISOString().slice(0, 10) === value ? ms / DAY_MS : undefined;
  }
  override _resolve(type: avro.Type): ((v: number) => string) | undefined {
    return avro.Type.isType(type, 'int', 'logical:date') ? (v: number) => this._fromValue(v) : undefined;
  }
}

export const LOGICAL_TYPES = { 'timestamp-millis': TimestampMillisIso, date: DateIso } as const;

/**
 * avsc options for our types; `wrapUnions: false` keeps nullable fields as plain values.
 * A fresh object per call: avsc keeps its registry of named types inside the options.
 */
export const avroOptions = (): Partial<avro.ForSchemaOptions> => ({ logicalTypes: LOGICAL_TYPES, wrapUnions: false });
