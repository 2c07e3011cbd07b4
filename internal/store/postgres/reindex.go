package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// The online rebuild of index rows (store.Reindexer).
//
// A rebuild batch is one READ COMMITTED transaction: it swaps the type's
// index state (so two rebuilders cannot both advance it), locks the
// resource rows of the batch in id order (SELECT ... FOR UPDATE, the lock
// every Put takes), keeps those still at the version the rows were
// computed from, and replaces their index rows.
//
// It also deletes and re-inserts those resource rows, unchanged but for
// patient_key. That is what keeps a Put that waited on the lock correct.
// A Put is one statement whose CTEs all read the snapshot taken when it
// began: if it began while the batch held the lock, its DELETE of the old
// index rows cannot see the rows the batch inserts, and they would stay
// next to the Put's own. But a row deleted under a waiting SELECT ... FOR
// UPDATE is skipped, not followed, so such a Put finds no current row, is
// refused, and its transaction runs again on a fresh snapshot (the
// optimistic retry Update already has for a read gone stale). A Put that
// begins after the batch commits sees its rows and replaces them; one that
// committed first changed the version, so the batch skips that resource.

var _ store.Reindexer = (*Store)(nil)

// IndexStates implements store.Reindexer.
func (s *Store) IndexStates(ctx context.Context) ([]store.IndexState, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, "SELECT "+sqlbuild.StateColumns+" FROM index_state ORDER BY res_type")
	if err != nil {
		return nil, s.wrap(err, "index states")
	}
	defer rows.Close()
	var out []store.IndexState
	for rows.Next() {
		var st store.IndexState
		var started, updated *time.Time
		if err := rows.Scan(&st.Type, &st.Generation, &st.Target, &st.Cursor, &st.Done, &st.Total, &st.Owner, &started, &updated, &st.Seq); err != nil {
			return nil, s.wrap(err, "index states")
		}
		st.Started, st.Updated = utc(started), utc(updated)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "index states")
	}
	return out, nil
}

