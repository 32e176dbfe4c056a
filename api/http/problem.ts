import type { NextFunction, Request, Response } from 'express';
import { AppError, EventValidationError, RegistryUnavailableError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';

export interface FieldError {
  field: string;
  message: string;
  /** The rule of the school it breaks (docs/invariants.md), where it has a code. */
  rule?: string;
}

/** An HTTP answer other than success, with a stable code; rendered as application/problem+json. */
export class ApiProblem extends AppError {
  readonly retriable: boolean;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.retriable = status === 429 || status === 503;
  }
}

export const badRequest = (message: string, errors: FieldError[] = []): ApiProblem =>
  new ApiProblem(400, 'INVALID_REQUEST', message, errors);
export const unauthorized = (message: string): ApiProblem =>
  new ApiProblem(401, 'UNAUTHENTICATED', message, [], { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
export const forbidden = (message: string): ApiProblem => new ApiProblem(403, 'FORBIDDEN', message);
export const notFound = (message: string): ApiProblem => new ApiProblem(404, 'NOT_FOUND', message);
export const conflict = (code: string, message: string): ApiProblem => new ApiProblem(409, code, message);
/** A rule of the school decided from the read models (the request itself is well formed): the rule in errors[].rule. */
export const ruleConflict = (message: string, errors: FieldError[]): ApiProblem => new ApiProblem(409, 'RULE_VIOLATION', message, errors);

/** A dependency failed or timed out: the client did nothing wrong and may retry. */
export class DependencyError extends AppError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly retriable = true;
  constructor(
    readonly dependency: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** body-parser's own errors carry `type` and `status`; every one of them is the client's doing. */
function bodyParserProblem(e: { type?: unknown; status?: unknown; message?: unknown }): ApiProblem | undefined {
  switch (e.type) {
    case 'entity.too.large':
      return new ApiProblem(413, 'BODY_TOO_LARGE', 'request body exceeds the size limit');
    case 'entity.parse.failed':
      return badRequest('request body is not valid JSON', [{ field: 'body', message: String(e.message) }]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiProblem(415, 'UNSUPPORTED_ENCODING', String(e.message));
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return badRequest(String(e.message));
    default:
      return typeof e.status === 'number' && e.status >= 400 && e.status < 500
        ? new ApiProblem(e.status, 'INVALID_REQUEST', String(e.message))
        : undefined;
  }
}

/** The one place where errors become HTTP answers. */
export function toProblem(err: unknown): ApiProblem {
  if (err instanceof ApiProblem) return err;
  if (err instanceof EventValidationError)
    return badRequest(
      err.message,
      err.fields.map((f) => ({ field: `body.${f}`, message: 'does not satisfy the event contract' })),
    );
  if (err instanceof DependencyError || err instanceof RegistryUnavailableError || (err instanceof AppError && err.retriable))
    return new ApiProblem(503, err.code, `${(err as Error).message}; retry later`, [], { 'Retry-After': '5' });
  if (err && typeof err === 'object' && 'type' in err) {
    const p = bodyParserProblem(err);
    if (p) return p;
  }
  return new ApiProblem(500, 'INTERNAL', 'unexpected error; it has been logged');
}

export function sendProblem(res: Response, p: ApiProblem, instance?: string): void {
  for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
  res
    .status(p.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `https://school-events.example/problems/${p.code.toLowerCase().replace(/_/g, '-')}`,
        title: TITLES[p.status] ?? 'Error',
        status: p.status,
        detail: p.message,
        code: p.code,
        ...(instance ? { instance } : {}),
        ...(p.errors.length ? { errors: p.errors } : {}),
      }),
    );
}

/** Express error handler: never a stack trace to the client; 5xx are logged with theirs. */
export function problemHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const p = toProblem(err);
    if (p.status >= 500)
      logger.error('request failed', {
        path: req.path,
        method: req.method,
        code: p.code,
        error: err instanceof Error ? err.stack : String(err),
      });
    sendProblem(res, p, req.originalUrl);
  };
}
