-- +goose Up
-- Entries from here on keep their AuditEvent in the segment files beside
-- the database (internal/audit/segment.go): bseg is the segment's number,
-- boff and blen where in it the event is, and body is then ''. Entries
-- written before (blen = 0) keep their body here.
ALTER TABLE audit_log ADD COLUMN bseg INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN boff INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN blen INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN blen;
ALTER TABLE audit_log DROP COLUMN boff;
ALTER TABLE audit_log DROP COLUMN bseg;
