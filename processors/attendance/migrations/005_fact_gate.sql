-- The gate parks on any grow-only fact, not only a student's enrollment (processors/shared/gate.ts,
-- docs/invariants.md): a parked event names the fact it waits on (`fact`: a key of its kind and parts joined by
-- U+001F), and one refused when its fact came stays, marked `refused` (it held nothing back before either: its fact
-- was known). The new fact of attendance, the days of the week on which a section has a lesson, is kept in
-- section_days (learned from schedule.created; a projection built before this learns it only in a rebuild).
alter table parked_events add column fact text, add column refused boolean not null default false;
update parked_events p
set fact = 'enrolled' || chr(31) || student_user_id || chr(31) || section_id,
    refused = exists (select 1 from enrolled_sections e where e.student_user_id = p.student_user_id and e.section_id = p.section_id);
alter table parked_events alter column fact set not null;
create index parked_events_fact on parked_events (fact);

-- Grow-only: the days of the week on which a section ever had a lesson (schedule.created); no event removes one.
create table section_days (
  section_id text not null,
  day_of_week text not null,
  primary key (section_id, day_of_week)
);
