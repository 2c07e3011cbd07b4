-- +goose Up
-- The PostgreSQL twin of the SQLite migration. Per resource type, the
-- generation (internal/index) its search index rows are complete at, and
-- the progress of an online rebuild toward a new one: see
-- store.IndexState. A type with resources and no row here was indexed
-- before generations were recorded, so its rows are of unknown generation.
-- For Citus the table is small and read by every node: a reference table.
CREATE TABLE index_state (
  res_type   text COLLATE "C" NOT NULL PRIMARY KEY,
  generation text COLLATE "C" NOT NULL DEFAULT '',
  target     text COLLATE "C" NOT NULL DEFAULT '',
  cursor_id  text COLLATE "C" NOT NULL DEFAULT '',
  done       bigint NOT NULL DEFAULT 0,
  total      bigint NOT NULL DEFAULT 0,
  owner      text COLLATE "C" NOT NULL DEFAULT '',
  started    timestamptz,
  updated    timestamptz,
  seq        bigint NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE index_state;
