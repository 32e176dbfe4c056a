-- One data key per data subject (a user id). Erasure keeps the row as a tombstone (wrapped and kek_id null,
-- erased_at set): "erased" must stay distinguishable from "never had a key", and an erased subject never
-- gets a new key.
create table data_keys (
  subject text primary key,
  key_id text not null unique,
  wrapped bytea,
  kek_id text,
  created_at timestamptz not null default now(),
  erased_at timestamptz,
  constraint data_keys_erased_or_wrapped check ((erased_at is null) = (wrapped is not null and kek_id is not null))
);

create index data_keys_kek_id on data_keys (kek_id) where erased_at is null;
