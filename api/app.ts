import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { authorize } from './auth/authorize';
import { verifyToken, type Identity } from './auth/jwt';
import { PERMISSIONS, type Rule } from './auth/permissions';
import type { Answer } from './commands/execute';
import { commandHandlers } from './commands/handlers';
import type { ApiDeps } from './deps';
import { ApiProblem, notFound, problemHandler, sendProblem, toProblem } from './http/problem';
import { check, fieldErrors, loadOperations, type Operation } from './http/validation';
import { createApiMetrics } from './metrics';
import { queryHandlers } from './queries';

export const OPENAPI_PATH = path.join(__dirname, 'openapi.yaml');

type Handler = (req: Request, who: Identity, authorizeResource: (subject: string | undefined) => Promise<void>) => Promise<Answer>;

function subjectOf(rule: Rule, req: Request): string | undefined {
  if (!rule.subject || rule.subject.in === 'resource') return undefined;
  const from = rule.subject.in === 'path' ? (req.params as Record<string, unknown>) : ((req.body ?? {}) as Record<string, unknown>);
  const v = from[rule.subject.name];
  return typeof v === 'string' ? v : undefined;
}

/** Wires every operation of the OpenAPI document to its handler; a mismatch either way fails at start. */
function handlersByOperation(deps: ApiDeps): Map<string, Handler> {
  const map = new Map<string, Handler>();
  for (const [id, h] of Object.entries(queryHandlers()))
    map.set(id, (req, _who, authorizeResource) =>
      deps.guard.run(h.dependency, () =>
        h.run({
          deps,
          params: req.params,
          query: req.query,
          body: (req.body ?? {}) as Record<string, unknown>,
          authorizeResource,
        }),
      ),
    );
  for (const [id, h] of Object.entries(commandHandlers(deps))) map.set(id, h);
  return map;
}

/** The HTTP API: thin; commands publish events, queries read projections. */
export function createApp(deps: ApiDeps, openapiFile = OPENAPI_PATH): express.Express {
  const { config, logger } = deps;
  const { operations } = loadOperations(openapiFile);
  const handlers = handlersByOperation(deps);
  for (const op of operations) {
    if (!handlers.has(op.operationId)) throw new Error(`operation ${op.operationId} has no handler`);
    if (!PERMISSIONS[op.operationId]) throw new Error(`operation ${op.operationId} has no permission rule`);
  }
  for (const id of handlers.keys())
    if (!operations.some((o) => o.operationId === id)) throw new Error(`handler ${id} has no operation in openapi.yaml`);

  const metrics = createApiMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(metrics.middleware);
  app.use((_req, res, next) => {
    res.locals.requestId = crypto.randomUUID();
    res.setHeader('X-Request-Id', String(res.locals.requestId));
    next();
  });
  app.use(helmet({ contentSecurityPolicy: false })); // /docs renders a static page; the JSON API needs no CSP
  app.use(
    cors({
      origin: config.api.corsOrigins.length ? config.api.corsOrigins : false,
      exposedHeaders: ['Location', 'Retry-After', 'X-Request-Id'],
    }),
  );

  app.get('/health', (_req, res) => {
    res.locals.route = '/health';
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res, next) => {
    res.locals.route = '/ready';
    deps
      .ready()
      .then((checks) => {
        const ok = Object.values(checks).every(Boolean);
        res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
      })
      .catch(next);
  });
  app.get('/metrics', (_req, res, next) => {
    res.locals.route = '/metrics';
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });
  app.get('/openapi.yaml', (_req, res) => {
    res.locals.route = '/openapi.yaml';
    res.type('application/yaml').send(fs.readFileSync(openapiFile, 'utf8'));
  });
  app.get('/docs', (_req, res) => {
    res.locals.route = '/docs';
    res.type('html').send(docsPage());
  });

  // Identity first (so the rate limit can key on it), the 401 itself after the limit.
  app.use('/api', (req, res, next) => {
    verifyToken(deps.keys, config, req.get('authorization'))
      .then((who) => (res.locals.who = who))
      .catch((e: unknown) => (res.locals.authError = e))
      .finally(() => next());
  });
  app.use(
    '/api',
    rateLimit({
      windowMs: 60_000,
      limit: config.api.rateLimitPerMinute,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      keyGenerator: (req, res) =>
        res.locals.who ? `sub:${(res.locals.who as Identity).sub}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`,
      handler: (req, res, _next, options) => {
        res.setHeader('Retry-After', String(Math.ceil(options.windowMs / 1000)));
        sendProblem(
          res,
          new ApiProblem(429, 'RATE_LIMITED', `more than ${config.api.rateLimitPerMinute} requests a minute from this identity`),
          req.originalUrl,
        );
      },
    }),
  );
  app.use('/api', express.json({ limit: config.api.bodyLimitBytes, strict: true, type: 'application/json' }));

  for (const op of operations) mount(app, op, handlers.get(op.operationId)!, deps);

  app.use((req, _res, next) => next(notFound(`no route ${req.method} ${req.path}`)));
  app.use(problemHandler(logger));
  return app;
}

