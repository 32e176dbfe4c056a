// Small DOM helpers: every text goes through textContent, never innerHTML (data comes from events).

/** h('a', { href: '#/x', class: 'y' }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** el.append without the holes: null, undefined and false add nothing (append would write "null"). */
export function append(el, ...children) {
  el.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

/** A table in a horizontally scrolling box (narrow windows scroll the table, not the page). */
export function table(caption, headers, rows) {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label ?? c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length
          ? rows.map((r) =>
              h(
                'tr',
                {},
                r.map((cell, i) => h('td', { class: headers[i]?.num ? 'num' : null }, cell)),
              ),
            )
          : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing to show.')),
      ),
    ),
  );
}

/** A status as text and colour: the word is always there, the colour only helps. */
export function badge(text, tone) {
  return h('span', { class: `status ${tone}` }, text);
}

export const message = (text, error = false) =>
  h('p', { class: error ? 'message error' : 'message', role: error ? 'alert' : 'status' }, text);

export const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

export const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en'));

/** Tells screen readers what changed without moving the focus. */
export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

/** The values of a form's named fields, without the empty ones. */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.value.trim() !== '') out[el.name] = el.value.trim();
  }
  return out;
}
