-- +goose Up
-- The PostgreSQL twin of the SQLite schema: same tables, same column names,
-- so internal/store/sqlbuild writes SQL that runs on both.
--
-- Text keys are COLLATE "C": ordering is bytewise, as in SQLite, whatever
-- the database's locale, so ORDER BY res_id and the history cursor order
-- agree across backends, and comparisons are cheaper.
--
-- Distribution (Citus, later): every per-person row carries patient_key,
-- the id of the Patient whose compartment the row is in ('' for none).
-- To shard by person, resource_version, resource and idx_token become
-- distributed tables on patient_key, co-located, so a Patient's resources,
-- their history and their index rows sit on one worker and the queries that
-- name a patient stay on one shard:
--   SELECT create_distributed_table('resource_version', 'patient_key');
--   SELECT create_distributed_table('resource', 'patient_key', colocate_with => 'resource_version');
--   SELECT create_distributed_table('idx_token', 'patient_key', colocate_with => 'resource_version');
-- Citus requires the distribution column in every primary key and unique
-- constraint, so the keys then become (patient_key, res_type, res_id[,
-- version]) and the store must know a resource's patient_key to address
-- it (lookups by (res_type, res_id) alone fan out to every shard: a small
-- (res_type, res_id) -> patient_key directory table, or a reference table,
-- serves them). Rows with patient_key '' (Organization, Practitioner,
-- terminology) are few and shared: they would live in tables distributed
-- by res_id, or reference tables. There are no sequences and no foreign
-- keys between these tables, so nothing else stands in the way.

-- Every version of every resource. body is JSONB: keys are reordered and
-- whitespace normalised, numbers keep their written precision (numeric),
-- so the resource is semantically unchanged. A deletion has a NULL body.
CREATE TABLE resource_version (
  res_type     text COLLATE "C" NOT NULL,
  res_id       text COLLATE "C" NOT NULL,
  version      bigint      NOT NULL,
  patient_key  text COLLATE "C" NOT NULL DEFAULT '',
  last_updated timestamptz NOT NULL,
  method       text        NOT NULL,
  deleted      boolean     NOT NULL DEFAULT false,
  body         jsonb,
  PRIMARY KEY (res_type, res_id, version)
);
CREATE INDEX resource_version_history ON resource_version (last_updated DESC, res_type, res_id, version DESC);
CREATE INDEX resource_version_type_history ON resource_version (res_type, last_updated DESC, res_id, version DESC);

-- The current version of each resource: what search and counts look at,
-- and the row a writer locks (SELECT ... FOR UPDATE) to add a version.
CREATE TABLE resource (
  res_type     text COLLATE "C" NOT NULL,
  res_id       text COLLATE "C" NOT NULL,
  version      bigint      NOT NULL,
  patient_key  text COLLATE "C" NOT NULL DEFAULT '',
  last_updated timestamptz NOT NULL,
  deleted      boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (res_type, res_id)
);
CREATE INDEX resource_patient ON resource (patient_key) WHERE patient_key <> '';

-- Token index rows of the current version of each resource.
CREATE TABLE idx_token (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  system      text COLLATE "C" NOT NULL DEFAULT '',
  code        text COLLATE "C" NOT NULL
);
-- INCLUDE (res_id) lets a token lookup answer from the index alone.
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system) INCLUDE (res_id);
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id);

-- +goose Down
DROP TABLE idx_token;
DROP TABLE resource;
DROP TABLE resource_version;
