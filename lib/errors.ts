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
