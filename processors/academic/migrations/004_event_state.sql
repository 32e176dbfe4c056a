-- What academic needs before deciding on one saga event, in one round trip instead of four to six: the
-- enrollment's lock (serialises its events across partitions), its row (locked), whether the event's cause
-- and the step it waits for are applied, and whether events of it are parked. Tables resolve through the
-- caller's search_path (the projection's schema, live or a rebuild's snapshot).
create function academic_event_state(p_lock text, p_enrollment text, p_cause text, p_step text)
returns table (enrollment jsonb, cause_applied boolean, step_done boolean, parked boolean)
language plpgsql as $$
begin
  perform pg_advisory_xact_lock(hashtext(current_schema() || p_lock));
  return query select
    (select to_jsonb(e) from enrollments e where e.enrollment_id = p_enrollment for update),
    p_cause is not null and exists (select 1 from saga_timeline t where t.enrollment_id = p_enrollment and t.event_id = p_cause),
    p_step is not null and exists (select 1 from saga_timeline t where t.enrollment_id = p_enrollment and t.event_type = p_step),
    exists (select 1 from saga_inbox i where i.enrollment_id = p_enrollment);
end $$;