function mount(app: express.Express, op: Operation, handler: Handler, deps: ApiDeps): void {
  const rule = PERMISSIONS[op.operationId]!;
  const v = op.validators;
  const method = op.method as 'get' | 'post' | 'patch';
  app[method](op.route, (req: Request, res: Response, next: NextFunction) => {
    res.locals.route = op.path;
    const run = async (): Promise<void> => {
      if (res.locals.authError) throw res.locals.authError;
      const who = res.locals.who as Identity;
      if (v.body && !req.is('application/json'))
        throw new ApiProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
      check(v.params, 'path', req.params);
      check(v.query, 'query', req.query);
      check(v.headers, 'header', req.headers);
      check(v.body, 'body', req.body);
      // Resource-scoped rules can only be checked once the handler loaded the resource; until then, the role must at least be allowed.
      if (rule.subject?.in === 'resource')
        await authorize({ roles: Object.fromEntries(Object.keys(rule.roles).map((r) => [r, 'any'])) }, who, undefined, deps.relations);
      else await authorize(rule, who, subjectOf(rule, req), deps.relations);
      const answer = await handler(req, who, (subject) => authorize(rule, who, subject, deps.relations));
      const rv = v.responses.get(answer.status);
      if (deps.config.api.validateResponses && rv && !rv(JSON.parse(JSON.stringify(answer.body)))) {
        deps.logger.error('response does not match openapi.yaml', {
          operationId: op.operationId,
          errors: fieldErrors('response', rv.errors),
        });
        throw new ApiProblem(500, 'RESPONSE_INVALID', 'the response did not match the API contract; it has been logged');
      }
      for (const [k, val] of Object.entries(answer.headers ?? {})) res.setHeader(k, val);
      res.status(answer.status).json(answer.body);
    };
    run().catch((e: unknown) => next(e instanceof ApiProblem ? e : toProblemOrRaw(e)));
  });
}

/** Keeps the original error for logging when it maps to a 5xx; client errors are mapped right away. */
const toProblemOrRaw = (e: unknown): unknown => (toProblem(e).status < 500 ? toProblem(e) : e);

function docsPage(): string {
  // A self-contained page (no CDN: the API may run where the internet is not reachable).
  return `<!doctype html><html><head><meta charset="utf-8"><title>School events API</title>
<style>body{font:14px system-ui;margin:2rem;max-width:60rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>
<body><h1>School events API</h1><p>The OpenAPI 3.1 document below validates every request and response at run time.
Download: <a href="/openapi.yaml">/openapi.yaml</a>. Tokens for local use: <code>npm run token -- --sub USR-ADMIN-001 --role admin</code>.</p>
<pre id="doc">loading…</pre><script>fetch('/openapi.yaml').then(r=>r.text()).then(t=>{document.getElementById('doc').textContent=t})</script></body></html>`;
}
