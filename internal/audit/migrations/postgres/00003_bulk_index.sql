-- +goose Up
-- The filters' index built in bulk, as on SQLite (see its migration and
-- docs/AUDIT.md): one set of SQL serves both.
ALTER TABLE audit_log ADD COLUMN patients TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE TABLE audit_index (
  bucket BIGINT   NOT NULL,
  kind   SMALLINT NOT NULL,
  value  TEXT     COLLATE "C" NOT NULL,
  seq    BIGINT   NOT NULL,
  PRIMARY KEY (bucket, kind, value, seq)
);
INSERT INTO audit_index (bucket, kind, value, seq)
  SELECT seq >> 14, 1, patient, seq FROM audit_patient
  UNION ALL SELECT seq >> 14, 2, agent, seq FROM audit_log WHERE agent <> ''
  UNION ALL SELECT seq >> 14, 3, org, seq FROM audit_log WHERE org <> '';
DROP TABLE audit_patient;
DROP INDEX audit_log_agent;
DROP INDEX audit_log_org;
CREATE TABLE audit_indexed (upto BIGINT NOT NULL);
INSERT INTO audit_indexed (upto) SELECT COALESCE(MAX(seq), 0) FROM audit_log;

-- +goose Down
CREATE TABLE audit_patient (
  patient TEXT   COLLATE "C" NOT NULL,
  seq     BIGINT NOT NULL,
  PRIMARY KEY (patient, seq)
);
INSERT INTO audit_patient (patient, seq) SELECT value, seq FROM audit_index WHERE kind = 1;
INSERT INTO audit_patient (patient, seq)
  SELECT DISTINCT id, seq FROM audit_log, unnest(string_to_array(btrim(patients), ' ')) AS id
  WHERE seq > (SELECT upto FROM audit_indexed) AND patients <> ''
  ON CONFLICT DO NOTHING;
CREATE INDEX audit_log_agent ON audit_log (agent, seq);
CREATE INDEX audit_log_org ON audit_log (org, seq);
DROP TABLE audit_indexed;
DROP TABLE audit_index;
ALTER TABLE audit_log DROP COLUMN patients;
