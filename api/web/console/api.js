// Every call the console makes goes to the same authorised /api endpoints a script would use.

const KEY = 'school-events-console-token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { title: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** GET with a query built from the defined values only. */
export function get(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return call('GET', qs ? `${path}?${qs}` : path);
}

export const post = (path, body) => call('POST', path, body);

/** What a person should read when a call fails: the problem's title, detail and rule or field errors. */
export function explain(e) {
  if (!(e instanceof ApiError)) return `The API could not be reached: ${e instanceof Error ? e.message : String(e)}`;
  if (e.status === 401) return 'The token was refused (missing, expired or not signed by this API). Sign in again.';
  if (e.status === 403) return 'This token has no access: the console needs an admin token.';
  const p = e.problem ?? {};
  const fields = Array.isArray(p.errors) ? p.errors.map((f) => `${f.field}: ${f.message}`).join('; ') : '';
  return [`${e.status} ${p.title ?? ''}`.trim(), p.detail, p.code, fields].filter(Boolean).join(' — ');
}
