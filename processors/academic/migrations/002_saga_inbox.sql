-- Saga events that arrive before their enrollment exists (they come from other topics, which are not
-- ordered against academic-events): parked here and applied right after student.enrolled.
create table saga_inbox (
  enrollment_id text not null,
  event_id text not null,
  event jsonb not null,
  parked_at timestamptz not null default now(),
  primary key (enrollment_id, event_id)
);
