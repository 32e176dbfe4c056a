import { get } from './api.js';
import { append, badge, formValues, h, message, table, time } from './dom.js';
import { traceSection } from './trace.js';

const STATUSES = [
  'PENDING',
  'USER_VALIDATED',
  'SEATED',
  'GRADES_INITIALIZED',
  'ATTENDANCE_INITIALIZED',
  'COMPENSATING',
  'COMPLETED',
  'FAILED',
  'COMPENSATION_FAILED',
];
const STATUS_TONE = { COMPLETED: 'ok', FAILED: 'bad', COMPENSATION_FAILED: 'bad', COMPENSATING: 'warn' };
const OUTCOME_TONE = {
  SUCCEEDED: 'ok',
  STARTED: 'neutral',
  FAILED: 'bad',
  TIMED_OUT: 'bad',
  COMPENSATION_FAILED: 'bad',
  COMPENSATED: 'warn',
  WARNING: 'warn',
};
const tone = (map, v) => map[v] ?? 'neutral';

function searchForm(values, ctx) {
  const field = (name, label, attrs = {}) =>
    h(
      'label',
      { for: `en-${name}` },
      label,
      h('input', { id: `en-${name}`, name, value: values[name] ?? '', autocomplete: 'off', ...attrs }),
    );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find enrollments' },
    field('enrollmentId', 'Enrollment id'),
    field('studentUserId', 'Student id'),
    h(
      'label',
      { for: 'en-status' },
      'Status',
      h(
        'select',
        { id: 'en-status', name: 'status' },
        h('option', { value: '' }, 'any'),
        STATUSES.map((s) => h('option', { value: s, selected: values.status === s }, s)),
      ),
    ),
    field('step', 'Current step'),
    field('stuckForSeconds', 'Stuck for at least (s)', { type: 'number', min: 1 }),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (v.enrollmentId) return ctx.go(`#/enrollments/${encodeURIComponent(v.enrollmentId)}`);
    ctx.go(`#/enrollments?${new URLSearchParams(v).toString()}`);
  });
  return form;
}

/** Enrollment sagas by student, status, step, or stuck; each links to its timeline. */
export async function enrollmentsPage(view, ctx, query) {
  const values = Object.fromEntries(new URLSearchParams(query ?? ''));
  append(
    view,
    h('h1', {}, 'Enrollments'),
    searchForm(values, ctx),
    h('p', {}, h('a', { href: '#/enrollments?stuckForSeconds=300' }, 'Stuck sagas (no progress for 5 minutes)')),
  );
  const page = await get('/api/v1/academic/enrollments', {
    studentUserId: values.studentUserId,
    status: values.status,
    step: values.step,
    stuckForSeconds: values.stuckForSeconds,
    cursor: values.cursor,
    limit: 50,
  });
  append(
    view,
    table(
      'Enrollments',
      ['Enrollment', 'Student', 'Status', 'Current step', 'Failed step', 'Updated'],
      page.items.map((e) => [
        h('a', { href: `#/enrollments/${encodeURIComponent(e.enrollmentId)}`, class: 'mono' }, e.enrollmentId),
        h('span', { class: 'mono' }, e.studentUserId),
        badge(e.status, tone(STATUS_TONE, e.status)),
        e.currentStep ?? '—',
        e.failedStep ?? '—',
        time(e.updatedAt),
      ]),
    ),
    page.nextCursor
      ? h(
          'p',
          {},
          h('a', { href: `#/enrollments?${new URLSearchParams({ ...values, cursor: page.nextCursor }).toString()}` }, 'Next page →'),
        )
      : null,
  );
}

/** One saga drawn as its steps in time order: outcome, compensations, and the events' ids. */
export async function sagaPage(view, ctx, enrollmentId) {
  const s = await get(`/api/v1/academic/enrollments/${encodeURIComponent(enrollmentId)}/saga`);
  const compensations = s.timeline.filter((t) => t.outcome === 'COMPENSATED' || t.outcome === 'COMPENSATION_FAILED').length;
  append(
    view,
    h('p', {}, h('a', { href: '#/enrollments' }, '← Enrollments')),
    h('h1', {}, `Enrollment ${s.enrollmentId}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', {}, badge(s.status, tone(STATUS_TONE, s.status))),
      h('dt', {}, 'Student'),
      h('dd', { class: 'mono' }, s.studentUserId),
      h('dt', {}, 'Section'),
      h('dd', { class: 'mono' }, s.sectionId),
      h('dt', {}, 'Current step'),
      h('dd', {}, s.currentStep ?? '—'),
      h('dt', {}, 'Failed step'),
      h('dd', {}, s.failedStep ?? '—'),
      h('dt', {}, 'Reason'),
      h('dd', {}, s.failureReason ?? '—'),
      h('dt', {}, 'Compensations'),
      h('dd', {}, String(compensations)),
      h('dt', {}, 'Updated'),
      h('dd', {}, time(s.updatedAt)),
    ),
    h('h2', {}, 'Timeline'),
    s.timeline.length
      ? h(
          'ol',
          { class: 'timeline', 'aria-label': 'Saga timeline' },
          s.timeline.map((t) =>
            h(
              'li',
              { class: tone(OUTCOME_TONE, t.outcome) },
              h('span', { class: 'step' }, t.step),
              badge(t.outcome, tone(OUTCOME_TONE, t.outcome)),
              ' ',
              h('span', { class: 'muted' }, time(t.at)),
              h('br'),
              t.eventType,
              ' ',
              h('a', { href: `#/events/${encodeURIComponent(t.eventId)}`, class: 'mono', 'aria-label': `event ${t.eventId}` }, t.eventId),
              t.detail ? [h('br'), h('span', { class: 'muted' }, t.detail)] : null,
            ),
          ),
        )
      : message('No step recorded yet.'),
    traceSection(s.enrollmentId),
  );
}
