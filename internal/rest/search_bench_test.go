package rest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// The search benchmark: a fixed mix of searches over both Synthea sets in
// the embedded SQLite store, each sent through the whole HTTP handler
// (routing, parsing, planner, store, Bundle rendering) in-process, without
// a network in between. It lives here rather than in internal/record so
// that what it times is what a client waits for, Bundle and all, and so it
// loads its data with the same code as TestSyntheaLoads.
//
// Loading both sets takes minutes, so the database is kept in the
// directory SHAREDCARE_BENCH_DIR names and reused by later runs:
//
//	SHAREDCARE_BENCH_DIR=/work/benchdb go test ./internal/rest -run XXX -bench SearchMix -benchtime 200x -count 3
//
// Delete the directory to reload (after a change to what is indexed, say).
// Each query reports ns/op and the p50 and p99 of the latencies of its
// run; TestSearchMixPlans prints SQLite's plan for each.

// benchDirEnv names the directory that holds the loaded database.
const benchDirEnv = "SHAREDCARE_BENCH_DIR"

// benchInfo is what the mix needs of the raw data, kept next to the
// database so that a reused database needs no pass over the archives. Its
// presence marks the load as complete.
type benchInfo struct {
	Resources int64 `json:"resources"`
	// Patient is the Synthea identifier of the Patient with the largest
	// compartment; Members its size in the raw data.
	Patient string `json:"patient"`
	Members int    `json:"members"`
	// Code is the system|code most of that Patient's Observations have.
	Code string `json:"code"`
	// Organization is the name of the Organization that most Encounters
	// name as serviceProvider.
	Organization string `json:"organization"`
}

const benchInfoFile = "synthea-loaded.json"

// benchDB opens the loaded database under dir (in its "sqlite"
// subdirectory, so that nothing else in dir is ever removed), loading both
// Synthea sets first when it is not there.
func benchDB(b *testing.B, dir string) (*sqlite.Store, benchInfo) {
	b.Helper()
	dbDir := filepath.Join(dir, "sqlite")
	var info benchInfo
	raw, err := os.ReadFile(filepath.Join(dir, benchInfoFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &info); err != nil {
			b.Fatalf("%s: %v (delete it to reload)", filepath.Join(dir, benchInfoFile), err)
		}
		st, err := sqlite.Open(context.Background(), dbDir)
		if err != nil {
			b.Fatal(err)
		}
		return st, info
	case !errors.Is(err, os.ErrNotExist):
		b.Fatal(err)
	}

	// No complete load: start again from an empty database.
	if err := os.RemoveAll(dbDir); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), dbDir)
	if err != nil {
		b.Fatal(err)
	}
	h, _ := newHandler(b, st)
	srv := httptest.NewServer(h)
	start := time.Now()
	for _, set := range syntheaSets {
		s := postSyntheaSet(b, srv.URL+"/fhir", set.name, set.first)
		info.Resources += s.resources.Load()
	}
	srv.Close()
	b.Logf("loaded %d resources into %s in %v", info.Resources, dbDir, time.Since(start).Round(time.Second))

	f, err := syntheaFacts()
	if err != nil {
		b.Fatal(err)
	}
	p, members := f.heaviestPatient()
	info.Patient, info.Members = f.res[p].syntheaID, members
	info.Code = f.topCode(p)
	info.Organization = f.topServiceProvider()
	raw, err = json.MarshalIndent(info, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, benchInfoFile), raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return st, info
}

// topServiceProvider is the name of the Organization most Encounters name
// as serviceProvider (within their bundle).
func (f *synFacts) topServiceProvider() string {
	n := map[string]int{}
	for _, i := range f.byType["Encounter"] {
		if j := f.resolve(i, f.res[i].serviceProvider); j >= 0 && f.res[j].name != "" {
			n[f.res[j].name]++
		}
	}
	best := ""
	for name, c := range n {
		if c > n[best] || (c == n[best] && name < best) {
			best = name
		}
	}
	return best
}

// escapeSearch escapes a string search value (R4: \ , $ and | are
// special) and then for a URL query.
func escapeSearch(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `$`, `\$`, `|`, `\|`).Replace(s)
	return url.QueryEscape(s)
}

// benchQuery is one search of the mix, relative to the base.
type benchQuery struct {
	name, query string
}

