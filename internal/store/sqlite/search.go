package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// split_part is PostgreSQL's function, which the planner uses to match the
// components of composite index rows; SQLite has no equivalent.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("split_part", 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, _ := args[0].(string)
		sep, _ := args[1].(string)
		n, _ := args[2].(int64)
		if sep == "" || n < 1 {
			return "", nil
		}
		parts := strings.SplitN(s, sep, int(n)+1)
		if int(n) > len(parts) {
			return "", nil
		}
		return parts[n-1], nil
	})
	if err != nil {
		panic(fmt.Sprintf("sqlite: register split_part: %v", err))
	}
}

// Search implements store.Searcher.
func (s *Store) Search(ctx context.Context, sq store.SearchQuery) ([]store.SearchHit, error) {
	sq, err := s.qualify(ctx, sq)
	if err != nil {
		return nil, err
	}
	plan, err := s.plan(ctx, sq, true)
	if err != nil {
		return nil, err
	}
	q, err := sqlbuild.Search(dialect, sq, plan)
	if err != nil {
		return nil, err
	}
	rows, err := s.rcache.query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "search")
	}
	defer rows.Close()
	var out []store.SearchHit
	nk := len(sq.Sort)
	for rows.Next() {
		var h store.SearchHit
		var ts int64
		var body []byte
		keys := make([]any, nk)
		dest := []any{&h.Type, &h.ID, &h.Version, &h.PatientKey, &ts, &h.Method, &h.Deleted, &body}
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "search")
		}
		h.LastUpdated = time.UnixMicro(ts).UTC()
		h.Body = body
		for i, k := range keys {
			if b, ok := k.([]byte); ok {
				keys[i] = string(b)
			}
		}
		h.Keys = keys
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "search")
	}
	return out, nil
}

// SearchCount implements store.Searcher.
func (s *Store) SearchCount(ctx context.Context, sq store.SearchQuery) (int64, error) {
	plan, err := s.plan(ctx, sq, false)
	if err != nil {
		return 0, err
	}
	q, err := sqlbuild.SearchCount(dialect, sq, plan)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.rcache.queryRow(ctx, q.String(), q.Args...).Scan(&n); err != nil {
		return 0, fhir.Wrap(fhir.Internal, err, "count")
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

// resources runs q, which selects sqlbuild.Columns(), on the read pool.
func (s *Store) resources(ctx context.Context, q *sqlbuild.Query, what string) ([]store.Resource, error) {
	rows, err := s.rcache.query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "%s", what)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "%s", what)
	}
	return out, nil
}

// plan chooses how to run sq from capped counts of each condition's
// matches: SQLite's own planner has no statistics to tell a rare code from
// a common one, and would materialise every IN subquery.
func (s *Store) plan(ctx context.Context, sq store.SearchQuery, ordered bool) (sqlbuild.Plan, error) {
	return sqlbuild.Choose(dialect, sq, ordered, func(q *sqlbuild.Query) (int64, error) {
		var n int64
		if err := s.rcache.queryRow(ctx, q.String(), q.Args...).Scan(&n); err != nil {
			return 0, fhir.Wrap(fhir.Internal, err, "estimate")
		}
		return n, nil
	})
}

// SQLDialect is the SQL dialect of this store, for tools that show the SQL
// a search runs (query plans).
func SQLDialect() sqlbuild.Dialect { return dialect }

// systemsSQL lists the systems a code has for a token parameter, one index
// seek per system (a skip scan), where DISTINCT would read every match.
const systemsSQL = `WITH RECURSIVE s(sys) AS (
  SELECT MIN(system) FROM idx_token WHERE res_type = ?1 AND param = ?2 AND code = ?3
  UNION ALL
  SELECT (SELECT MIN(system) FROM idx_token WHERE res_type = ?1 AND param = ?2 AND code = ?3 AND system > s.sys) FROM s WHERE s.sys IS NOT NULL
) SELECT sys FROM s WHERE sys IS NOT NULL LIMIT 33`

// qualify rewrites a search whose only condition is a token given without
// a system ("code=x") into the same search over each system|code pair
// present, which the planner reads as ordered runs of the index and stops
// at the page (tokenStreams): the difference between reading 50 index
// entries and 50,000 on a common code.
func (s *Store) qualify(ctx context.Context, sq store.SearchQuery) (store.SearchQuery, error) {
	if len(sq.Clauses) != 1 || len(sq.Types) != 1 || sq.Compartment != "" || len(sq.Sort) > 0 || sq.Care != nil {
		return sq, nil
	}
	c := sq.Clauses[0]
	if c.Has != nil || len(c.Chain) > 0 || c.Modifier != search.ModNone || c.Param.Type != "token" || c.Param.Code == "_id" {
		return sq, nil
	}
	var vals []search.Value
	for _, v := range c.Values {
		if v.Token == nil || v.Token.Code == "" {
			return sq, nil
		}
		if v.Token.HasSystem {
			vals = append(vals, v)
			continue
		}
		rows, err := s.rcache.query(ctx, systemsSQL, sq.Types[0], c.Param.Code, v.Token.Code)
		if err != nil {
			return sq, fhir.Wrap(fhir.Internal, err, "search")
		}
		for rows.Next() {
			var sys string
			if err := rows.Scan(&sys); err != nil {
				rows.Close()
				return sq, fhir.Wrap(fhir.Internal, err, "search")
			}
			vals = append(vals, search.Value{Raw: v.Raw, Token: &search.Token{System: sys, Code: v.Token.Code, HasSystem: true}})
		}
		rows.Close()
		if len(vals) > 32 {
			return sq, nil // too many systems to merge: leave it to the sort
		}
	}
	if len(vals) == 0 {
		return sq, nil
	}
	cc := *c
	cc.Values = vals
	sq.Clauses = []*search.Clause{&cc}
	return sq, nil
}
