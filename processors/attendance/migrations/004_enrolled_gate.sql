-- Rule ATTENDANCE_STUDENT_NOT_ENROLLED on the processor side, by park and release (processors/shared/enrolled.ts,
-- docs/invariants.md). Grow-only facts learned from academic's events: a (student, section) once COMPLETED-
-- enrolled there (enrollment.completed, or a transfer of a completed enrollment), and the enrollments known
-- completed (a later enrollment.section.assigned of one is a transfer). Never deleted.
create table enrolled_sections (
  student_user_id text not null,
  section_id text not null,
  primary key (student_user_id, section_id)
);
create table completed_enrollments (enrollment_id text primary key);

-- Events waiting for their student's enrollment in their section; released (deleted here, applied) in the chunk
-- that learns the fact, in the order read (source topic, partition, offset). Never dropped: one whose fact never
-- comes stays, counted by the processor's parked gauges and listed by the query in docs/invariants.md.
-- subject_id names what the event is about (mark:<id>, absence:<id>, tardiness:<id>): its follow-ons wait behind it.
create table parked_events (
  student_user_id text not null,
  section_id text not null,
  event_id text not null,
  subject_id text not null,
  event_type text not null,
  rule text not null,
  source_topic text not null,
  source_partition int not null,
  source_offset bigint not null,
  event jsonb not null,
  parked_at timestamptz not null default now(),
  primary key (student_user_id, section_id, event_id)
);
create index parked_events_subject on parked_events (subject_id);
create index parked_events_parked_at on parked_events (parked_at);
