import { explain, get } from './api.js';
import { append, h, message, table } from './dom.js';

/** Depth of each span under its parent (spans whose parent is outside the trace are roots). */
function depths(spans) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const depth = new Map();
  const of = (s, seen = new Set()) => {
    if (depth.has(s.spanId)) return depth.get(s.spanId);
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    const d = parent && !seen.has(parent.spanId) ? of(parent, seen.add(s.spanId)) + 1 : 0;
    depth.set(s.spanId, d);
    return d;
  };
  for (const s of spans) of(s);
  return depth;
}

/** A bar placed on the trace's time axis (CSSOM styles: allowed by the page's CSP, unlike style attributes). */
function bar(span, total) {
  const el = h('span', { class: 'span-bar', 'aria-hidden': 'true' });
  el.style.marginLeft = `${(100 * span.startOffsetMs) / Math.max(1, total)}%`;
  el.style.width = `${Math.max(0.5, (100 * span.durationMs) / Math.max(1, total))}%`;
  return h('span', { class: 'span-track' }, el);
}

/** One saga's trace from the tracing backend (Jaeger's query API, through the API): every span, in time order. */
export function traceSection(enrollmentId) {
  const out = h('div', { 'aria-live': 'polite' });
  const load = h('button', { type: 'button', class: 'secondary' }, 'Show the trace');
  load.addEventListener('click', async () => {
    load.disabled = true;
    try {
      const t = await get(`/api/v1/ops/enrollments/${encodeURIComponent(enrollmentId)}/trace`);
      const depth = depths(t.spans);
      const services = new Set(t.spans.map((s) => s.processor ?? s.service));
      out.replaceChildren();
      append(
        out,
        h(
          'p',
          {},
          `Trace `,
          h('span', { class: 'mono' }, t.traceId),
          `: ${t.spans.length} spans over ${t.durationMs} ms, ${services.size} services.`,
        ),
        table(
          'Trace spans',
          ['Span', 'Processor / service', { label: 'Start (ms)', num: true }, { label: 'Duration (ms)', num: true }, 'When'],
          t.spans.map((s) => [
            h(
              'span',
              { class: 'span-name', 'data-depth': String(depth.get(s.spanId) ?? 0) },
              `${'· '.repeat(depth.get(s.spanId) ?? 0)}${s.name}`,
            ),
            s.processor ?? s.service,
            String(s.startOffsetMs),
            String(s.durationMs),
            bar(s, t.durationMs),
          ]),
        ),
      );
    } catch (e) {
      out.replaceChildren(message(explain(e), true));
      load.disabled = false;
    }
  });
  return h('section', { 'aria-label': 'Trace' }, h('h2', {}, 'Trace'), h('div', { class: 'bar' }, load), out);
}
