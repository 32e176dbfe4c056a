-- Applied-event markers of the Mongo projections (processors/runtime/mongo-markers.ts).
create table if not exists applied (
  incarnation uuid not null,
  consumer_group text not null,
  event_id text not null,
  applied_at timestamptz not null default now(),
  primary key (incarnation, consumer_group, event_id)
);
