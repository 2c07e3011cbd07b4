-- +goose Up
-- The PostgreSQL twin of the SQLite migration. For Citus, each table is
-- distributed on patient_key, co-located with resource_version.
-- Typed search index rows of the current version of each resource, written
-- by Put in the same transaction as the resource and replaced on each
-- write. Every table starts (res_type, res_id, patient_key, param); the
-- encodings are documented in internal/index. Dates are microseconds since
-- the Unix epoch (UTC), both ends inclusive.
ALTER TABLE idx_token ADD COLUMN display text NOT NULL DEFAULT '';

CREATE TABLE idx_string (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  norm        text COLLATE "C" NOT NULL,
  exact       text COLLATE "C" NOT NULL
);
-- text_pattern_ops is not needed: the columns are COLLATE "C", so
-- norm LIKE 'abc%' (the default, starts-with, string search) uses the index.
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, norm) INCLUDE (res_id);
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id);

CREATE TABLE idx_date (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  low         bigint NOT NULL,
  high        bigint NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id);

CREATE TABLE idx_reference (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  ref_type    text COLLATE "C" NOT NULL DEFAULT '',
  ref_id      text COLLATE "C" NOT NULL DEFAULT '',
  ref_version text COLLATE "C" NOT NULL DEFAULT '',
  url         text COLLATE "C" NOT NULL DEFAULT '',
  id_system   text COLLATE "C" NOT NULL DEFAULT '',
  id_value    text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type);
CREATE INDEX idx_reference_url ON idx_reference (res_type, param, url) WHERE url <> '';
CREATE INDEX idx_reference_identifier ON idx_reference (res_type, param, id_value, id_system) WHERE id_value <> '';
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id);

CREATE TABLE idx_quantity (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  value       double precision NOT NULL,
  low         double precision NOT NULL,
  high        double precision NOT NULL,
  system      text COLLATE "C" NOT NULL DEFAULT '',
  code        text COLLATE "C" NOT NULL DEFAULT '',
  canon_value double precision NOT NULL,
  canon_code  text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value);
CREATE INDEX idx_quantity_canon ON idx_quantity (res_type, param, canon_code, canon_value) WHERE canon_code <> '';
CREATE INDEX idx_quantity_resource ON idx_quantity (res_type, res_id);

CREATE TABLE idx_number (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  value       double precision NOT NULL,
  low         double precision NOT NULL,
  high        double precision NOT NULL
);
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value);
CREATE INDEX idx_number_resource ON idx_number (res_type, res_id);

CREATE TABLE idx_uri (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  uri         text COLLATE "C" NOT NULL
);
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri);
CREATE INDEX idx_uri_resource ON idx_uri (res_type, res_id);

CREATE TABLE idx_composite (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  c1          text COLLATE "C" NOT NULL DEFAULT '',
  c2          text COLLATE "C" NOT NULL DEFAULT '',
  c3          text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX idx_composite_lookup ON idx_composite (res_type, param, c1, c2);
CREATE INDEX idx_composite_resource ON idx_composite (res_type, res_id);

-- The Patients whose compartment each current resource is in.
CREATE TABLE idx_compartment (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  patient     text COLLATE "C" NOT NULL
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
