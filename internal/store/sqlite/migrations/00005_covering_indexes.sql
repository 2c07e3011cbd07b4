-- +goose Up
-- Covering indexes for the search planner. SQLite appends the rowid, not
-- res_id, to an index, so every match found through an index used to cost
-- a seek into the table for its res_id; reading index entries in order is
-- a hundred times cheaper than such a seek. Lookup indexes (param, value)
-- now end with res_id, so a driver's id set is read from the index alone;
-- per-resource indexes (res_type, res_id) now carry the parameter and its
-- values, so checking a resource's own rows (probes, sort keys) is one
-- seek.
DROP INDEX idx_token_lookup;
DROP INDEX idx_token_resource;
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system, res_id);
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id, param, code, system);

DROP INDEX idx_string_lookup;
DROP INDEX idx_string_resource;
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, norm, res_id);
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id, param, norm);

DROP INDEX idx_date_lookup;
DROP INDEX idx_date_resource;
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high, res_id);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id, param, low, high);

DROP INDEX idx_reference_lookup;
DROP INDEX idx_reference_resource;
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type, res_id);
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id, param, ref_type, ref_id);

DROP INDEX idx_quantity_lookup;
DROP INDEX idx_quantity_canon;
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value, res_id);
CREATE INDEX idx_quantity_canon ON idx_quantity (res_type, param, canon_code, canon_value, res_id) WHERE canon_code <> '';

DROP INDEX idx_number_lookup;
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value, res_id);

DROP INDEX idx_uri_lookup;
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri, res_id);

DROP INDEX idx_compartment_lookup;
DROP INDEX idx_compartment_resource;
CREATE INDEX idx_compartment_lookup ON idx_compartment (patient, res_type, res_id);
CREATE INDEX idx_compartment_resource ON idx_compartment (res_type, res_id, patient);

-- +goose Down
DROP INDEX idx_compartment_resource;
DROP INDEX idx_compartment_lookup;
CREATE INDEX idx_compartment_lookup ON idx_compartment (patient, res_type);
CREATE INDEX idx_compartment_resource ON idx_compartment (res_type, res_id);
DROP INDEX idx_uri_lookup;
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, uri);
DROP INDEX idx_number_lookup;
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value);
DROP INDEX idx_quantity_canon;
DROP INDEX idx_quantity_lookup;
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, code, value);
CREATE INDEX idx_quantity_canon ON idx_quantity (res_type, param, canon_code, canon_value) WHERE canon_code <> '';
DROP INDEX idx_reference_resource;
DROP INDEX idx_reference_lookup;
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, ref_id, ref_type);
CREATE INDEX idx_reference_resource ON idx_reference (res_type, res_id);
DROP INDEX idx_date_resource;
DROP INDEX idx_date_lookup;
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
CREATE INDEX idx_date_resource ON idx_date (res_type, res_id);
DROP INDEX idx_string_resource;
DROP INDEX idx_string_lookup;
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, norm);
CREATE INDEX idx_string_resource ON idx_string (res_type, res_id);
DROP INDEX idx_token_resource;
DROP INDEX idx_token_lookup;
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system);
CREATE INDEX idx_token_resource ON idx_token (res_type, res_id);
