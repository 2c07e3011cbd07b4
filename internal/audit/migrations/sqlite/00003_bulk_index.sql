-- +goose Up
-- The filters' index is built in bulk, not entry by entry (docs/AUDIT.md,
-- "Indexes built in bulk"). Keyed by patient, user or organisation, an
-- index of a region's log took each entry onto a page of its own, and
-- writing those pages was most of the writer's time.
--
-- An entry names its Patients in patients (" id1 id2 ", '' for none),
-- appended with the row like agent and org. Every few thousand entries
-- the writer moves those after audit_indexed.upto into audit_index in
-- one INSERT … SELECT and advances upto in the same transaction. Queries read the
-- index up to upto and the rows after it.
--
-- kind is 1 for a Patient, 2 for the agent, 3 for the organisation.
-- bucket is seq >> 14: keyed by it first, each bulk insert stays inside
-- the newest 16,384 entries' few hundred pages.
ALTER TABLE audit_log ADD COLUMN patients TEXT NOT NULL DEFAULT '';
CREATE TABLE audit_index (
  bucket INTEGER NOT NULL,
  kind   INTEGER NOT NULL,
  value  TEXT    NOT NULL,
  seq    INTEGER NOT NULL,
  PRIMARY KEY (bucket, kind, value, seq)
) WITHOUT ROWID;
INSERT INTO audit_index (bucket, kind, value, seq)
  SELECT seq >> 14, 1, patient, seq FROM audit_patient
  UNION ALL SELECT seq >> 14, 2, agent, seq FROM audit_log WHERE agent <> ''
  UNION ALL SELECT seq >> 14, 3, org, seq FROM audit_log WHERE org <> '';
DROP TABLE audit_patient;
DROP INDEX audit_log_agent;
DROP INDEX audit_log_org;
CREATE TABLE audit_indexed (upto INTEGER NOT NULL);
INSERT INTO audit_indexed (upto) SELECT COALESCE(MAX(seq), 0) FROM audit_log;

-- +goose Down
CREATE TABLE audit_patient (
  patient TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (patient, seq)
) WITHOUT ROWID;
INSERT INTO audit_patient (patient, seq) SELECT value, seq FROM audit_index WHERE kind = 1;
-- The entries not yet indexed: split " id1 id2 " into its ids.
WITH RECURSIVE split(seq, rest, id) AS (
  SELECT seq, substr(patients, 2), NULL FROM audit_log WHERE seq > (SELECT upto FROM audit_indexed) AND patients <> ''
  UNION ALL
  SELECT seq, substr(rest, instr(rest, ' ') + 1), substr(rest, 1, instr(rest, ' ') - 1) FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO audit_patient (patient, seq) SELECT id, seq FROM split WHERE id IS NOT NULL;
CREATE INDEX audit_log_agent ON audit_log (agent, seq);
CREATE INDEX audit_log_org ON audit_log (org, seq);
DROP TABLE audit_indexed;
DROP TABLE audit_index;
ALTER TABLE audit_log DROP COLUMN patients;
