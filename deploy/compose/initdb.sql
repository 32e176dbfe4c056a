-- The databases the native stack creates beside the projections' (deploy/local/services.ts): the schema
-- registry's storage. Run once by the postgres image on an empty data volume.
create database registry;
