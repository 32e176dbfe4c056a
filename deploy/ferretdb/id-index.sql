-- FerretDB v1 (PostgreSQL backend) turns a Mongo `_id` lookup into `WHERE _jsonb->'_id' @> $2`,
-- which its own btree index on (_jsonb->'_id') cannot serve: every lookup by _id is a sequential scan
-- (FerretDB issue #4646). A GIN index on the same expression serves `@>`. This file, run as a superuser
-- in FerretDB's database, adds one to every FerretDB table now and, through an event trigger, to every
-- table FerretDB creates later (collections appear on first write). Idempotent.

create or replace function school_events_id_gin(tbl regclass) returns void language plpgsql as $$
declare
  rel record;
begin
  select c.relname, n.nspname into rel from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = tbl;
  if rel.nspname in ('pg_catalog', 'information_schema') or rel.nspname like 'pg\_%' then return; end if;
  if not exists (select 1 from pg_attribute where attrelid = tbl and attname = '_jsonb' and not attisdropped) then return; end if;
  -- Index names are unique per schema and at most 63 bytes: a prefix of the table name plus its hash.
  execute format('create index if not exists %I on %s using gin ((_jsonb -> %L))',
                 left(rel.relname, 40) || '_' || left(md5(rel.relname), 8) || '_id_gin', tbl, '_id');
end $$;

create or replace function school_events_id_gin_on_create() returns event_trigger language plpgsql as $$
declare
  obj record;
begin
  for obj in select objid from pg_event_trigger_ddl_commands() where command_tag = 'CREATE TABLE' and object_type = 'table' loop
    perform school_events_id_gin(obj.objid::regclass);
  end loop;
end $$;

drop event trigger if exists school_events_id_gin;
create event trigger school_events_id_gin on ddl_command_end when tag in ('CREATE TABLE')
  execute function school_events_id_gin_on_create();

do $$
declare
  t record;
begin
  for t in select oid from pg_class where relkind = 'r' loop -- the function skips system and non-FerretDB tables
    perform school_events_id_gin(t.oid::regclass);
  end loop;
end $$;
