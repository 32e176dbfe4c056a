import { explain, get, post } from './api.js';
import { announce, append, formValues, h, message, table, time } from './dom.js';

const TOPICS = ['user', 'academic', 'assignment', 'grades', 'attendance', 'notification'];

function filtersForm(values, onSubmit) {
  const field = (name, label, attrs = {}) =>
    h('label', { for: `dl-${name}` }, label, h('input', { id: `dl-${name}`, name, value: values[name] ?? '', ...attrs }));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter dead letters' },
    h(
      'label',
      { for: 'dl-topic' },
      'Source topic',
      h(
        'select',
        { id: 'dl-topic', name: 'topic' },
        h('option', { value: '' }, 'any'),
        TOPICS.map((t) => h('option', { value: t, selected: values.topic === t }, t)),
      ),
    ),
    field('eventType', 'Event type', { placeholder: 'grade.recorded' }),
    field('errorClass', 'Error class', { placeholder: 'EventDecodeError' }),
    field('rule', 'Rule', { placeholder: 'GRADE_STUDENT_NOT_ENROLLED' }),
    field('since', 'Moved since', { type: 'datetime-local' }),
    field('until', 'Moved until', { type: 'datetime-local' }),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'parked', checked: values.parked === 'true' }), 'include parked'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    const q = new URLSearchParams();
    for (const [k, val] of Object.entries(v)) if (val !== false) q.set(k, String(val));
    onSubmit(q.toString());
  });
  return form;
}

const iso = (local) => (local ? new Date(local).toISOString() : undefined);

/** Dead letters with filters, one record's detail, and redrive of a selection (confirmed, rate-bounded). */
export async function deadLettersPage(view, ctx, query) {
  const values = Object.fromEntries(new URLSearchParams(query ?? ''));
  append(
    view,
    h('h1', {}, 'Dead letters'),
    filtersForm(values, (q) => ctx.go(`#/dead-letters${q ? `?${q}` : ''}`)),
  );
  const { items, total } = await get('/api/v1/ops/dead-letters', {
    topic: values.topic,
    eventType: values.eventType,
    errorClass: values.errorClass,
    rule: values.rule,
    since: iso(values.since),
    until: iso(values.until),
    parked: values.parked === 'true' ? 'true' : undefined,
  });
  const chosen = new Set();
  const redriveBtn = h('button', { type: 'button', disabled: true }, 'Redrive selected…');
  const rate = h('input', { id: 'dl-rate', type: 'number', min: 1, max: 1000, value: 50, size: 5 });
  const result = h('div', { 'aria-live': 'polite' });
  const pick = (id, on) => {
    if (on) chosen.add(id);
    else chosen.delete(id);
    redriveBtn.disabled = chosen.size === 0;
    redriveBtn.textContent = chosen.size ? `Redrive ${chosen.size} selected…` : 'Redrive selected…';
  };
  append(
    view,
    h('p', { class: 'muted' }, `${total} dead letter(s) match; newest first${items.length < total ? `, ${items.length} shown` : ''}.`),
    table(
      'Dead letters',
      ['Select', 'Id', 'Event type', 'Error / rule', 'Moved at', 'Redrives', 'Message'],
      items.map((d) => [
        h('input', {
          type: 'checkbox',
          'aria-label': `select ${d.id}`,
          onchange: (e) => pick(d.id, e.target.checked),
        }),
        h('a', { href: `#/dead-letters/${encodeURIComponent(d.id)}`, class: 'mono' }, d.id),
        d.eventType ?? '—',
        [d.errorClass ?? '—', d.rule ? [h('br'), h('span', { class: 'mono' }, d.rule)] : null],
        time(d.movedAt),
        String(d.redriveCount),
        (d.errorMessage ?? '').slice(0, 140),
      ]),
    ),
    h('div', { class: 'bar' }, h('label', { for: 'dl-rate', class: 'inline' }, 'Rate (records/s)', rate), redriveBtn),
    result,
  );
  redriveBtn.addEventListener('click', () => confirmRedrive([...chosen], Number(rate.value), result, ctx));
}

/** A modal confirmation; the redrive happens only on an explicit "Redrive". */
function confirmRedrive(ids, ratePerSecond, result, ctx) {
  const go = h('button', { type: 'button' }, `Redrive ${ids.length}`);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'redrive-title' },
    h('h2', { id: 'redrive-title' }, 'Redrive dead letters?'),
    h(
      'p',
      {},
      `${ids.length} record(s) go back to their source topics at ${ratePerSecond} records/s. Processors apply an event once: a redriven event that was applied before is skipped.`,
    ),
    h(
      'ul',
      {},
      ids.map((id) => h('li', { class: 'mono' }, id)),
    ),
    h('div', { class: 'bar' }, go, cancel),
  );
  document.body.append(dialog);
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', () => dialog.remove());
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      const r = await post('/api/v1/ops/dead-letters/redrive', { ids, ratePerSecond });
      result.replaceChildren(
        message(`${r.redriven} record(s) redriven.`),
        h(
          'ul',
          {},
          r.items.map((i) =>
            h(
              'li',
              {},
              h('span', { class: 'mono' }, i.id),
              ` → ${i.sourceTopic}, event `,
              i.eventId ? h('a', { href: `#/events/${encodeURIComponent(i.eventId)}` }, i.eventId) : '(no id)',
            ),
          ),
        ),
      );
      announce(`${r.redriven} record(s) redriven`);
    } catch (e) {
      result.replaceChildren(message(explain(e), true));
    } finally {
      close();
      ctx.focusMain();
    }
  });
  dialog.showModal();
  cancel.focus();
}

/** One dead letter: why, from where, its headers and its decoded payload (or why it cannot be decoded). */
export async function deadLetterPage(view, ctx, id) {
  const d = await get(`/api/v1/ops/dead-letters/${encodeURIComponent(id)}`);
  const facts = [
    ['Id', h('span', { class: 'mono' }, d.id)],
    ['Source', `${d.sourceTopic ?? '—'}`],
    [
      'Event',
      [d.eventType ?? '—', ' ', d.eventId ? h('a', { href: `#/events/${encodeURIComponent(d.eventId)}`, class: 'mono' }, d.eventId) : ''],
    ],
    ['Error class', d.errorClass ?? '—'],
    ['Rule', d.rule ?? '—'],
    ['Message', d.errorMessage ?? '—'],
    ['Moved at', time(d.movedAt)],
    ['Redrives', String(d.redriveCount)],
    ['Key', h('span', { class: 'mono' }, d.key ?? '(none)')],
  ];
  const redrive = h('button', { type: 'button' }, 'Redrive this record…');
  const result = h('div', { 'aria-live': 'polite' });
  redrive.addEventListener('click', () => confirmRedrive([d.id], 10, result, ctx));
  append(
    view,
    h('p', {}, h('a', { href: '#/dead-letters' }, '← All dead letters')),
    h('h1', {}, 'Dead letter'),
    h(
      'dl',
      { class: 'facts' },
      facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    h('div', { class: 'bar' }, redrive),
    result,
    h('h2', {}, 'Payload'),
    d.payload
      ? h('pre', { 'aria-label': 'decoded payload' }, JSON.stringify(d.payload, null, 2))
      : message(`Not decodable: ${d.decodeError ?? 'no value'}`, true),
    d.valueHex && !d.payload ? h('pre', { 'aria-label': 'raw value (hex)' }, d.valueHex) : null,
    h('h2', {}, 'Headers'),
    table(
      'Headers',
      ['Header', 'Value'],
      Object.entries(d.headers).map(([k, v]) => [h('span', { class: 'mono' }, k), String(v)]),
    ),
  );
}