// SwapIndexStates implements store.Reindexer.
func (s *Store) SwapIndexStates(ctx context.Context, sts []store.IndexState) ([]store.IndexState, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	out := make([]store.IndexState, len(sts))
	err := pgx.BeginTxFunc(ctx, s.pool, txOptions, func(tx pgx.Tx) error {
		for i, st := range sts {
			var err error
			if out[i], err = swapState(ctx, tx, st); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	if err != nil {
		return nil, s.wrap(err, "index state")
	}
	return out, nil
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// swapState records st if the recorded state is still st.Seq.
func swapState(ctx context.Context, db execer, st store.IndexState) (store.IndexState, error) {
	next := st
	next.Seq = st.Seq + 1
	var tag pgconn.CommandTag
	var err error
	if st.Seq == 0 {
		tag, err = db.Exec(ctx, "INSERT INTO index_state ("+sqlbuild.StateColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (res_type) DO NOTHING",
			next.Type, next.Generation, next.Target, next.Cursor, next.Done, next.Total, next.Owner, nullTime(next.Started), nullTime(next.Updated), next.Seq)
	} else {
		tag, err = db.Exec(ctx, "UPDATE index_state SET generation = $2, target = $3, cursor_id = $4, done = $5, total = $6, owner = $7, started = $8, updated = $9, seq = $10 WHERE res_type = $1 AND seq = $11",
			next.Type, next.Generation, next.Target, next.Cursor, next.Done, next.Total, next.Owner, nullTime(next.Started), nullTime(next.Updated), next.Seq, st.Seq)
	}
	if err != nil {
		return store.IndexState{}, err
	}
	if tag.RowsAffected() != 1 {
		return store.IndexState{}, store.ErrConflict
	}
	return next, nil
}

// Types implements store.Reindexer.
func (s *Store) Types(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, sqlbuild.TypesSQL)
	if err != nil {
		return nil, s.wrap(err, "types")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap(err, "types")
	}
	return out, nil
}

// Current implements store.Reindexer.
func (s *Store) Current(ctx context.Context, typ, after string, limit int) ([]store.Resource, error) {
	return s.resources(ctx, sqlbuild.Current(dialect, typ, after, limit), "current resources")
}

// Reindex implements store.Reindexer. A batch that meets a deadlock or a
// serialisation failure (a transaction Bundle locking the same resources in
// another order) runs again: it is a pure function of its arguments.
func (s *Store) Reindex(ctx context.Context, ws []store.Write, st store.IndexState) (int, store.IndexState, error) {
	for attempt := 1; ; attempt++ {
		if s.closed.Load() {
			return 0, store.IndexState{}, store.ErrClosed
		}
		n, out, err := s.reindex(ctx, ws, st)
		switch {
		case err == nil:
			return n, out, nil
		case errors.Is(err, store.ErrConflict):
			return 0, store.IndexState{}, err
		case !retryable(err) || attempt >= maxAttempts:
			return 0, store.IndexState{}, s.wrap(err, "reindex")
		}
		s.retries.Add(1)
		d := time.Duration(float64(time.Millisecond<<min(attempt-1, 6)) * (0.5 + rand.Float64()))
		select {
		case <-ctx.Done():
			return 0, store.IndexState{}, ctx.Err()
		case <-time.After(d):
		}
	}
}

func (s *Store) reindex(ctx context.Context, ws []store.Write, st store.IndexState) (int, store.IndexState, error) {
	tx, err := s.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return 0, store.IndexState{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	out, err := swapState(ctx, tx, st)
	if err != nil {
		return 0, store.IndexState{}, err
	}
	byType := map[string][]*store.Write{}
	for i := range ws {
		w := &ws[i]
		byType[w.Resource.Type] = append(byType[w.Resource.Type], w)
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	slices.Sort(types)
	n := 0
	batch := &pgx.Batch{}
	for _, typ := range types {
		keep, err := lockCurrent(ctx, tx, typ, byType[typ])
		if err != nil {
			return 0, store.IndexState{}, err
		}
		if len(keep) > 0 {
			queueRewrite(batch, typ, keep)
			n += len(keep)
		}
	}
	if testHookLocked != nil {
		testHookLocked(tx)
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return 0, store.IndexState{}, err
		}
	}
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return 0, store.IndexState{}, err
	}
	return n, out, nil
}

// testHookLocked, when set by a test, runs after the batch's rows are
// locked and before they are rewritten.
var testHookLocked func(tx pgx.Tx)

// current is what lockCurrent keeps of a resource row.
type current struct {
	w           *store.Write
	lastUpdated time.Time
}

// lockCurrent locks the resource rows of ws (all of type typ) in id order
// and returns the writes whose version is still the current one.
func lockCurrent(ctx context.Context, tx pgx.Tx, typ string, ws []*store.Write) ([]current, error) {
	ids := make([]string, len(ws))
	byID := make(map[string]*store.Write, len(ws))
	for i, w := range ws {
		ids[i] = w.Resource.ID
		byID[w.Resource.ID] = w
	}
	rows, err := tx.Query(ctx, "SELECT res_id, version, deleted, last_updated FROM resource WHERE res_type = $1 AND res_id = ANY($2::text[]) ORDER BY res_id FOR UPDATE", typ, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keep []current
	for rows.Next() {
		var id string
		var version int64
		var deleted bool
		var lu time.Time
		if err := rows.Scan(&id, &version, &deleted, &lu); err != nil {
			return nil, err
		}
		if w := byID[id]; w != nil && !deleted && w.Resource.Version == version {
			keep = append(keep, current{w, lu})
		}
	}
	return keep, rows.Err()
}

// queueRewrite queues the statements that replace the rows of the locked
// resources cs of type typ: every statement handles the whole batch,
// unnesting one array per column.
func queueRewrite(b *pgx.Batch, typ string, cs []current) {
	ids := make([]string, len(cs))
	versions := make([]int64, len(cs))
	pks := make([]string, len(cs))
	lus := make([]time.Time, len(cs))
	for i, c := range cs {
		ids[i], versions[i], pks[i], lus[i] = c.w.Resource.ID, c.w.Resource.Version, c.w.Resource.PatientKey, c.lastUpdated
	}
	// Deleted and re-inserted, not updated: see the comment at the top.
	b.Queue("DELETE FROM resource WHERE res_type = $1 AND res_id = ANY($2::text[])", typ, ids)
	b.Queue(`INSERT INTO resource (res_type, res_id, version, patient_key, last_updated, deleted)
SELECT $1::text, u.* , false FROM unnest($2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) AS u`, typ, ids, versions, pks, lus)
	b.Queue(`UPDATE resource_version rv SET patient_key = u.pk FROM unnest($2::text[], $3::bigint[], $4::text[]) AS u(id, version, pk)
WHERE rv.res_type = $1 AND rv.res_id = u.id AND rv.version = u.version AND rv.patient_key <> u.pk`, typ, ids, versions, pks)
	for _, t := range sqlbuild.IndexTables {
		b.Queue("DELETE FROM "+t.Name+" WHERE res_type = $1 AND res_id = ANY($2::text[])", typ, ids)
	}
	for _, t := range sqlbuild.IndexTables {
		rows := 0
		for _, c := range cs {
			rows += t.Len(&c.w.Index)
		}
		if rows == 0 {
			continue
		}
		rid := make([]string, 0, rows)
		rpk := make([]string, 0, rows)
		cols := newColumns(t, rows)
		var row []any
		for _, c := range cs {
			ix := &c.w.Index
			for i := range t.Len(ix) {
				rid = append(rid, c.w.Resource.ID)
				rpk = append(rpk, c.w.Resource.PatientKey)
				row = t.Row(ix, i, row[:0])
				for j, v := range row {
					switch v := v.(type) {
					case int64:
						cols[j] = append(cols[j].([]int64), v)
					case float64:
						cols[j] = append(cols[j].([]float64), v)
					case string:
						cols[j] = append(cols[j].([]string), v)
					}
				}
			}
		}
		var q strings.Builder
		fmt.Fprintf(&q, "INSERT INTO %s (res_type, res_id, patient_key, %s) SELECT $1::text, u.* FROM unnest($2::text[], $3::text[]", t.Name, strings.Join(t.Cols, ", "))
		for j, c := range t.Cols {
			fmt.Fprintf(&q, ", $%d::%s", j+4, colType(t.Name, c))
		}
		q.WriteString(") AS u")
		args := append([]any{typ, rid, rpk}, cols...)
		b.Queue(q.String(), args...)
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
