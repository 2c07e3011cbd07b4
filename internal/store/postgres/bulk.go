package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// The bulk write path (store.BulkPutter): new resources go in with COPY,
// one per table, instead of one CTE statement each. COPY checks what the
// tables' keys check: a resource that exists after all (created by
// another transaction since Versions looked) is a unique violation, which
// Update treats as a race and answers by running fn again, when Versions
// sees it.

var _ store.BulkPutter = (*tx)(nil)

const versionsSQL = `SELECT r.res_type, r.res_id, r.version, r.last_updated, r.deleted
FROM resource r JOIN unnest($1::text[], $2::text[]) AS k(t, i) ON r.res_type = k.t AND r.res_id = k.i`

// Versions implements store.BulkPutter.
func (t *tx) Versions(ctx context.Context, keys []store.Key) (map[store.Key]store.Current, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return nil, store.ErrConflict
	}
	types := make([]string, len(keys))
	ids := make([]string, len(keys))
	for i, k := range keys {
		types[i], ids[i] = k.Type, k.ID
	}
	out := make(map[store.Key]store.Current, len(keys))
	t.queue(versionsSQL, types, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k store.Key
			var c store.Current
			if err := rows.Scan(&k.Type, &k.ID, &c.Version, &c.LastUpdated, &c.Deleted); err != nil {
				return err
			}
			c.LastUpdated = c.LastUpdated.UTC()
			out[k] = c
		}
		return rows.Err()
	})
	if err := t.send(ctx, "versions"); err != nil {
		return nil, err
	}
	return out, nil
}

// PutMany implements store.BulkPutter.
func (t *tx) PutMany(ctx context.Context, ws []store.Write) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return store.ErrConflict
	}
	for i := range ws {
		if ws[i].Resource.Version != 1 {
			return store.ErrConflict
		}
	}
	if len(ws) == 0 {
		return nil
	}
	if t.ptx == nil {
		t.queue("SELECT 1") // BEGIN goes with it
	}
	if err := t.send(ctx, "bulk write"); err != nil {
		return err
	}
	ctx = ctxOr(ctx, t.ctx)
	copyRows := func(table string, cols []string, n int, row func(i int) []any) error {
		_, err := t.ptx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil }))
		if err != nil {
			return t.fail(err, "bulk write "+table)
		}
		return nil
	}
	err := copyRows("resource", []string{"res_type", "res_id", "version", "patient_key", "last_updated", "deleted"}, len(ws), func(i int) []any {
		r := &ws[i].Resource
		return []any{r.Type, r.ID, r.Version, r.PatientKey, r.LastUpdated, r.Deleted}
	})
	if err != nil {
		return err
	}
	err = copyRows("resource_version", []string{"res_type", "res_id", "version", "patient_key", "last_updated", "method", "deleted", "body"}, len(ws), func(i int) []any {
		r := &ws[i].Resource
		var body any
		if !r.Deleted && len(r.Body) > 0 {
			body = json.RawMessage(r.Body)
		}
		return []any{r.Type, r.ID, r.Version, r.PatientKey, r.LastUpdated, r.Method, r.Deleted, body}
	})
	if err != nil {
		return err
	}
	type ref struct{ w, i int }
	var rows []ref
	for _, tab := range sqlbuild.IndexTables {
		rows = rows[:0]
		for w := range ws {
			if ws[w].Resource.Deleted {
				continue
			}
			for i, n := 0, tab.Len(&ws[w].Index); i < n; i++ {
				rows = append(rows, ref{w, i})
			}
		}
		if len(rows) == 0 {
			continue
		}
		cols := append([]string{"res_type", "res_id", "patient_key"}, tab.Cols...)
		buf := make([]any, 0, len(cols))
		if err := copyRows(tab.Name, cols, len(rows), func(k int) []any {
			rw := rows[k]
			r := &ws[rw.w].Resource
			buf = append(buf[:0], r.Type, r.ID, r.PatientKey)
			return tab.Row(&ws[rw.w].Index, rw.i, buf)
		}); err != nil {
			return err
		}
	}
	for i := range ws {
		t.seen[key{ws[i].Resource.Type, ws[i].Resource.ID}] = 1
	}
	return nil
}
