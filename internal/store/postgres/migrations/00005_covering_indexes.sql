-- +goose Up
-- Covering indexes for the search planner, as in the SQLite migration: the
-- lookup indexes carry res_id and the per-resource indexes the parameter
-- and its values, so PostgreSQL can answer both from index-only scans.
DROP INDEX idx_token_resource;
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id, param) INCLUDE (code, system);
DROP INDEX idx_string_resource;
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id, param) INCLUDE (norm);
DROP INDEX idx_date_lookup;
DROP INDEX idx_date_resource;
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high) INCLUDE (res_id);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id, param) INCLUDE (low, high);
DROP INDEX idx_reference_lookup;
DROP INDEX idx_reference_resource;
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type) INCLUDE (res_id);
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id, param) INCLUDE (ref_type, ref_id);
DROP INDEX idx_quantity_lookup;
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value) INCLUDE (res_id);
DROP INDEX idx_number_lookup;
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value) INCLUDE (res_id);
DROP INDEX idx_uri_lookup;
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri) INCLUDE (res_id);
DROP INDEX idx_compartment_lookup;
CREATE INDEX idx_compartment_lookup ON idx_compartment (patient, res_type) INCLUDE (res_id);

-- +goose Down
DROP INDEX idx_compartment_lookup;
CREATE INDEX idx_compartment_lookup ON idx_compartment (patient, res_type);
DROP INDEX idx_uri_lookup;
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri);
DROP INDEX idx_number_lookup;
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value);
DROP INDEX idx_quantity_lookup;
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value);
DROP INDEX idx_reference_resource;
DROP INDEX idx_reference_lookup;
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type);
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id);
DROP INDEX idx_date_resource;
DROP INDEX idx_date_lookup;
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id);
DROP INDEX idx_string_resource;
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id);
DROP INDEX idx_token_resource;
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id);
