import { COMPATIBILITY, SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import {
  EventValidationError,
  RegistryUnavailableError,
  SchemaCompatibilityError,
  UndecodableRecordError,
  UnknownEventTypeError,
  UnknownSchemaIdError,
  WireFormatError,
} from '../lib/errors';
import { EVENT_DEFINITIONS, type EventType, type SchoolEvent } from './generated/events';
import { avroOptions } from './logical-types';
import {
  hasPersonalValues,
  openPersonalFields,
  personalSlots,
  sealPersonalFields,
  type FieldDecryptor,
  type FieldEncryptor,
  type PersonalSlot,
} from './personal-fields';
import { subjectOf } from './subjects';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body. */
const MAGIC = 0;
const HEADER = 5;

export interface DecodedEvent {
  event: SchoolEvent;
  schemaId: number;
}

interface Reader {
  eventType: EventType;
  type: avro.Type;
  resolver: avro.Resolver;
}

export interface CodecOptions {
  /** Register our schema on first use when the subject lacks it (local/dev); otherwise only look it up. Default true. */
  autoRegister?: boolean;
  /**
   * Personal fields (issue 21, schemas/personal-fields.ts). With `encryptor`, `encode` writes them encrypted
   * under each person's data key (PRIVACY_ENCRYPT). With `decryptor`, `decode` opens them (an erased person's
   * read as ERASED_MARKER); without one, they decode as the EncryptedString values they are on the wire.
   */
  encryptor?: FieldEncryptor;
  decryptor?: FieldDecryptor;
}

/** One load per key in flight: concurrent callers share it; a failed load is forgotten, so the next call retries. */
function once<K, V>(pending: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  let p = pending.get(key);
  if (!p) {
    p = load().finally(() => pending.delete(key));
    pending.set(key, p);
  }
  return p;
}

/**
 * Encodes and decodes events with avsc directly (fast, synchronous once warm) and
 * uses @kafkajs/confluent-schema-registry for the registry calls; ids and writer
 * schemas are cached. Decoding resolves any writer version into our current reader
 * schema (Avro schema resolution), so old records replay into current read models.
 */
export class EventCodec {
  private readonly types = new Map<EventType, avro.Type>();
  private readonly byRecordName = new Map<string, EventType>();
  private readonly personal = new Map<EventType, PersonalSlot[]>();
  private readonly ids = new Map<EventType, number>();
  private readonly pendingIds = new Map<EventType, Promise<number>>();
  private readonly readers = new Map<number, Reader>();
  /** Reader loads in flight: a chunk's records of a schema id not seen yet share one registry fetch. */
  private readonly pendingReaders = new Map<number, Promise<Reader>>();

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly options: CodecOptions = {},
  ) {
    for (const [eventType, def] of Object.entries(EVENT_DEFINITIONS) as Array<[EventType, (typeof EVENT_DEFINITIONS)[EventType]]>) {
      this.types.set(eventType, avro.Type.forSchema(def.schema as avro.Schema, avroOptions()));
      this.byRecordName.set(def.recordName, eventType);
      this.personal.set(eventType, personalSlots(def.schema));
    }
  }

  /** Whether `encode` encrypts personal fields (an encryptor was passed in). */
  get encrypts(): boolean {
    return this.options.encryptor !== undefined;
  }

  typeOf(eventType: string): avro.Type {
    const t = this.types.get(eventType as EventType);
    if (!t) throw new UnknownEventTypeError(`unknown event type ${JSON.stringify(eventType)}`);
    return t;
  }

  /** Checks an event against its schema; throws EventValidationError naming every bad field. */
  validate(event: SchoolEvent): void {
    const type = this.typeOf(event.eventType);
    const bad: string[] = [];
    type.isValid(event, { errorHook: (path) => bad.push(path.join('.') || '(root)') });
    if (bad.length) throw new EventValidationError(`${event.eventType}: invalid field(s) ${bad.join(', ')}`, bad);
  }

  /** The registry id of our current schema for an event type (registered or looked up once, then cached). */
  async schemaId(eventType: EventType): Promise<number> {
    const known = this.ids.get(eventType);
    if (known !== undefined) return known;
    return once(this.pendingIds, eventType, () => this.fetchId(eventType));
  }

  private async fetchId(eventType: EventType): Promise<number> {
    const subject = subjectOf(eventType);
    const schema = JSON.stringify(EVENT_DEFINITIONS[eventType].schema);
    try {
      const id =
        (this.options.autoRegister ?? true)
          ? (await this.registry.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: COMPATIBILITY.BACKWARD })).id
          : await this.registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema });
      this.ids.set(eventType, id);
      return id;
    } catch (e) {
      throw registryError(e, `resolving the schema id of ${subject}`);
    }
  }

  /** Validates, encrypts the personal fields when an encryptor was given, and encodes in the wire format. */
  async encode(event: SchoolEvent): Promise<Buffer> {
    const type = this.typeOf(event.eventType);
    const id = await this.schemaId(event.eventType);
    const { encryptor } = this.options;
    const slots = this.personal.get(event.eventType)!;
    if (!encryptor || !hasPersonalValues(event, slots)) return this.encodeWithId(type, id, event);
    if (!type.isValid(event)) this.validate(event); // the plaintext first: a bad field is named before anything is encrypted
    return this.encodeWithId(type, id, await sealPersonalFields(event, slots, encryptor));
  }

  /** Synchronous encode once the id is known (hot path for producers and benchmarks); never encrypts. */
  encodeWithId(type: avro.Type, id: number, event: SchoolEvent): Buffer {
    let body: Buffer;
    try {
      body = type.toBuffer(event);
    } catch {
      this.validate(event); // throws with the field names
      throw new EventValidationError(`${event.eventType}: does not match its schema`, []);
    }
    const out = Buffer.allocUnsafe(HEADER + body.length);
    out.writeUInt8(MAGIC, 0);
    out.writeInt32BE(id, 1);
    body.copy(out, HEADER);
    return out;
  }

  async decode(buffer: Buffer): Promise<DecodedEvent> {
    if (buffer.length < HEADER) throw new WireFormatError(`record of ${buffer.length} bytes is shorter than the 5-byte Confluent header`);
    if (buffer[0] !== MAGIC) throw new WireFormatError(`record starts with byte ${buffer[0]}, not the Confluent magic byte 0`);
    const schemaId = buffer.readInt32BE(1);
    const reader = this.readers.get(schemaId) ?? (await this.reader(schemaId));
    let value: unknown;
    try {
      value = reader.type.fromBuffer(buffer.subarray(HEADER), reader.resolver, true);
    } catch (e) {
      throw new UndecodableRecordError(`bytes do not match writer schema ${schemaId}: ${(e as Error).message}`, { cause: e });
    }
    const event = value as SchoolEvent;
    if (event.eventType !== reader.eventType) {
      throw new UndecodableRecordError(
        `record of schema ${schemaId} (${reader.eventType}) says eventType ${JSON.stringify(event.eventType)}`,
      );
    }
    const { decryptor } = this.options;
    const slots = this.personal.get(reader.eventType)!;
    if (decryptor && slots.length) await openPersonalFields(event as unknown as Record<string, unknown>, slots, decryptor);
    return { event, schemaId };
  }

  /**
   * The reader of a schema id not cached yet, loaded once however many decodes ask at the same time (the
   * runtime decodes a chunk's records concurrently: without this, 500 records of a new id were 500 registry
   * GETs and 500 schema parses). A failed load is not kept, so the next decode tries again.
   */
  private reader(schemaId: number): Promise<Reader> {
    return once(this.pendingReaders, schemaId, () => this.loadReader(schemaId));
  }

  private async loadReader(schemaId: number): Promise<Reader> {
    let writer: avro.Type;
    try {
      writer = await writerType(this.registry, schemaId);
    } catch (e) {
      throw registryError(e, `fetching schema id ${schemaId}`, schemaId);
    }
    const eventType = this.byRecordName.get(String(writer.name));
    if (!eventType)
      throw new UndecodableRecordError(`schema id ${schemaId} is record ${String(writer.name)}, which is not one of our event types`);
    const type = this.typeOf(eventType);
    let resolver: avro.Resolver;
    try {
      resolver = type.createResolver(writer);
    } catch (e) {
      throw new UndecodableRecordError(
        `writer schema ${schemaId} cannot be resolved into the current ${eventType} schema: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const reader = { eventType, type, resolver };
    this.readers.set(schemaId, reader);
    return reader;
  }
}

/** A registered Avro schema as an avsc Type (the registry client parses it with avsc). */
export async function writerType(registry: SchemaRegistry, schemaId: number): Promise<avro.Type> {
  const schema: unknown = await registry.getSchema(schemaId);
  if (!avro.Type.isType(schema)) throw new UndecodableRecordError(`schema id ${schemaId} is not an Avro schema`);
  return schema as avro.Type;
}

/**
 * Maps registry client failures to our error classes, in one place: an unknown id is
 * permanent (dead letter), an incompatible or unregistered schema is a deployment
 * error, and anything network-ish or 5xx is retriable.
 */
function registryError(e: unknown, what: string, schemaId?: number): Error {
  const status = typeof e === 'object' && e !== null && 'status' in e ? Number(e.status) : undefined;
  const detail = e instanceof Error ? e.message : String(e);
  if (schemaId !== undefined && status === 404) return new UnknownSchemaIdError(schemaId, { cause: e });
  if (status === 409 || status === 422 || (status === 404 && schemaId === undefined)) {
    return new SchemaCompatibilityError(`registry refused ${what} (${status}): ${detail}; run npm run schemas:check / schemas:register`, {
      cause: e,
    });
  }
  if (status !== undefined && status >= 400 && status < 500)
    return new UndecodableRecordError(`registry refused ${what} (${status}): ${detail}`, { cause: e });
  return new RegistryUnavailableError(`schema registry unavailable while ${what}: ${detail}`, { cause: e });
}
