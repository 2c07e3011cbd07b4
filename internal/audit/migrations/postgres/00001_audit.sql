-- +goose Up
-- The PostgreSQL twin of the SQLite audit schema (same tables and columns,
-- so one set of SQL serves both), in the schema the URL's search_path
-- names. See docs/AUDIT.md and the SQLite migration for the columns.
-- body is TEXT, not JSONB: the exact canonical bytes are what is hashed.
-- seq comes from the writer under an advisory lock, not a sequence, so
-- that two servers sharing the database cannot interleave the chain.
CREATE TABLE audit_log (
  seq      BIGINT   NOT NULL PRIMARY KEY,
  recorded BIGINT   NOT NULL,
  agent    TEXT     COLLATE "C" NOT NULL DEFAULT '',
  org      TEXT     COLLATE "C" NOT NULL DEFAULT '',
  purpose  TEXT     COLLATE "C" NOT NULL DEFAULT '',
  btg      SMALLINT NOT NULL DEFAULT 0,
  body     TEXT     NOT NULL,
  leaf     BYTEA    NOT NULL,
  chain    BYTEA    NOT NULL
);
CREATE INDEX audit_log_agent ON audit_log (agent, seq);
CREATE INDEX audit_log_org ON audit_log (org, seq);
CREATE INDEX audit_log_btg ON audit_log (seq) WHERE btg = 1;
CREATE INDEX audit_log_recorded ON audit_log (recorded);

CREATE TABLE audit_patient (
  patient TEXT   COLLATE "C" NOT NULL,
  seq     BIGINT NOT NULL,
  PRIMARY KEY (patient, seq)
);

CREATE TABLE audit_checkpoint (
  size    BIGINT NOT NULL PRIMARY KEY,
  root    BYTEA  NOT NULL,
  chain   BYTEA  NOT NULL,
  created BIGINT NOT NULL,
  note    TEXT   NOT NULL,
  compact BYTEA  NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoint;
DROP TABLE audit_patient;
DROP TABLE audit_log;
