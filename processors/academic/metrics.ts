import type { StoreGauge } from '../runtime/types';

const ENDED = `('COMPLETED', 'FAILED', 'COMPENSATION_FAILED')`;

/**
 * The enrollment saga as gauges, read from academic's projection at every scrape (it is the saga's state):
 * what is in flight and where, how long the oldest has waited, how sagas ended, and how long the recent ones
 * took. Counts never go down except in a rebuild, so `increase()` over them counts completions and failures.
 */
export const SAGA_GAUGES: readonly StoreGauge[] = [
  {
    name: 'school_events_sagas',
    help: 'Enrollment sagas by status (in flight: PENDING … COMPENSATING; ended: COMPLETED, FAILED, COMPENSATION_FAILED)',
    labels: ['status'],
    sql: 'select status, count(*) as value from enrollments group by status',
  },
  {
    name: 'school_events_sagas_in_flight',
    help: 'Enrollment sagas not ended yet, by the step they wait for',
    labels: ['step'],
    sql: `select current_step as step, count(*) as value from enrollments where status not in ${ENDED} group by current_step`,
  },
  {
    name: 'school_events_saga_oldest_in_flight_seconds',
    help: 'Seconds since the last progress of the longest-waiting saga not ended yet, by the step it waits for (stuck sagas)',
    labels: ['step'],
    sql: `select current_step as step, extract(epoch from now() - min(updated_at)) as value
          from enrollments where status not in ${ENDED} group by current_step`,
  },
  {
    name: 'school_events_sagas_failed',
    help: 'Enrollment sagas ended FAILED or COMPENSATION_FAILED, by status and failing step',
    labels: ['status', 'failed_step'],
    sql: `select status, coalesce(failed_step, 'NONE') as failed_step, count(*) as value from enrollments
          where status in ('FAILED', 'COMPENSATION_FAILED') group by status, failed_step`,
  },
  {
    name: 'school_events_saga_completion_seconds',
    help: 'Saga duration (first event to the last, by event time) of the sagas that ended in the last 15 minutes, by quantile',
    labels: ['quantile'],
    sql: `select q.quantile::text as quantile, q.value from (
            select unnest(array[0.5, 0.95, 0.99]) as quantile,
                   unnest(percentile_cont(array[0.5, 0.95, 0.99]) within group (order by extract(epoch from updated_at - created_at))) as value
            from enrollments where status in ${ENDED} and updated_at > now() - interval '15 minutes') q
          where q.value is not null`,
  },
];
