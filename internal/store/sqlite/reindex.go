package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// The online rebuild of index rows (store.Reindexer). Reads run on the read
// pool; each rewrite runs as a write transaction through the single writer,
// so it joins group commit like any other write and stays atomic against
// every Put: nothing can come between checking a resource's version and
// replacing its rows.

var _ store.Reindexer = (*Store)(nil)

// IndexStates implements store.Reindexer.
func (s *Store) IndexStates(ctx context.Context) ([]store.IndexState, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+sqlbuild.StateColumns+" FROM index_state ORDER BY res_type")
	if err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "index states")
	}
	defer rows.Close()
	var out []store.IndexState
	for rows.Next() {
		var st store.IndexState
		var started, updated int64
		if err := rows.Scan(&st.Type, &st.Generation, &st.Target, &st.Cursor, &st.Done, &st.Total, &st.Owner, &started, &updated, &st.Seq); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "index states")
		}
		st.Started, st.Updated = fromMicros(started), fromMicros(updated)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "index states")
	}
	return out, nil
}

// SwapIndexStates implements store.Reindexer.
func (s *Store) SwapIndexStates(ctx context.Context, sts []store.IndexState) ([]store.IndexState, error) {
	out := make([]store.IndexState, len(sts))
	err := s.Update(ctx, func(stx store.Tx) error {
		t, ok := stx.(*tx)
		if !ok {
			return fhir.E(fhir.Internal, "sqlite: foreign transaction %T", stx)
		}
		for i, st := range sts {
			var err error
			if out[i], err = t.swapState(st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// swapState records st if the recorded state is still st.Seq.
func (t *tx) swapState(st store.IndexState) (store.IndexState, error) {
	next := st
	next.Seq = st.Seq + 1
	var res sql.Result
	var err error
	if st.Seq == 0 {
		res, err = t.s.wconn.ExecContext(t.ctx, "INSERT INTO index_state ("+sqlbuild.StateColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (res_type) DO NOTHING",
			next.Type, next.Generation, next.Target, next.Cursor, next.Done, next.Total, next.Owner, micros(next.Started), micros(next.Updated), next.Seq)
	} else {
		res, err = t.s.wconn.ExecContext(t.ctx, "UPDATE index_state SET generation = ?, target = ?, cursor_id = ?, done = ?, total = ?, owner = ?, started = ?, updated = ?, seq = ? WHERE res_type = ? AND seq = ?",
			next.Generation, next.Target, next.Cursor, next.Done, next.Total, next.Owner, micros(next.Started), micros(next.Updated), next.Seq, next.Type, st.Seq)
	}
	if err != nil {
		return store.IndexState{}, fhir.Wrap(fhir.Internal, err, "index state")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return store.IndexState{}, store.ErrConflict
	}
	return next, nil
}

// Types implements store.Reindexer.
func (s *Store) Types(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, sqlbuild.TypesSQL)
	if err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "types")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "types")
		}
		out = append(out, typ)
	}
	if err := rows.Err(); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "types")
	}
	return out, nil
}

// Current implements store.Reindexer.
func (s *Store) Current(ctx context.Context, typ, after string, limit int) ([]store.Resource, error) {
	return s.resources(ctx, sqlbuild.Current(dialect, typ, after, limit), "current resources")
}

// Reindex implements store.Reindexer.
func (s *Store) Reindex(ctx context.Context, ws []store.Write, st store.IndexState) (int, store.IndexState, error) {
	var n int
	var out store.IndexState
	err := s.Update(ctx, func(stx store.Tx) error {
		t, ok := stx.(*tx)
		if !ok {
			return fhir.E(fhir.Internal, "sqlite: foreign transaction %T", stx)
		}
		n = 0
		var err error
		if out, err = t.swapState(st); err != nil {
			return err
		}
		for i := range ws {
			done, err := t.reindex(&ws[i])
			if err != nil {
				return err
			}
			if done {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, store.IndexState{}, err
	}
	return n, out, nil
}

// reindex replaces the rows of w's resource if w.Resource.Version is still
// its current version.
func (t *tx) reindex(w *store.Write) (bool, error) {
	r := w.Resource
	var version int64
	var deleted bool
	var pk string
	err := t.s.wconn.QueryRowContext(t.ctx, "SELECT version, deleted, patient_key FROM resource WHERE res_type = ? AND res_id = ?", r.Type, r.ID).Scan(&version, &deleted, &pk)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fhir.Wrap(fhir.Internal, err, "reindex: read current")
	}
	if version != r.Version || deleted {
		return false, nil
	}
	for _, del := range t.s.stmts.deleteIndex {
		if _, err := del.ExecContext(t.ctx, r.Type, r.ID); err != nil {
			return false, fhir.Wrap(fhir.Internal, err, "reindex: delete index")
		}
	}
	if pk != r.PatientKey {
		if _, err := t.s.wconn.ExecContext(t.ctx, "UPDATE resource SET patient_key = ? WHERE res_type = ? AND res_id = ?", r.PatientKey, r.Type, r.ID); err != nil {
			return false, fhir.Wrap(fhir.Internal, err, "reindex: patient key")
		}
		if _, err := t.s.wconn.ExecContext(t.ctx, "UPDATE resource_version SET patient_key = ? WHERE res_type = ? AND res_id = ? AND version = ?", r.PatientKey, r.Type, r.ID, r.Version); err != nil {
			return false, fhir.Wrap(fhir.Internal, err, "reindex: patient key")
		}
	}
	if err := t.insertIndex(r, &w.Index); err != nil {
		return false, fhir.Wrap(fhir.Internal, err, "reindex: insert index")
	}
	return true, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
