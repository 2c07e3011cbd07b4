-- +goose Up
-- The audit log, in a database file of its own so that its writes never
-- wait for the record's writer. See docs/AUDIT.md.
--
-- seq is the entry's place in the hash chain (1, 2, …) and, less one, its
-- leaf index in the Merkle tree; the single writer assigns it. body is the
-- FHIR AuditEvent in RFC 8785 canonical JSON, byte for byte what leaf
-- hashes: leaf = SHA-256(0x00 || body), chain = SHA-256(previous chain ||
-- leaf), the first entry's previous chain being 32 zero bytes. agent, org,
-- purpose and btg repeat what reports filter on. Times are microseconds
-- since the Unix epoch (UTC).
CREATE TABLE audit_log (
  seq      INTEGER NOT NULL PRIMARY KEY,
  recorded INTEGER NOT NULL,
  agent    TEXT    NOT NULL DEFAULT '',
  org      TEXT    NOT NULL DEFAULT '',
  purpose  TEXT    NOT NULL DEFAULT '',
  btg      INTEGER NOT NULL DEFAULT 0,
  body     TEXT    NOT NULL,
  leaf     BLOB    NOT NULL,
  chain    BLOB    NOT NULL
);
CREATE INDEX audit_log_agent ON audit_log (agent, seq);
CREATE INDEX audit_log_org ON audit_log (org, seq);
CREATE INDEX audit_log_btg ON audit_log (seq) WHERE btg = 1;
CREATE INDEX audit_log_recorded ON audit_log (recorded);

-- Who has looked at my record: the entries naming each Patient.
CREATE TABLE audit_patient (
  patient TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (patient, seq)
) WITHOUT ROWID;

-- Signed checkpoints: note is the signed text (the authority); root and
-- chain repeat it; compact is the Merkle compact range at size (its
-- perfect subtree roots, concatenated) from which the writer resumes.
CREATE TABLE audit_checkpoint (
  size    INTEGER NOT NULL PRIMARY KEY,
  root    BLOB    NOT NULL,
  chain   BLOB    NOT NULL,
  created INTEGER NOT NULL,
  note    TEXT    NOT NULL,
  compact BLOB    NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoint;
DROP TABLE audit_patient;
DROP TABLE audit_log;
