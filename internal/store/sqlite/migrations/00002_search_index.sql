-- +goose Up
-- Typed search index rows of the current version of each resource, written
-- by Put in the same transaction as the resource and replaced on each
-- write. Every table starts (res_type, res_id, patient_key, param); the
-- encodings are documented in internal/index. Dates are microseconds since
-- the Unix epoch (UTC), both ends inclusive.
ALTER TABLE idx_token ADD COLUMN display TEXT NOT NULL DEFAULT '';

CREATE TABLE idx_string (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  norm        TEXT NOT NULL,
  exact       TEXT NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, norm);
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id);

CREATE TABLE idx_date (
  res_type    TEXT    NOT NULL,
  res_id      TEXT    NOT NULL,
  patient_key TEXT    NOT NULL DEFAULT '',
  param       TEXT    NOT NULL,
  low         INTEGER NOT NULL,
  high        INTEGER NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id);

CREATE TABLE idx_reference (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  ref_type    TEXT NOT NULL DEFAULT '',
  ref_id      TEXT NOT NULL DEFAULT '',
  ref_version TEXT NOT NULL DEFAULT '',
  url         TEXT NOT NULL DEFAULT '',
  id_system   TEXT NOT NULL DEFAULT '',
  id_value    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type);
CREATE INDEX idx_reference_url ON idx_reference (res_type, param, url) WHERE url <> '';
CREATE INDEX idx_reference_identifier ON idx_reference (res_type, param, id_value, id_system) WHERE id_value <> '';
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id);

CREATE TABLE idx_quantity (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  value       REAL NOT NULL,
  low         REAL NOT NULL,
  high        REAL NOT NULL,
  system      TEXT NOT NULL DEFAULT '',
  code        TEXT NOT NULL DEFAULT '',
  canon_value REAL NOT NULL,
  canon_code  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value);
CREATE INDEX idx_quantity_canon ON idx_quantity (res_type, param, canon_code, canon_value) WHERE canon_code <> '';
CREATE INDEX idx_quantity_resource ON idx_quantity (res_type, res_id);

CREATE TABLE idx_number (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  value       REAL NOT NULL,
  low         REAL NOT NULL,
  high        REAL NOT NULL
);
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value);
CREATE INDEX idx_number_resource ON idx_number (res_type, res_id);

CREATE TABLE idx_uri (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  uri         TEXT NOT NULL
);
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri);
CREATE INDEX idx_uri_resource ON idx_uri (res_type, res_id);

CREATE TABLE idx_composite (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  c1          TEXT NOT NULL DEFAULT '',
  c2          TEXT NOT NULL DEFAULT '',
  c3          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_composite_lookup ON idx_composite (res_type, param, c1, c2);
CREATE INDEX idx_composite_resource ON idx_composite (res_type, res_id);

-- The Patients whose compartment each current resource is in.
CREATE TABLE idx_compartment (
  res_type    TEXT NOT NULL,
  res_id      TEXT NOT NULL,
  patient_key TEXT NOT NULL DEFAULT '',
  param       TEXT NOT NULL,
  patient     TEXT NOT NULL
);
CREATE INDEX idx_compartment_lookup ON idx_compartment (patient, res_type);
CREATE INDEX idx_compartment_resource ON idx_compartment (res_type, res_id);

-- +goose Down
DROP TABLE idx_compartment;
DROP TABLE idx_composite;
DROP TABLE idx_uri;
DROP TABLE idx_number;
DROP TABLE idx_quantity;
DROP TABLE idx_reference;
DROP TABLE idx_date;
DROP TABLE idx_string;
ALTER TABLE idx_token DROP COLUMN display;
