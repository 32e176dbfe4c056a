-- academic folds a chunk at a time (load → fold → flush): academic_event_state (one event's state) gives way
-- to academic_load, which reads what a whole chunk needs in one round trip. It locks the chunk's enrollments
-- in sorted order, reads them with their applied saga events and parked events, then locks and reads every
-- section they or the chunk's events name (enrollments before sections, each sorted: concurrent chunks — a
-- rebuild's partitions, a second instance — queue instead of deadlocking). Each statement of a plpgsql
-- function sees what committed before it ran, so rows are read after their lock is held. Tables resolve
-- through the caller's search_path (the projection's schema, live or a rebuild's snapshot).
drop function if exists academic_event_state(text, text, text, text);

create function academic_load(p_enrollments text[], p_sections text[], p_section_fields text[])
returns jsonb
language plpgsql as $$
declare
  k text;
  v_enrollments jsonb;
  v_sections text[];
begin
  foreach k in array coalesce((select array_agg(distinct x order by x) from unnest(p_enrollments) x), '{}') loop
    perform pg_advisory_xact_lock(hashtext(current_schema() || 'enrollment:' || k));
  end loop;
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', k.id,
      'enrollment', case when e.enrollment_id is null then null else jsonb_build_object(
        'enrollmentId', e.enrollment_id, 'studentUserId', e.student_user_id, 'sectionId', e.section_id,
        'academicYearId', e.academic_year_id, 'status', e.status, 'currentStep', e.current_step, 'failedStep', e.failed_step,
        'failureReason', e.failure_reason, 'seatHeld', e.seat_held, 'active', e.active, 'compensated', e.compensated,
        'warnings', e.warnings, 'deadlineExpired', e.deadline_expired) end,
      'applied', (select coalesce(jsonb_agg(jsonb_build_array(t.event_id, t.event_type)), '[]') from saga_timeline t where t.enrollment_id = k.id),
      'parked', (select coalesce(jsonb_agg(i.event), '[]') from saga_inbox i where i.enrollment_id = k.id))), '[]')
    into v_enrollments
    from unnest(p_enrollments) k (id) left join enrollments e on e.enrollment_id = k.id;
  select array_agg(distinct s order by s) into v_sections from (
    select unnest(p_sections) s
    union all select e.section_id from enrollments e where e.enrollment_id = any(p_enrollments)
    union all select i.event -> 'payload' ->> f from saga_inbox i, unnest(p_section_fields) f where i.enrollment_id = any(p_enrollments)
  ) named where s is not null;
  foreach k in array coalesce(v_sections, '{}') loop
    perform pg_advisory_xact_lock(hashtext(current_schema() || 'section:' || k));
  end loop;
  return jsonb_build_object(
    'enrollments', v_enrollments,
    'sectionsRead', to_jsonb(coalesce(v_sections, '{}')),
    'sections', (select coalesce(jsonb_agg(jsonb_build_object(
        'id', s.id, 'academicYearId', s.academic_year_id, 'name', s.name, 'gradeLevel', s.grade_level, 'capacity', s.capacity,
        'homeroom', s.homeroom, 'seatsTaken', s.seats_taken)), '[]')
      from sections s where s.id = any(v_sections)));
end $$;
