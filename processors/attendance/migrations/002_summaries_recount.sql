-- Summaries now move by deltas (fold.ts) instead of being recounted after every event. The per-event
-- projection recounted only the event's student: a correction naming another student than its mark's, or
-- a justification naming another student than its absence's (both refused now), left the other student's
-- summary stale until their next event recounted it, and deltas never would. Recount once so the deltas
-- start from the rows. Every student with rows has a summary (each of those events wrote one), so no
-- insert. Idempotent: only rows whose counts differ are written; section_id and updated_at are kept.
with m as (
  select student_user_id,
    count(*) filter (where status = 'PRESENT')::int present,
    count(*) filter (where status = 'ABSENT')::int absent,
    count(*) filter (where status = 'LATE')::int late,
    count(*) filter (where status = 'EXCUSED')::int excused
  from marks group by student_user_id
),
a as (select student_user_id, count(*)::int n from absences where not justified group by student_user_id),
t as (select student_user_id, count(*)::int n from tardies group by student_user_id),
c as (
  select s.student_user_id,
    coalesce(m.present, 0) present, coalesce(m.absent, 0) absent, coalesce(m.late, 0) late, coalesce(m.excused, 0) excused,
    coalesce(a.n, 0) unjustified_absences, coalesce(t.n, 0) tardies
  from summaries s
  left join m using (student_user_id)
  left join a using (student_user_id)
  left join t using (student_user_id)
)
update summaries s
set present = c.present, absent = c.absent, late = c.late, excused = c.excused,
  unjustified_absences = c.unjustified_absences, tardies = c.tardies
from c
where c.student_user_id = s.student_user_id
  and (s.present, s.absent, s.late, s.excused, s.unjustified_absences, s.tardies)
    is distinct from (c.present, c.absent, c.late, c.excused, c.unjustified_absences, c.tardies);
