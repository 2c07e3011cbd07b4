-- +goose Up
-- The SQLite log's segment columns, here only so that one set of SQL
-- serves both: PostgreSQL keeps every body in its row (blen = 0), where
-- its replication and backups already carry it.
ALTER TABLE audit_log ADD COLUMN bseg BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN boff BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN blen INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN blen;
ALTER TABLE audit_log DROP COLUMN boff;
ALTER TABLE audit_log DROP COLUMN bseg;