// searchMix is the fixed mix: the searches a shared care record answers
// most, at the page size clients use. pid is the server's id of the
// Patient with the largest compartment.
func searchMix(info benchInfo, pid string) []benchQuery {
	return []benchQuery{
		// The largest Observation code (5,681 matches) and the largest
		// category (laboratory, ~55,000): first page only.
		{"token-code", "Observation?code=http://loinc.org|72514-3&_count=50"},
		{"token-category", "Observation?category=laboratory&_count=50"},
		{"patient+code", "Observation?patient=" + pid + "&code=" + url.QueryEscape(info.Code) + "&_count=50"},
		{"patient+sort", "Observation?patient=" + pid + "&_sort=-date&_count=50"},
		// A prefix that starts 35 family names (see the cross-check).
		{"string-family", "Patient?family=sch&_count=50"},
		{"date-birthdate", "Patient?birthdate=lt1950&_count=50"},
		// Observation → Encounter → Organization: Synthea Patients name no
		// organization or general practitioner, Encounters do.
		{"chain-2", "Observation?encounter.service-provider.name=" + escapeSearch(info.Organization) + "&_count=50"},
		{"revinclude", "Patient?_id=" + pid + "&_revinclude=Encounter:subject"},
		{"has", "Patient?_has:Condition:subject:code=444814009&_count=50"},
		{"count-observations", "Observation?_summary=count"},
		{"everything", "Patient/" + pid + "/$everything"},
	}
}

// benchPatientID is the server's id of the Patient with Synthea id sid.
func benchPatientID(b *testing.B, h http.Handler, sid string) string {
	b.Helper()
	var bundle struct {
		Entry []struct {
			Resource struct{ ID string } `json:"resource"`
		} `json:"entry"`
	}
	code, body := serve(h, "Patient?identifier="+url.QueryEscape(syntheaIDSystem+"|"+sid))
	if code != http.StatusOK || json.Unmarshal(body, &bundle) != nil || len(bundle.Entry) != 1 {
		b.Fatalf("Patient with Synthea id %s: status %d\n%s", sid, code, clip(body))
	}
	return bundle.Entry[0].Resource.ID
}

// serve sends GET /fhir/<query> through h, in-process.
func serve(h http.Handler, query string) (int, []byte) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fhir/"+query, nil))
	return rec.Code, rec.Body.Bytes()
}

// percentile is the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func BenchmarkSearchMix(b *testing.B) {
	dir := os.Getenv(benchDirEnv)
	if dir == "" {
		b.Skipf("set %s to a directory for the loaded database (loading takes minutes; later runs reuse it)", benchDirEnv)
	}
	if _, err := os.Stat(syntheaDir); err != nil {
		b.Skipf("Synthea sets not found at %s (see ../shared/conformance/README.md): %v", syntheaDir, err)
	}
	st, info := benchDB(b, dir)
	defer st.Close()
	h, _ := newHandler(b, st)
	pid := benchPatientID(b, h, info.Patient)

	for _, q := range searchMix(info, pid) {
		b.Run(q.name, func(b *testing.B) {
			// One request first: it must succeed and find something, or
			// the timings would be of an error or an empty page. It also
			// warms the page cache for this query, as a busy server's is.
			code, body := serve(h, q.query)
			var res struct {
				Total json.Number `json:"total"`
				Entry []any       `json:"entry"`
			}
			if code != http.StatusOK || json.Unmarshal(body, &res) != nil {
				b.Fatalf("GET %s: status %d\n%s", q.query, code, clip(body))
			}
			if len(res.Entry) == 0 && (res.Total == "" || res.Total == "0") {
				b.Fatalf("GET %s: no matches", q.query)
			}
			lat := make([]time.Duration, 0, max(b.N, 1))
			for b.Loop() {
				t0 := time.Now()
				code, _ := serve(h, q.query)
				lat = append(lat, time.Since(t0))
				if code != http.StatusOK {
					b.Fatalf("GET %s: status %d", q.query, code)
				}
			}
			slices.Sort(lat)
			p50 := percentile(lat, 50)
			b.ReportMetric(float64(p50)/1e6, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 99))/1e6, "p99-ms")
			b.ReportMetric(float64(len(res.Entry)), "entries")
			if n, err := strconv.ParseInt(string(res.Total), 10, 64); err == nil && len(res.Entry) == 0 && n > 0 {
				// A count: its target is per million matches.
				b.ReportMetric(p50.Seconds()/(float64(n)/1e6), "p50-s/Mmatch")
			}
		})
	}
}

// TestSearchMixPlans prints SQLite's query plan for each statement the
// searches of the mix run (the match query or the count, then the
// includes), on the benchmark's database; it skips unless
// SHAREDCARE_BENCH_DIR holds a loaded one. It is a diagnostic for tuning
// the planner and checks nothing:
//
//	SHAREDCARE_BENCH_DIR=/work/benchdb go test ./internal/rest -run SearchMixPlans -v
func TestSearchMixPlans(t *testing.T) {
	dir := os.Getenv(benchDirEnv)
	raw, err := os.ReadFile(filepath.Join(dir, benchInfoFile))
	if dir == "" || err != nil {
		t.Skipf("no loaded benchmark database in %s=%q", benchDirEnv, dir)
	}
	var info benchInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "sqlite", sqlite.FileName)+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pl := &planPrinter{t: t, db: db}
	pid := pl.patientID(info.Patient)
	for _, q := range searchMix(info, pid) {
		t.Run(q.name, func(t *testing.T) {
			pl := &planPrinter{t: t, db: db}
			for _, st := range pl.statements(q.query) {
				t.Logf("%s\n%s\nargs %v\n%s", st.what, st.q.String(), st.q.Args, pl.plan(st.q))
			}
		})
	}
}

