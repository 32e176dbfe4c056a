-- FerretDB v1 (PostgreSQL backend) pushes a top-level equality filter {f: x} down as
-- `WHERE _jsonb->'f' @> x`, which its own btree indexes on (_jsonb->'f') cannot serve: without more,
-- every lookup by _id or by any other field is a sequential scan (FerretDB issue #4646). A GIN index
-- on the same expression serves `@>`. This file, run as a superuser in FerretDB's database, keeps one
-- such index for `_id` on every FerretDB table and for each declared lookup field on the tables of its
-- collection, now and, through an event trigger, on every table FerretDB creates later (collections
-- appear on first write). The declared lookups (`MongoProcessor.lookups`) are rows of
-- school_events_lookups; `npm run ferretdb:indexes` writes them and applies this file. Idempotent.

create table if not exists public.school_events_lookups (
  collection text not null, -- a collection name, or '*' for every collection
  field text not null,
  primary key (collection, field)
);
insert into public.school_events_lookups values ('*', '_id') on conflict do nothing;

create or replace function school_events_lookup_gin(tbl regclass) returns void language plpgsql as $$
declare
  rel record;
  l record;
begin
  select c.relname, n.nspname into rel from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = tbl;
  if rel.nspname in ('pg_catalog', 'information_schema') or rel.nspname like 'pg\_%' then return; end if;
  if not exists (select 1 from pg_attribute where attrelid = tbl and attname = '_jsonb' and not attisdropped) then return; end if;
  for l in select field from public.school_events_lookups
           -- FerretDB v1 names a collection's table `<collection>_<8 hex digits>`.
           where collection = '*' or rel.relname ~ ('^' || regexp_replace(collection, '([^a-z0-9_])', '\\\1', 'g') || '_[0-9a-f]{8}$') loop
    -- Index names are unique per schema and at most 63 bytes: a prefix of the table name plus a hash.
    execute format('create index if not exists %I on %s using gin ((_jsonb -> %L))',
                   case when l.field = '_id' then left(rel.relname, 40) || '_' || left(md5(rel.relname), 8) || '_id_gin'
                        else left(rel.relname, 36) || '_' || left(md5(rel.relname || '.' || l.field), 8) || '_lk_gin' end,
                   tbl, l.field);
  end loop;
end $$;

create or replace function school_events_lookup_gin_on_create() returns event_trigger language plpgsql as $$
declare
  obj record;
begin
  for obj in select objid from pg_event_trigger_ddl_commands() where command_tag = 'CREATE TABLE' and object_type = 'table' loop
    perform school_events_lookup_gin(obj.objid::regclass);
  end loop;
end $$;

-- The trigger and function of the earlier `_id`-only version of this file.
drop event trigger if exists school_events_id_gin;
drop function if exists school_events_id_gin_on_create();
drop function if exists school_events_id_gin(regclass);

drop event trigger if exists school_events_lookup_gin;
create event trigger school_events_lookup_gin on ddl_command_end when tag in ('CREATE TABLE')
  execute function school_events_lookup_gin_on_create();

-- Every existing table, for every lookup (run again after adding rows to school_events_lookups).
create or replace function school_events_lookup_gin_all() returns void language plpgsql as $$
declare
  t record;
begin
  for t in select oid from pg_class where relkind = 'r' loop -- the function skips system and non-FerretDB tables
    perform school_events_lookup_gin(t.oid::regclass);
  end loop;
end $$;
select school_events_lookup_gin_all();
