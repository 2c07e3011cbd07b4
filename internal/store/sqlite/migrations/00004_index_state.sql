-- +goose Up
-- Per resource type, the generation (internal/index) its search index rows
-- are complete at, and the progress of an online rebuild toward a new one:
-- see store.IndexState. A type with resources and no row here was indexed
-- before generations were recorded, so its rows are of unknown generation.
-- Times are microseconds since the Unix epoch (UTC), 0 for none.
CREATE TABLE index_state (
  res_type   TEXT    NOT NULL PRIMARY KEY,
  generation TEXT    NOT NULL DEFAULT '',
  target     TEXT    NOT NULL DEFAULT '',
  cursor_id  TEXT    NOT NULL DEFAULT '',
  done       INTEGER NOT NULL DEFAULT 0,
  total      INTEGER NOT NULL DEFAULT 0,
  owner      TEXT    NOT NULL DEFAULT '',
  started    INTEGER NOT NULL DEFAULT 0,
  updated    INTEGER NOT NULL DEFAULT 0,
  seq        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- +goose Down
DROP TABLE index_state;
