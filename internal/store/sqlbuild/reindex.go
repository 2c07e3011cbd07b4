package sqlbuild

import "strings"

// StateColumns are the columns of index_state in the order both backends
// scan a store.IndexState.
const StateColumns = "res_type, generation, target, cursor_id, done, total, owner, started, updated, seq"

// TypesSQL lists the types of the resource table in order, walking its
// primary key one type at a time (a loose index scan): neither SQLite nor
// PostgreSQL skips through an index for SELECT DISTINCT by itself.
const TypesSQL = `WITH RECURSIVE t(res_type) AS (
  SELECT min(res_type) FROM resource
  UNION ALL
  SELECT (SELECT min(r.res_type) FROM resource r WHERE r.res_type > t.res_type) FROM t WHERE t.res_type IS NOT NULL
)
SELECT res_type FROM t WHERE res_type IS NOT NULL`

// Current selects the current, non-deleted versions of typ with ids after
// after, in id order: the walk of an online rebuild. It starts from the
// resource table, whose primary key gives the order, and joins the one
// version each row points at.
func Current(d Dialect, typ, after string, limit int) *Query {
	q := New(d)
	cols := strings.Split(historyColumns, ", ")
	for i, c := range cols {
		cols[i] = "v." + c
	}
	q.S("SELECT " + strings.Join(cols, ", ") + " FROM resource r JOIN resource_version v ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version")
	q.S(" WHERE r.res_type = ").A(typ).S(" AND r.deleted = ").A(false).S(" AND r.res_id > ").A(after)
	q.S(" ORDER BY r.res_id LIMIT ").A(clamp(limit))
	return q
}
