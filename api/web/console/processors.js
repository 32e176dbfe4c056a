import { get } from './api.js';
import { append, badge, h, num, table, time } from './dom.js';

const TONE = { ok: 'ok', lagging: 'warn', 'circuit-open': 'bad', down: 'bad' };
const CIRCUIT_TONE = { closed: 'ok', 'half-open': 'warn', open: 'bad' };

/** Lag per processor and partition, each processor's instances with their readiness and circuit; refreshed. */
export async function processorsPage(view, ctx) {
  const body = h('div', {});
  const stamp = h('span', { class: 'muted' });
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause refresh');
  let paused = false;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume refresh' : 'Pause refresh';
  });
  append(
    view,
    h('h1', {}, 'Processors'),
    h('p', { class: 'muted' }, 'Lag is records not yet consumed: end offset minus the group’s committed offset, from the broker.'),
    h('div', { class: 'bar' }, stamp, pause),
    body,
  );
  const load = async () => {
    const data = await get('/api/v1/ops/processors');
    body.replaceChildren(render(data));
    stamp.textContent = `Updated ${time(data.at)} (every 5 s)`;
  };
  await load();
  ctx.every(5000, () => (paused ? undefined : load()));
}

function render(data) {
  const summary = table(
    'Processors',
    ['Processor', 'Status', { label: 'Lag (records)', num: true }, 'Instances', 'Topics'],
    data.processors.map((p) => [
      h('span', { class: 'step' }, p.name),
      badge(p.status, TONE[p.status] ?? 'neutral'),
      num(p.lag),
      p.instances.length
        ? h(
            'ul',
            { class: 'plain' },
            p.instances.map((i) =>
              h(
                'li',
                {},
                h('span', { class: 'mono' }, i.instance),
                ' ',
                badge(i.ready ? 'ready' : 'not ready', i.ready ? 'ok' : 'warn'),
                ' ',
                badge(`circuit ${i.circuit}`, CIRCUIT_TONE[i.circuit] ?? 'neutral'),
                i.stale ? [' ', badge(`silent since ${time(i.seenAt)}`, 'bad')] : null,
              ),
            ),
          )
        : badge('no instance running', 'bad'),
      p.topics.join(', '),
    ]),
  );
  // Per-partition detail, folded: open one with Enter or a click (its summary says the total).
  const details = data.processors.map((p) =>
    h(
      'details',
      { id: `processor-${p.name}`, open: p.lag > 0 ? true : null },
      h('summary', {}, `${p.name} — group ${p.group}: ${p.partitions.length} partitions, lag ${num(p.lag)}`),
      table(
        `${p.name} partitions`,
        [
          'Topic',
          { label: 'Partition', num: true },
          { label: 'Committed', num: true },
          { label: 'End', num: true },
          { label: 'Lag', num: true },
        ],
        p.partitions.map((x) => [x.topic, x.partition, num(x.committed), num(x.end), num(x.lag)]),
      ),
    ),
  );
  return h('div', {}, summary, h('h2', {}, 'Partitions'), details);
}
