-- Rules TEACHER_NOT_A_TEACHER and ASSIGNMENT_COURSE_NOT_IN_SECTION on the processor side, by park and release
-- (processors/shared/gate.ts, processors/assignments/facts.ts, docs/invariants.md). Grow-only facts: the users
-- created as TEACHER (user.created; a user's type never changes) and the courses of each section
-- (course.assigned; no event removes one). Never deleted. A projection built before this learns them only in a
-- rebuild: until then its new assignments and schedules are parked (nothing is lost; the rebuild applies them).
create table teachers (user_id text primary key);
create table section_courses (
  section_id text not null,
  course_id text not null,
  primary key (section_id, course_id)
);

-- Assignments and schedules waiting for a fact, released (deleted here, applied) in the chunk that learns it, in
-- the order read; the gate's table, the same shape as grades' and attendance's. student_user_id is the gate's
-- column for the person an event is filed under: here the teacher. subject_id names what the event is about
-- (assignment:<id>, schedule:<id>): a removal of a parked assignment waits behind it.
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
  fact text not null,
  refused boolean not null default false,
  primary key (student_user_id, section_id, event_id)
);
create index parked_events_subject on parked_events (subject_id);
create index parked_events_parked_at on parked_events (parked_at);
create index parked_events_fact on parked_events (fact);