// sqliteDialect is the SQLite store's: ? placeholders, times as
// microseconds since the epoch.
var sqliteDialect = sqlite.SQLDialect()

type planPrinter struct {
	t  *testing.T
	db *sql.DB
}

type planStatement struct {
	what string
	q    *sqlbuild.Query
}

// statements are the SQL statements record.Search (or Everything) runs
// for a query of the mix, in order, following what they do: the count or
// the page, then the includes of the page's matches.
func (p *planPrinter) statements(query string) []planStatement {
	t := p.t
	path, rawq, _ := strings.Cut(query, "?")
	params, err := url.ParseQuery(rawq)
	if err != nil {
		t.Fatal(err)
	}
	var sq store.SearchQuery
	typ, strict, everything := path, false, false
	if id, ok := strings.CutPrefix(path, "Patient/"); ok {
		id, everything = strings.CutSuffix(id, "/$everything")
		if !everything {
			t.Fatalf("%s: only $everything is a compartment query of the mix", query)
		}
		typ, strict, sq.Compartment = "", true, id
	}
	q, err := search.Parse(typ, params, search.Options{Strict: strict, MaxCount: record.MaxCount})
	if err != nil {
		t.Fatal(err)
	}
	sq.Clauses, sq.Sort = q.Clauses, q.Sort
	if typ != "" {
		sq.Types = []string{typ}
	}
	estimate := func(q *sqlbuild.Query) (int64, error) {
		var n int64
		err := p.db.QueryRow(q.String(), q.Args...).Scan(&n)
		return n, err
	}
	if q.Summary == "count" {
		plan, err := sqlbuild.Choose(sqliteDialect, sq, false, estimate)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sqlbuild.SearchCount(sqliteDialect, sq, plan)
		if err != nil {
			t.Fatal(err)
		}
		return []planStatement{{"count", c}}
	}
	sq.Limit = record.DefaultCount + 1
	if q.Count != nil {
		sq.Limit = *q.Count + 1
	}
	plan, err := sqlbuild.Choose(sqliteDialect, sq, true, estimate)
	if err != nil {
		t.Fatal(err)
	}
	page, err := sqlbuild.Search(sqliteDialect, sq, plan)
	if err != nil {
		t.Fatal(err)
	}
	out := []planStatement{{"page", page}}
	keys := p.keys(page)
	if len(keys) == 0 {
		return out
	}
	if everything {
		return append(out, planStatement{"referenced resources", sqlbuild.Include(sqliteDialect, store.IncludeQuery{Of: keys, Limit: record.MaxIncluded})})
	}
	for _, in := range q.RevInclude {
		iq := store.IncludeQuery{Reverse: true, Of: keys, SourceType: in.Source, Limit: record.MaxIncluded + 1}
		if !in.Wildcard {
			iq.Params = []string{in.Code}
		}
		out = append(out, planStatement{"_revinclude " + in.Source + ":" + in.Code, sqlbuild.Include(sqliteDialect, iq)})
	}
	for _, in := range q.Include {
		iq := store.IncludeQuery{Of: keys, TargetType: in.Target, Limit: record.MaxIncluded + 1}
		if !in.Wildcard {
			iq.Params = []string{in.Code}
		}
		out = append(out, planStatement{"_include " + in.Source + ":" + in.Code, sqlbuild.Include(sqliteDialect, iq)})
	}
	return out
}

// keys runs a page query for the keys of its hits (its first two
// columns), which the includes start from.
func (p *planPrinter) keys(q *sqlbuild.Query) []store.Key {
	rows, err := p.db.Query(q.String(), q.Args...)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var keys []store.Key
	for rows.Next() {
		var k store.Key
		dest := []any{&k.Type, &k.ID}
		for range len(cols) - 2 {
			dest = append(dest, new(any))
		}
		if err := rows.Scan(dest...); err != nil {
			p.t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	return keys
}

// patientID is the id of the Patient with Synthea id sid, by the same
// search the benchmark makes.
func (p *planPrinter) patientID(sid string) string {
	for _, st := range p.statements("Patient?identifier=" + url.QueryEscape(syntheaIDSystem+"|"+sid)) {
		if keys := p.keys(st.q); len(keys) == 1 {
			return keys[0].ID
		}
	}
	p.t.Fatalf("no Patient with Synthea id %s", sid)
	return ""
}

// plan is EXPLAIN QUERY PLAN of q as an indented tree.
func (p *planPrinter) plan(q *sqlbuild.Query) string {
	rows, err := p.db.Query("EXPLAIN QUERY PLAN "+q.String(), q.Args...)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	depth := map[int64]int{0: -1}
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			p.t.Fatal(err)
		}
		depth[id] = depth[parent] + 1
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth[id]+1), detail)
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	return b.String()
}
