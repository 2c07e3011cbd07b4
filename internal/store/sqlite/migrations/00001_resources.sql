-- +goose Up
-- Every version of every resource. Times are microseconds since the Unix
-- epoch (UTC). patient_key is the id of the Patient whose compartment the
-- resource is in ('' for none): the key a distributed database shards by.
CREATE TABLE resource_version (
  res_type     TEXT    NOT NULL,
  res_id       TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  patient_key  TEXT    NOT NULL DEFAULT '',
  last_updated INTEGER NOT NULL,
  method       TEXT    NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  body         BLOB,
  UNIQUE (res_type, res_id, version)
);
CREATE INDEX resource_version_history ON resource_version (last_updated DESC, res_type, res_id, version DESC);
CREATE INDEX resource_version_type_history ON resource_version (res_type, last_updated DESC, res_id, version DESC);

-- The current version of each resource: what search and counts look at.
CREATE TABLE resource (
  res_type     TEXT    NOT NULL,
  res_id       TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  patient_key  TEXT    NOT NULL DEFAULT '',
  last_updated INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (res_type, res_id)
) WITHOUT ROWID;
CREATE INDEX resource_patient ON resource (patient_key) WHERE patient_key <> '';

-- Token index rows of the current version of each resource.
CREATE TABLE idx_token (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  system      TEXT NOT NULL DEFAULT '',
  code        TEXT NOT NULL
);
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system);
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id);

-- +goose Down
DROP TABLE idx_token;
DROP TABLE resource;
DROP TABLE resource_version;
