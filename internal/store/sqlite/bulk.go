package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// The bulk write path (store.BulkPutter): many new resources in a few
// multi-row INSERTs per table instead of a handful of statements per
// resource. The rows and indexes written are exactly Put's; what is saved
// is the cost of each statement (the database/sql round, binding, the VDBE
// program's start), which for small resources was most of Put's.

var _ store.BulkPutter = (*tx)(nil)

// Statement keys of the bulk path in Store.stmts.insertIndex, beside the
// index tables' (0 and up).
const (
	bulkResource = -1 - iota
	bulkVersion
	bulkVersions
)

// maxBulkRows is the most rows one bulk statement writes (or ids one
// lookup names): at 11 columns, the widest table's, 2,816 parameters, far
// under SQLite's limit of 32,766. A batch is written in chunks of powers of
// two up to it, so at most nine statements per table are ever prepared.
const maxBulkRows = 256

// chunk returns the size of the next chunk of n rows: the largest power of
// two not above n or maxBulkRows.
func chunk(n int) int {
	k := maxBulkRows
	for k > n {
		k >>= 1
	}
	return k
}

// bulkStmt returns the cached statement for key, preparing q() the first
// time. Only the writer goroutine calls it.
func (s *Store) bulkStmt(table, rows int, q func() string) (*sql.Stmt, error) {
	k := insertKey{table, rows}
	if st := s.stmts.insertIndex[k]; st != nil {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), q())
	if err != nil {
		return nil, err
	}
	s.stmts.insertIndex[k] = st
	return st, nil
}

// values writes "(?, ?, ...), ..." for rows rows of cols columns.
func values(b *strings.Builder, rows, cols int) {
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?")
		b.WriteString(strings.Repeat(", ?", cols-1))
		b.WriteByte(')')
	}
}

// Versions implements store.BulkPutter.
func (t *tx) Versions(_ context.Context, keys []store.Key) (map[store.Key]store.Current, error) {
	out := make(map[store.Key]store.Current)
	byType := map[string][]string{}
	var types []string
	for _, k := range keys {
		if _, ok := byType[k.Type]; !ok {
			types = append(types, k.Type)
		}
		byType[k.Type] = append(byType[k.Type], k.ID)
	}
	for _, typ := range types {
		ids := byType[typ]
		for len(ids) > 0 {
			n := chunk(len(ids))
			st, err := t.s.bulkStmt(bulkVersions, n, func() string {
				var b strings.Builder
				b.WriteString("SELECT res_id, version, last_updated, deleted FROM resource WHERE res_type = ? AND res_id IN (?")
				b.WriteString(strings.Repeat(", ?", n-1))
				b.WriteByte(')')
				return b.String()
			})
			if err != nil {
				return nil, fhir.Wrap(fhir.Internal, err, "versions")
			}
			args := make([]any, 0, n+1)
			args = append(args, typ)
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			ids = ids[n:]
			rows, err := st.QueryContext(t.ctx, args...)
			if err != nil {
				return nil, fhir.Wrap(fhir.Internal, err, "versions")
			}
			for rows.Next() {
				var id string
				var c store.Current
				var ts int64
				if err := rows.Scan(&id, &c.Version, &ts, &c.Deleted); err != nil {
					rows.Close()
					return nil, fhir.Wrap(fhir.Internal, err, "versions")
				}
				c.LastUpdated = time.UnixMicro(ts).UTC()
				out[store.Key{Type: typ, ID: id}] = c
			}
			if err := rows.Close(); err != nil {
				return nil, fhir.Wrap(fhir.Internal, err, "versions")
			}
		}
	}
	return out, nil
}

// PutMany implements store.BulkPutter.
func (t *tx) PutMany(_ context.Context, ws []store.Write) error {
	for i := range ws {
		if ws[i].Resource.Version != 1 {
			return store.ErrConflict
		}
	}
	// The current rows first: ON CONFLICT DO NOTHING, and fewer rows
	// written than given means one existed.
	inserted, err := t.bulkInsert(bulkResource, len(ws), 6, func() string {
		return "INSERT INTO resource (res_type, res_id, version, patient_key, last_updated, deleted) VALUES "
	}, " ON CONFLICT (res_type, res_id) DO NOTHING", func(i int, args []any) []any {
		r := &ws[i].Resource
		return append(args, r.Type, r.ID, r.Version, r.PatientKey, r.LastUpdated.UnixMicro(), r.Deleted)
	})
	if err != nil {
		return fhir.Wrap(fhir.Internal, err, "bulk insert current")
	}
	if inserted != int64(len(ws)) {
		return store.ErrConflict
	}
	if _, err := t.bulkInsert(bulkVersion, len(ws), 8, func() string {
		return "INSERT INTO resource_version (res_type, res_id, version, patient_key, last_updated, method, deleted, body) VALUES "
	}, "", func(i int, args []any) []any {
		r := &ws[i].Resource
		var body any
		if !r.Deleted {
			body = r.Body
		}
		return append(args, r.Type, r.ID, r.Version, r.PatientKey, r.LastUpdated.UnixMicro(), r.Method, r.Deleted, body)
	}); err != nil {
		return fhir.Wrap(fhir.Internal, err, "bulk insert version")
	}
	// Index rows, table by table, across every resource.
	type row struct{ w, i int }
	var rows []row
	for ti, tab := range sqlbuild.IndexTables {
		rows = rows[:0]
		for w := range ws {
			if ws[w].Resource.Deleted {
				continue
			}
			for i, n := 0, tab.Len(&ws[w].Index); i < n; i++ {
				rows = append(rows, row{w, i})
			}
		}
		if len(rows) == 0 {
			continue
		}
		if _, err := t.bulkInsert(ti, len(rows), 3+len(tab.Cols), func() string {
			q := sqlbuild.InsertRows(tab, 1)
			return q[:strings.Index(q, " VALUES ")+len(" VALUES ")]
		}, "", func(k int, args []any) []any {
			rw := rows[k]
			r := &ws[rw.w].Resource
			args = append(args, r.Type, r.ID, r.PatientKey)
			return tab.Row(&ws[rw.w].Index, rw.i, args)
		}); err != nil {
			return fhir.Wrap(fhir.Internal, err, "bulk insert index")
		}
	}
	return nil
}

// bulkInsert writes n rows of cols columns with multi-row statements
// head + VALUES... + tail, cached under table; row appends row i's values.
// It returns the rows affected.
func (t *tx) bulkInsert(table, n, cols int, head func() string, tail string, row func(i int, args []any) []any) (int64, error) {
	var affected int64
	args := t.s.stmts.args[:0]
	defer func() { clear(args); t.s.stmts.args = args[:0] }()
	for start := 0; start < n; {
		k := chunk(n - start)
		st, err := t.s.bulkStmt(table, k, func() string {
			var b strings.Builder
			b.WriteString(head())
			values(&b, k, cols)
			b.WriteString(tail)
			return b.String()
		})
		if err != nil {
			return affected, err
		}
		args = args[:0]
		for i := start; i < start+k; i++ {
			args = row(i, args)
		}
		res, err := st.ExecContext(t.ctx, args...)
		if err != nil {
			return affected, err
		}
		m, err := res.RowsAffected()
		if err != nil {
			return affected, err
		}
		affected += m
		start += k
	}
	return affected, nil
}
