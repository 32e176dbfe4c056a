import path from 'node:path';
import express from 'express';
import helmet from 'helmet';

/** The browser pages' own files (plain HTML, CSS and JS: no build step, no CDN). */
export const WEB_DIR = path.join(__dirname, 'web');

type Directives = Record<string, string[]>;

/** The JSON API: nothing to load, nothing to frame. */
export const API_CSP: Directives = {
  defaultSrc: ["'none'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
};

/** The pages: their own scripts and styles only, calls to this origin only; no inline script anywhere. */
const PAGE_CSP: Directives = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
};

const csp = (directives: Directives) => helmet.contentSecurityPolicy({ useDefaults: false, directives });

/** swagger-ui-dist's folder (resolved, not assumed: npm may hoist it). */
function swaggerUiDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

const SWAGGER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png']);

/**
 * `/docs` (Swagger UI over /openapi.yaml) and `/console` (the operator console). Each page gets a CSP
 * that allows exactly what it loads; the console's data comes from the same authorised /api endpoints a
 * script would call, so these routes serve files only and need no token.
 */
export function webPages(): express.Router {
  const r = express.Router();
  const files = (route: string, dir: string, allow?: Set<string>) => {
    const serve = express.static(dir, { index: false, fallthrough: true, maxAge: '1h' }); // built once, not per request
    r.use(route, (req, res, next) => {
      res.locals.route = `${route}/*`;
      if (allow && !allow.has(req.path.slice(1))) return next();
      serve(req, res, next);
    });
  };

  r.use(['/docs', '/console'], csp(PAGE_CSP));
  files('/docs/assets', swaggerUiDir(), SWAGGER_FILES);
  files('/docs/static', path.join(WEB_DIR, 'docs'));
  files('/console/static', path.join(WEB_DIR, 'console'));
  r.get(['/docs', '/docs/'], (_req, res) => {
    res.locals.route = '/docs';
    res.sendFile(path.join(WEB_DIR, 'docs', 'index.html'));
  });
  r.get(['/console', '/console/'], (_req, res) => {
    res.locals.route = '/console';
    res.sendFile(path.join(WEB_DIR, 'console', 'index.html'));
  });
  return r;
}
