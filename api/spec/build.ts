import { EVENT_DEFINITIONS } from '../../schemas/generated/events';
import { ID_SCHEMA, payloadToJsonSchema, type JsonSchema } from './avro-json';
import { COMMANDS, QUERIES, SPECIAL_COMMANDS, type CommandRoute } from './routes';

/** The payload record of an event type's registered schema. */
export function payloadRecord(eventType: keyof typeof EVENT_DEFINITIONS): Record<string, unknown> {
  const fields = EVENT_DEFINITIONS[eventType].schema.fields as Array<{ name: string; type: Record<string, unknown> }>;
  const payload = fields.find((f) => f.name === 'payload');
  if (!payload) throw new Error(`${eventType} has no payload field`);
  return payload.type;
}

/** Request body of a command: the payload minus what the API fills in; a generated id becomes optional. */
export function commandBodySchema(c: CommandRoute): JsonSchema {
  const omit = new Set([c.pathId, c.actorField].filter((x): x is string => !!x));
  const s = payloadToJsonSchema(payloadRecord(c.eventType), omit);
  if (c.generatedId) s.required = (s.required as string[]).filter((f) => f !== c.generatedId);
  return s;
}

const problem = (description: string): JsonSchema => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const errors = (...codes: number[]): Record<string, JsonSchema> => {
  const text: Record<number, string> = {
    400: 'Invalid request (field-level details in `errors`)',
    401: 'Missing, expired or invalid token',
    403: 'Not allowed for this identity',
    404: 'Not found',
    409: 'Idempotency-Key reused with a different body, or still in progress; or a rule decided from the read models is broken (`errors[].rule`, e.g. GRADE_STUDENT_NOT_ENROLLED)',
    413: 'Body too large',
    415: 'Body is not JSON',
    429: 'Too many requests (see Retry-After)',
    503: 'A dependency is unavailable or timed out; retry later',
  };
  return Object.fromEntries(codes.map((c) => [String(c), problem(text[c] ?? 'Error')]));
};
const COMMON = [400, 401, 403, 413, 415, 429, 503];

const pathParams = (path: string, schemas: Record<string, JsonSchema> = {}): JsonSchema[] =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: schemas[m[1]!] ?? ID_SCHEMA }));

const COMMAND_HEADERS: JsonSchema[] = [
  {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: 'Same key and body → the first response again; same key, other body → 409.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
  },
  {
    name: 'Prefer',
    in: 'header',
    required: false,
    description: 'wait=N (seconds, bounded by config): answer once every read model affected has applied the event, or N elapsed.',
    schema: { type: 'string', maxLength: 100 },
  },
];

const accepted = {
  description: 'Accepted: the event is in Kafka',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/CommandAccepted' } } },
};

function commandOperation(
  operationId: string,
  summary: string,
  path: string,
  body: JsonSchema,
  tag: string,
  more: number[] = [],
): JsonSchema {
  return {
    operationId,
    summary,
    tags: [tag],
    parameters: [...pathParams(path), ...COMMAND_HEADERS],
    requestBody: { required: true, content: { 'application/json': { schema: body } } },
    responses: { '202': accepted, ...errors(...COMMON, ...more, 409) },
  };
}

const tagOf = (path: string): string => path.split('/')[3] ?? 'misc';

/** The whole OpenAPI 3.1 document; `api/openapi.yaml` is this, written by `npm run api:gen`. */
export function buildOpenApi(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const at = (path: string): Record<string, JsonSchema> => (paths[path] ??= {});
  for (const c of COMMANDS) at(c.path)[c.method] = commandOperation(c.operationId, c.summary, c.path, commandBodySchema(c), tagOf(c.path));

  const requested = payloadToJsonSchema(payloadRecord('notification.requested'), new Set(['bulkId', 'priority']));
  requested.required = (requested.required as string[]).filter((f) => f !== 'notificationId');
  const m = SPECIAL_COMMANDS;
  at(m.markPresent.path).post = commandOperation(
    m.markPresent.operationId,
    m.markPresent.summary,
    m.markPresent.path,
    m.markPresent.body,
    'attendance',
  );
  at(m.sendImmediate.path).post = commandOperation(
    m.sendImmediate.operationId,
    m.sendImmediate.summary,
    m.sendImmediate.path,
    requested,
    'notifications',
  );
  const bulk = payloadToJsonSchema(
    payloadRecord('notification.requested'),
    new Set(['bulkId', 'notificationId', 'recipientUserId', 'address']),
  );
  (bulk.properties as Record<string, JsonSchema>).recipientUserIds = {
    type: 'array',
    minItems: 1,
    maxItems: 500,
    uniqueItems: true,
    items: ID_SCHEMA,
  };
  bulk.required = [...(bulk.required as string[]), 'recipientUserIds'];
  at(m.bulkNotification.path).post = commandOperation(
    m.bulkNotification.operationId,
    m.bulkNotification.summary,
    m.bulkNotification.path,
    bulk,
    'notifications',
  );

  at(m.eraseUser.path).post = commandOperation(
    m.eraseUser.operationId,
    m.eraseUser.summary,
    m.eraseUser.path,
    m.eraseUser.body,
    'users',
    [404],
  );

  for (const q of QUERIES) {
    const params = [
      ...pathParams(q.path, q.params),
      ...Object.entries(q.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ];
    at(q.path)[q.method] = {
      operationId: q.operationId,
      summary: q.summary,
      tags: [tagOf(q.path)],
      ...(params.length ? { parameters: params } : {}),
      ...(q.body ? { requestBody: { required: true, content: { 'application/json': { schema: q.body } } } } : {}),
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: q.response } } },
        ...errors(...COMMON.filter((c) => q.body || (c !== 413 && c !== 415)), 404),
      },
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'School events API',
      version: '1.0.0',
      description:
        'Commands publish Avro events to Kafka and answer 202 with where to follow them; queries read the projections. ' +
        'Generated from api/spec (command bodies from the event schemas in schemas/); do not edit by hand.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['field', 'message'],
                properties: { field: { type: 'string' }, message: { type: 'string' }, rule: { type: 'string' } },
              },
            },
          },
        },
        CommandAccepted: {
          type: 'object',
          required: ['eventId', 'eventIds', 'correlationId', 'location'],
          properties: {
            eventId: { type: 'string', format: 'uuid' },
            eventIds: { type: 'array', items: { type: 'string', format: 'uuid' } },
            correlationId: { type: 'string' },
            location: { type: 'string' },
            status: { $ref: '#/components/schemas/EventStatus' },
          },
        },
        EventStatus: {
          type: 'object',
          required: ['eventId', 'eventType', 'applied', 'complete'],
          properties: {
            eventId: { type: 'string' },
            eventType: { type: 'string' },
            applied: { type: 'object', additionalProperties: { type: 'boolean' } },
            complete: { type: 'boolean' },
          },
        },
      },
    },
  };
}
