import { get } from './api.js';
import { append, badge, h, message } from './dom.js';

/** Which processors applied one event (the runtime's own applied markers). */
export async function eventsPage(view, ctx, eventId) {
  const input = h('input', { name: 'eventId', id: 'event-id', required: true, size: 40, value: eventId ?? '', autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', { for: 'event-id' }, 'Event id', input),
    h('button', { type: 'submit' }, 'Look up'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go(`#/events/${encodeURIComponent(input.value.trim())}`);
  });
  const out = h('div', {});
  append(view, h('h1', {}, 'Event lookup'), form, out);
  if (!eventId) return input.focus();
  const s = await get(`/api/v1/events/${encodeURIComponent(eventId)}`);
  append(
    out,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Event'),
      h('dd', { class: 'mono' }, s.eventId),
      h('dt', {}, 'Type'),
      h('dd', {}, s.eventType ?? 'not published by this API (found by its applied markers)'),
      h('dt', {}, 'Applied everywhere it should be'),
      h('dd', {}, badge(s.complete ? 'yes' : 'not yet', s.complete ? 'ok' : 'warn')),
    ),
    Object.keys(s.applied).length
      ? h(
          'ul',
          { class: 'applied', 'aria-label': 'Applied by processor' },
          Object.entries(s.applied).map(([name, yes]) =>
            h('li', {}, h('span', { class: 'step' }, name), ' ', badge(yes ? 'applied' : 'not applied', yes ? 'ok' : 'warn')),
          ),
        )
      : message('No processor keeps a read model of this event type.'),
  );
}
