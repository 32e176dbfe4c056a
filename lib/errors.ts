/**
 * Every error the product raises on purpose has a stable `code` and says whether
 * retrying can help. The processor runtime and the API each map these in one place.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends AppError {
  readonly code = 'CONFIG_INVALID';
  readonly retriable = false;
}

export class StackError extends AppError {
  readonly code = 'STACK_FAILED';
  readonly retriable = false;
}

export class TopicConfigError extends AppError {
  readonly code = 'TOPIC_CONFIG_INVALID';
  readonly retriable = false;
}

/** An event fails its schema before anything reaches Kafka; `fields` names each bad path. */
export class EventValidationError extends AppError {
  readonly code = 'EVENT_INVALID';
  readonly retriable = false;
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message);
  }
}

export class UnknownEventTypeError extends AppError {
  readonly code = 'EVENT_TYPE_UNKNOWN';
  readonly retriable = false;
}

/** The bytes are not in Confluent wire format (too short, or no magic byte 0). */
export class WireFormatError extends AppError {
  readonly code = 'WIRE_FORMAT_INVALID';
  readonly retriable = false;
}

/** The record names a schema id the registry does not know. */
export class UnknownSchemaIdError extends AppError {
  readonly code = 'SCHEMA_ID_UNKNOWN';
  readonly retriable = false;
  constructor(
    readonly schemaId: number,
    options?: { cause?: unknown },
  ) {
    super(`schema id ${schemaId} is not known to the registry`, options);
  }
}

/** The Avro body does not match its writer schema, or cannot be resolved into our reader schema. */
export class UndecodableRecordError extends AppError {
  readonly code = 'RECORD_UNDECODABLE';
  readonly retriable = false;
}

/** The registry could not be reached or answered 5xx: retry later. */
export class RegistryUnavailableError extends AppError {
  readonly code = 'REGISTRY_UNAVAILABLE';
  readonly retriable = true;
}

/** A local schema breaks compatibility with the registered one. */
export class SchemaCompatibilityError extends AppError {
  readonly code = 'SCHEMA_INCOMPATIBLE';
  readonly retriable = false;
}
