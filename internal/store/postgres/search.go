package postgres

import (
	"context"
	"time"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// Search implements store.Searcher.
func (s *Store) Search(ctx context.Context, sq store.SearchQuery) ([]store.SearchHit, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	plan, err := s.plan(ctx, sq, true)
	if err != nil {
		return nil, err
	}
	q, err := sqlbuild.Search(dialect, sq, plan)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, s.wrap(err, "search")
	}
	defer rows.Close()
	var out []store.SearchHit
	nk := len(sq.Sort)
	for rows.Next() {
		var h store.SearchHit
		var body []byte
		keys := make([]any, nk)
		dest := []any{&h.Type, &h.ID, &h.Version, &h.PatientKey, &h.LastUpdated, &h.Method, &h.Deleted, &body}
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(err, "search")
		}
		h.LastUpdated = h.LastUpdated.UTC()
		h.Body = body
		for i, k := range keys {
			// Cursors hold times as microseconds, as SQLite stores them.
			if t, ok := k.(time.Time); ok {
				keys[i] = t.UnixMicro()
			}
		}
		h.Keys = keys
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "search")
	}
	return out, nil
}

// SearchCount implements store.Searcher.
func (s *Store) SearchCount(ctx context.Context, sq store.SearchQuery) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	plan, err := s.plan(ctx, sq, false)
	if err != nil {
		return 0, err
	}
	q, err := sqlbuild.SearchCount(dialect, sq, plan)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q.String(), q.Args...).Scan(&n); err != nil {
		return 0, s.wrap(err, "count")
	}
	return n, nil
}

// Include implements store.Searcher.
func (s *Store) Include(ctx context.Context, iq store.IncludeQuery) ([]store.Resource, error) {
	if len(iq.Of) == 0 {
		return nil, nil
	}
	return s.resources(ctx, sqlbuild.Include(dialect, iq), "include")
}

// ReadMany implements store.Searcher.
func (s *Store) ReadMany(ctx context.Context, keys []store.Key) ([]store.Resource, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	return s.resources(ctx, sqlbuild.ReadMany(dialect, keys), "read")
}

func (s *Store) resources(ctx context.Context, q *sqlbuild.Query, what string) ([]store.Resource, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, s.wrap(err, what)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r, err := scanRaw(rows)
		if err != nil {
			return nil, s.wrap(err, what)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, what)
	}
	return out, nil
}

// plan leaves the ordering of conditions to PostgreSQL's planner, which
// has statistics (autovacuum's ANALYZE) and turns IN and EXISTS into
// whichever joins are cheapest.
func (s *Store) plan(_ context.Context, sq store.SearchQuery, ordered bool) (sqlbuild.Plan, error) {
	return sqlbuild.Choose(dialect, sq, ordered, nil)
}
