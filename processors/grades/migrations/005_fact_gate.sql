-- The gate parks on any grow-only fact, not only a student's enrollment (processors/shared/gate.ts,
-- docs/invariants.md): a parked event names the fact it waits on (`fact`: a key of its kind and parts joined by
-- U+001F), and one refused when its fact came stays, marked `refused` (it held nothing back before either: its fact
-- was known). The grades processor's other facts live in its own tables (section_courses, section_years,
-- grading_periods): nothing to copy.
alter table parked_events add column fact text, add column refused boolean not null default false;
update parked_events p
set fact = 'enrolled' || chr(31) || student_user_id || chr(31) || section_id,
    refused = exists (select 1 from enrolled_sections e where e.student_user_id = p.student_user_id and e.section_id = p.section_id);
alter table parked_events alter column fact set not null;
create index parked_events_fact on parked_events (fact);
