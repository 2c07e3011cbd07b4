package sqlbuild_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// FuzzPlan compiles whatever the query parser accepts, under every plan,
// and checks the SQL is balanced: a parsed query must never make the
// planner panic or write malformed SQL.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		"Observation?code=http://loinc.org|8480-6&date=ge2020&_sort=-date",
		"Patient?family:contains=smi&birthdate=lt1950&_has:Observation:patient:code=1234",
		"Observation?subject:Patient.organization.name=leeds&value-quantity=gt5|http://unitsofmeasure.org|mg",
		"Observation?code-value-quantity=8480-6$gt130&status:not=final&_list=l1",
		"ValueSet?url:below=http://x/y&_text=abc&_content=def&_lastUpdated=ap2020",
		"Patient?identifier:of-type=http://t|MR|1&gender:missing=true&_id=a,b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, raw, _ := strings.Cut(s, "?")
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := search.Parse(typ, vals, search.Options{})
		if err != nil {
			return
		}
		sq := store.SearchQuery{Clauses: q.Clauses, Sort: q.Sort, Limit: 10}
		if typ != "" {
			sq.Types = []string{typ}
		} else {
			sq.Types = q.Types
		}
		d := sqlbuild.Dialect{Time: func(tm time.Time) any { return tm.UnixMicro() }, NoIndex: "+"}
		plans := []sqlbuild.Plan{{Driver: sqlbuild.DriveScan}}
		for i := range sq.Clauses {
			var others []int
			for j := range sq.Clauses {
				if j != i {
					others = append(others, j)
				}
			}
			plans = append(plans, sqlbuild.Plan{Driver: i}, sqlbuild.Plan{Driver: i, Materialize: true, Sets: others})
		}
		for _, p := range plans {
			sql, err := sqlbuild.Search(d, sq, p)
			if err != nil {
				continue
			}
			checkBalanced(t, sql.String())
			if c, err := sqlbuild.SearchCount(d, sq, p); err == nil {
				checkBalanced(t, c.String())
			}
			if n := strings.Count(sql.String(), "?"); n != len(sql.Args) {
				t.Fatalf("%d placeholders, %d arguments in %s", n, len(sql.Args), sql)
			}
		}
	})
}

// checkBalanced fails unless parentheses balance outside string literals.
func checkBalanced(t *testing.T, sql string) {
	depth, quoted := 0, false
	for _, c := range sql {
		switch {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				t.Fatalf("unbalanced: %s", sql)
			}
		}
	}
	if depth != 0 || quoted {
		t.Fatalf("unbalanced: %s", sql)
	}
}
