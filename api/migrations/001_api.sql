-- Idempotency keys: one row per (caller, key); the first answer is replayed for the same body.
create table idempotency (
  identity text not null,
  key text not null,
  request_hash text not null,
  status int,
  response jsonb,
  location text,
  created_at timestamptz not null default now(),
  primary key (identity, key)
);
create index idempotency_created on idempotency (created_at);

-- Every event the API published: the event-status endpoint and read-your-writes read it.
create table commands (
  event_id text primary key,
  event_type text not null,
  correlation_id text not null,
  issued_by text not null,
  created_at timestamptz not null default now()
);
