import { get } from './api.js';
import { append, badge, h, num, table, time } from './dom.js';

const TONE = { building: 'warn', switched: 'ok', built: 'ok', snapshot: 'ok' };

/** Replay builds (rebuilds and snapshots), running and finished, with their progress; refreshed. */
export async function buildsPage(view, ctx) {
  const body = h('div', {});
  append(
    view,
    h('h1', {}, 'Replay builds'),
    h(
      'p',
      { class: 'muted' },
      'Rebuilds and --until snapshots started with npm run replay; progress is records applied of records to apply.',
    ),
    body,
  );
  const load = async () => {
    const { items } = await get('/api/v1/ops/replay-builds');
    body.replaceChildren(
      table(
        'Replay builds',
        ['Target', 'Projection', 'Kind', 'Status', 'Progress', 'Started', 'Finished'],
        items.map((b) => {
          const pct = b.total ? Math.min(100, Math.floor((100 * (b.done ?? 0)) / b.total)) : b.status === 'building' ? null : 100;
          return [
            h('span', { class: 'mono' }, b.target),
            b.projection,
            b.kind,
            badge(b.status, TONE[b.status] ?? 'neutral'),
            h(
              'span',
              {},
              pct === null ? null : h('progress', { max: 100, value: pct, 'aria-label': `${b.target} progress` }),
              ' ',
              b.total ? `${num(b.done)} / ${num(b.total)} (${pct} %)` : pct === null ? 'starting' : '',
            ),
            time(b.startedAt),
            time(b.finishedAt),
          ];
        }),
      ),
    );
  };
  await load();
  ctx.every(5000, load);
}
