// Package sqlbuild writes the SQL that both relational backends share for
// finding resources by index and listing history, so the SQLite and
// PostgreSQL stores differ only in placeholders and time encoding.
package sqlbuild

import (
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/store"
)

// Dialect is what differs between the backends.
type Dialect struct {
	// Numbered placeholders ($1) for PostgreSQL; ? for SQLite.
	Numbered bool
	// Time converts a time to the value stored in last_updated.
	Time func(time.Time) any
	// NoIndex is put before a column to keep the database from reading an
	// index by it: "+" for SQLite, whose planner, without statistics,
	// would otherwise check a resource's own index rows through the
	// (param, value) index, walking every row of the value for each
	// resource, instead of through the (res_type, res_id) one. PostgreSQL
	// chooses by statistics and needs nothing ("").
	NoIndex string
}

// Query accumulates SQL text and its arguments.
type Query struct {
	d    Dialect
	b    strings.Builder
	Args []any
}

// New starts a query in dialect d.
func New(d Dialect) *Query { return &Query{d: d} }

// S appends SQL text.
func (q *Query) S(s string) *Query { q.b.WriteString(s); return q }

// A appends a placeholder bound to v.
func (q *Query) A(v any) *Query {
	q.Args = append(q.Args, v)
	if q.d.Numbered {
		q.b.WriteByte('$')
		q.b.WriteString(strconv.Itoa(len(q.Args)))
	} else {
		q.b.WriteByte('?')
	}
	return q
}

// T appends a placeholder bound to a time.
func (q *Query) T(t time.Time) *Query { return q.A(q.d.Time(t)) }

func (q *Query) String() string { return q.b.String() }

// Find selects res_id of current, non-deleted resources matching c.
func Find(d Dialect, c store.Criteria, limit int) (*Query, error) {
	q := New(d)
	q.S("SELECT r.res_id FROM resource r WHERE r.res_type = ").A(c.Type).S(" AND r.deleted = ").A(false)
	if len(c.IDs) > 0 {
		q.S(" AND r.res_id IN (")
		for i, id := range c.IDs {
			if i > 0 {
				q.S(", ")
			}
			q.A(id)
		}
		q.S(")")
	}
	for _, tc := range c.Tokens {
		// IN (subquery), not a correlated EXISTS: SQLite then drives the
		// query from the token index instead of walking every resource of
		// the type and probing the index once per row.
		q.S(" AND r.res_id IN (SELECT t.res_id FROM idx_token t WHERE t.res_type = ").A(c.Type).S(" AND t.param = ").A(tc.Param).S(" AND (")
		for i, v := range tc.Values {
			if i > 0 {
				q.S(" OR ")
			}
			q.S("(t.code = ").A(v.Code)
			if !v.AnySystem {
				q.S(" AND t.system = ").A(v.System)
			}
			q.S(")")
		}
		if len(tc.Values) == 0 {
			q.S("1 = 0")
		}
		q.S("))")
	}
	b := &planner{q: q, d: d, t: "r"}
	for _, cl := range c.Clauses {
		q.S(" AND r.res_id IN (")
		if err := b.ids(cl, []string{c.Type}); err != nil {
			return nil, err
		}
		q.S(")")
	}
	if c.After != "" {
		q.S(" AND r.res_id > ").A(c.After)
	}
	q.S(" ORDER BY r.res_id LIMIT ").A(clamp(limit))
	return q, nil
}

// historyColumns are the columns History and the readers scan, in order.
const historyColumns = "res_type, res_id, version, patient_key, last_updated, method, deleted, body"

// Columns is the select list for scanning a store.Resource.
func Columns() string { return historyColumns }

// History selects versions for q, newest first.
func History(d Dialect, hq store.HistoryQuery) *Query {
	q := New(d)
	q.S("SELECT " + historyColumns + " FROM resource_version v WHERE 1 = 1")
	if hq.Type != "" {
		q.S(" AND v.res_type = ").A(hq.Type)
	}
	if hq.ID != "" {
		q.S(" AND v.res_id = ").A(hq.ID)
	}
	if !hq.Since.IsZero() {
		q.S(" AND v.last_updated >= ").T(hq.Since)
	}
	if !hq.At.IsZero() {
		// The version current at At: updated at or before At, with no later
		// version of the same resource also at or before At.
		q.S(" AND v.last_updated <= ").T(hq.At)
		q.S(" AND NOT EXISTS (SELECT 1 FROM resource_version w WHERE w.res_type = v.res_type AND w.res_id = v.res_id AND w.version > v.version AND w.last_updated <= ").T(hq.At).S(")")
	}
	if c := hq.After; c != nil {
		// Keyset continuation in the order (last_updated desc, res_type,
		// res_id, version desc). The first bound is implied by the second
		// but lets the index scan start at the cursor instead of walking
		// every newer version.
		q.S(" AND v.last_updated <= ").T(c.LastUpdated)
		q.S(" AND (v.last_updated < ").T(c.LastUpdated)
		q.S(" OR (v.last_updated = ").T(c.LastUpdated).S(" AND (v.res_type > ").A(c.Type)
		q.S(" OR (v.res_type = ").A(c.Type).S(" AND (v.res_id > ").A(c.ID)
		q.S(" OR (v.res_id = ").A(c.ID).S(" AND v.version < ").A(c.Version).S("))))))")
	}
	q.S(" ORDER BY v.last_updated DESC, v.res_type, v.res_id, v.version DESC LIMIT ").A(clamp(hq.Limit))
	return q
}

// clamp keeps a limit meaningful on both backends: SQLite reads a negative
// LIMIT as "no limit", PostgreSQL refuses it.
func clamp(limit int) int {
	if limit < 0 {
		return 0
	}
	return limit
}

// Numbered rewrites the ? placeholders of hand-written SQL as PostgreSQL's
// $1, $2…, for the packages that keep their own tables in the same
// database (the audit log, the identity provider). Their SQL holds no
// literal question marks.
func Numbered(query string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
