import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import { parse } from 'yaml';
import type { JsonSchema } from '../spec/avro-json';
import { badRequest, type FieldError } from './problem';

export interface OperationValidators {
  params?: ValidateFunction;
  query?: ValidateFunction;
  headers?: ValidateFunction;
  body?: ValidateFunction;
  responses: Map<number, ValidateFunction>;
}

export interface Operation {
  operationId: string;
  method: string;
  /** OpenAPI path, e.g. /api/v1/users/{userId}. */
  path: string;
  /** Express path, e.g. /api/v1/users/:userId. */
  route: string;
  validators: OperationValidators;
}

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>>; components?: { schemas?: Record<string, JsonSchema> } };

/** Inlines `#/components/schemas/X` references (our document has no recursive ones). */
function deref(node: unknown, doc: Doc): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(n, doc));
  if (!node || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (typeof o.$ref === 'string') {
    const name = o.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${o.$ref}`);
    return deref(target, doc);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, deref(v, doc)]));
}

type Param = { name: string; in: string; required?: boolean; schema: JsonSchema };

function paramsSchema(params: Param[], where: string, lowerCase = false): JsonSchema | undefined {
  const ps = params.filter((p) => p.in === where);
  if (!ps.length) return undefined;
  const key = (n: string): string => (lowerCase ? n.toLowerCase() : n);
  return {
    type: 'object',
    properties: Object.fromEntries(ps.map((p) => [key(p.name), p.schema])),
    required: ps.filter((p) => p.required).map((p) => key(p.name)),
    // Unknown query parameters are refused (a typo should not be silently ignored); headers are open.
    additionalProperties: where === 'query' ? false : true,
  };
}

/**
 * Compiles the request and response validators of every operation in `api/openapi.yaml`:
 * the document is the source of validation at run time, not a copy of it.
 */
export function loadOperations(file: string): { doc: Doc; operations: Operation[] } {
  const doc = parse(fs.readFileSync(file, 'utf8')) as Doc;
  // Bodies: exact types. Path and query strings: coerced to the declared types, defaults filled.
  const strict = new Ajv2020({ allErrors: true, strict: false });
  const coercing = new Ajv2020({ allErrors: true, strict: false, coerceTypes: true, useDefaults: true });
  addFormats(strict);
  addFormats(coercing);
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (deref(op.parameters ?? [], doc) as Param[]) ?? [];
      const compile = (ajv: Ajv2020, s: JsonSchema | undefined): ValidateFunction | undefined => (s ? ajv.compile(s) : undefined);
      const body = (deref(op.requestBody, doc) as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content?.[
        'application/json'
      ]?.schema;
      const responses = new Map<number, ValidateFunction>();
      for (const [status, r] of Object.entries(
        (deref(op.responses, doc) as Record<string, { content?: Record<string, { schema: JsonSchema }> }>) ?? {},
      )) {
        const s = r.content?.['application/json']?.schema;
        if (s) responses.set(Number(status), strict.compile(s));
      }
      operations.push({
        operationId: String(op.operationId),
        method,
        path,
        route: path.replace(/\{(\w+)\}/g, ':$1'),
        validators: {
          params: compile(coercing, paramsSchema(params, 'path')),
          query: compile(coercing, paramsSchema(params, 'query')),
          headers: compile(strict, paramsSchema(params, 'header', true)),
          body: compile(strict, body),
          responses,
        },
      });
    }
  }
  return { doc, operations };
}

/** Ajv errors → field-level details a client can act on (`body.score: must be number`). */
export function fieldErrors(where: string, errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const extra =
      e.keyword === 'additionalProperties'
        ? String((e.params as { additionalProperty: string }).additionalProperty)
        : e.keyword === 'required'
          ? String((e.params as { missingProperty: string }).missingProperty)
          : '';
    const field = [where, path, extra].filter(Boolean).join('.');
    const message =
      e.keyword === 'additionalProperties' ? 'is not allowed' : e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid');
    return { field, message };
  });
}

export function check(v: ValidateFunction | undefined, where: string, value: unknown): void {
  if (v && !v(value)) throw badRequest(`invalid ${where}`, fieldErrors(where, v.errors));
}
