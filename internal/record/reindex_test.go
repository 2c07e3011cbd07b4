package record_test

import (
	"archive/tar"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// reindexBackend makes a new database and returns how to open it, again and
// again (a restart is a close and an open).
type reindexBackend struct {
	name string
	db   func(t *testing.T) (open func() store.Store)
}

func reindexBackends() []reindexBackend {
	return []reindexBackend{
		{"sqlite", func(t *testing.T) func() store.Store {
			dir := t.TempDir()
			return func() store.Store {
				st, err := sqlite.Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		}},
		{"postgres", func(t *testing.T) func() store.Store {
			url := postgres.TestURL(t) + "&pool_max_conns=4"
			return func() store.Store {
				st, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		}},
	}
}

func forEachReindexBackend(t *testing.T, f func(t *testing.T, open func() store.Store)) {
	for _, b := range reindexBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.db(t))
		})
	}
}

func service(st store.Store, scope index.Scope) *record.Service {
	svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
	svc.IndexScope = scope
	return svc
}

// fixture writes resources of several types through the record service,
// with updates, a patch and a deletion, plus, with synthea, one Synthea
// patient's transaction Bundle when the conformance data is there.
func fixture(t *testing.T, svc *record.Service, synthea bool) {
	t.Helper()
	ctx := context.Background()
	put := func(typ, id, body string) {
		t.Helper()
		if _, err := svc.Update(ctx, typ, id, []byte(body), ""); err != nil {
			t.Fatalf("PUT %s/%s: %v", typ, id, err)
		}
	}
	put("Patient", "p1", `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
		"name":[{"family":"Smith","given":["Ann"]}],"gender":"female","birthDate":"1970-01-01","address":[{"city":"Leeds","postalCode":"LS1 4AP"}]}`)
	put("Patient", "p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Jones"}],"generalPractitioner":[{"reference":"Practitioner/dr1"}]}`)
	put("Practitioner", "dr1", `{"resourceType":"Practitioner","id":"dr1","name":[{"family":"Who","prefix":["Dr"]}]}`)
	put("Organization", "org1", `{"resourceType":"Organization","id":"org1","name":"Leeds Teaching Hospitals","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"RR8"}]}`)
	put("Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"Patient/p1"},"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-01T11:00:00Z"},"serviceProvider":{"reference":"Organization/org1"}}`)
	put("Condition", "c1", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p2"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes"}]},"onsetDateTime":"2019"}`)
	for i := range 23 {
		patient := []string{"p1", "p2"}[i%2]
		put("Observation", fmt.Sprintf("o%02d", i), fmt.Sprintf(`{"resourceType":"Observation","id":"o%02d","status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/%s"},
			"encounter":{"reference":"Encounter/e1"},"effectiveDateTime":"2024-03-%02dT10:00:00Z","valueQuantity":{"value":%d.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`, i, patient, i+1, 60+i))
	}
	put("Observation", "o03", `{"resourceType":"Observation","id":"o03","status":"amended","code":{"text":"weight"},"subject":{"reference":"Patient/p2"}}`)
	if _, err := svc.Patch(ctx, "Observation", "o04", []byte(`[{"op":"replace","path":"/status","value":"cancelled"}]`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, "Observation", "o05", ""); err != nil {
		t.Fatal(err)
	}
	if !synthea {
		return
	}
	if b := syntheaBundle(t); b != nil {
		if _, err := svc.Bundle(ctx, b, "http://localhost/fhir"); err != nil {
			t.Fatalf("Synthea bundle: %v", err)
		}
	}
}

var syntheaOnce struct {
	sync.Once
	b []byte
}

// syntheaBundle returns the first patient Bundle of the gsd-r4 set, or nil.
func syntheaBundle(t *testing.T) []byte {
	syntheaOnce.Do(func() {
		f, err := os.Open(filepath.Join("..", "..", "..", "shared", "conformance", "synthea", "gsd-r4.tar.gz"))
		if err != nil {
			return
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				return
			}
			if strings.HasSuffix(h.Name, ".json") {
				syntheaOnce.b, _ = io.ReadAll(tr)
				return
			}
		}
	})
	if syntheaOnce.b == nil {
		t.Log("Synthea data not found: the fixture is hand-made resources only")
	}
	return syntheaOnce.b
}

// current lists every current, non-deleted resource.
func current(t *testing.T, st store.Store) []store.Resource {
	t.Helper()
	rx := st.(store.Reindexer)
	types, err := rx.Types(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Resource
	for _, typ := range types {
		rs, err := rx.Current(context.Background(), typ, "", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return out
}

// sortedIndex orders every kind of row so that two indexes compare by
// content.
func sortedIndex(ix *store.Index) *store.Index {
	by := func(a, b any) int { return cmp.Compare(fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b)) }
	slices.SortFunc(ix.Tokens, func(a, b store.Token) int { return by(a, b) })
	slices.SortFunc(ix.Strings, func(a, b store.String) int { return by(a, b) })
	slices.SortFunc(ix.Dates, func(a, b store.Date) int { return by(a, b) })
	slices.SortFunc(ix.References, func(a, b store.Reference) int { return by(a, b) })
	slices.SortFunc(ix.Quantities, func(a, b store.Quantity) int { return by(a, b) })
	slices.SortFunc(ix.Numbers, func(a, b store.Number) int { return by(a, b) })
	slices.SortFunc(ix.URIs, func(a, b store.URI) int { return by(a, b) })
	slices.SortFunc(ix.Composites, func(a, b store.Composite) int { return by(a, b) })
	slices.SortFunc(ix.Compartments, func(a, b store.Compartment) int { return by(a, b) })
	slices.SortFunc(ix.Texts, func(a, b store.Text) int { return by(a, b) })
	return ix
}

func indexOf(t *testing.T, st store.Store, typ, id string) *store.Index {
	t.Helper()
	ix, err := st.(storetest.IndexReader).IndexOf(context.Background(), typ, id)
	if err != nil {
		t.Fatal(err)
	}
	return sortedIndex(ix)
}

// asWritten checks that every current resource of st has the index rows
// and patient key a write under scope gives it: each one's stored body is
// written again, under the same id and time, into a new database, and the
// rows compared.
func asWritten(t *testing.T, st store.Store, scope index.Scope) {
	t.Helper()
	ref, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rs := current(t, st)
	if len(rs) < 20 {
		t.Fatalf("only %d resources to compare", len(rs))
	}
	// Written by several services at once (each with its own clock), so
	// group commit spares most of the fsyncs.
	const workers = 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := record.New(ref, nil, nil)
			svc.IndexScope = scope
			for i := w; i < len(rs); i += workers {
				r := rs[i]
				svc.Now = func() time.Time { return r.LastUpdated }
				if _, err := svc.Update(context.Background(), r.Type, r.ID, r.Body, ""); err != nil {
					t.Errorf("write %s/%s again: %v", r.Type, r.ID, err)
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range rs {
		want, got := indexOf(t, ref, r.Type, r.ID), indexOf(t, st, r.Type, r.ID)
		if d := gocmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s/%s: rows differ from a write's (-written +stored):\n%s", r.Type, r.ID, d)
		}
		w, err := ref.Read(context.Background(), r.Type, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if w.PatientKey != r.PatientKey {
			t.Errorf("%s/%s: patient key %q, a write gives %q", r.Type, r.ID, r.PatientKey, w.PatientKey)
		}
	}
}

func TestReindexFreshDatabase(t *testing.T) {
	forEachReindexBackend(t, func(t *testing.T, open func() store.Store) {
		st := open()
		svc := service(st, index.All)
		var batches int
		wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{Progress: func(record.TypeIndexStatus) { batches++ }})
		if err != nil {
			t.Fatal(err)
		}
		wait()
		if batches != 0 {
			t.Errorf("%d batches on an empty database", batches)
		}
		states, err := st.(store.Reindexer).IndexStates(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != len(fhirdef.ResourceTypes()) {
			t.Errorf("%d states recorded for %d types", len(states), len(fhirdef.ResourceTypes()))
		}
		for _, s := range states {
			if s.Generation != index.TypeGeneration(index.All, s.Type) || s.Target != "" || s.Owner != "" {
				t.Errorf("state of %s: %+v", s.Type, s)
			}
		}
		if err := svc.CheckIndexed(t.Context(), "Observation", "Patient"); err != nil {
			t.Error(err)
		}
		status, err := svc.ReindexStatus(t.Context())
		if err != nil || !status.Complete || len(status.Types) != 0 || status.Scope != "all" || status.Generation != index.Generation(index.All) {
			t.Errorf("status of an empty database: %+v, %v", status, err)
		}
		// Data written now is at the current generation: a restart finds
		// nothing to do.
		fixture(t, svc, false)
		st.Close()
		st = open()
		svc = service(st, index.All)
		if err := svc.CheckIndexed(t.Context(), "Observation"); err != nil {
			t.Errorf("after a restart: %v", err)
		}
		wait, err = svc.StartReindex(t.Context(), record.ReindexOptions{Progress: func(record.TypeIndexStatus) { batches++ }})
		if err != nil {
			t.Fatal(err)
		}
		wait()
		if batches != 0 {
			t.Errorf("%d batches on a current database", batches)
		}
	})
}

// TestReindexGenerations opens data written under one scope (or by a
// server that recorded no generation) with another, and checks the
// rebuild leaves every resource with the rows a write under the new scope
// gives it.
func TestReindexGenerations(t *testing.T) {
	tests := []struct {
		name     string
		from, to index.Scope
		record   bool // the first server recorded its generation
		rebuilds bool
		synthea  bool // a Synthea patient's Bundle too (slow to compare)
	}{
		{"conditional to all", index.Conditional, index.All, true, true, true},
		{"all to conditional", index.All, index.Conditional, true, true, false},
		{"no generation recorded", index.Conditional, index.All, false, true, false},
		{"no generation recorded, same scope", index.Conditional, index.Conditional, false, true, false},
		{"same generation", index.All, index.All, true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachReindexBackend(t, func(t *testing.T, open func() store.Store) {
				ctx := t.Context()
				st := open()
				svc := service(st, tc.from)
				if tc.record {
					wait, err := svc.StartReindex(ctx, record.ReindexOptions{})
					if err != nil {
						t.Fatal(err)
					}
					wait()
				}
				fixture(t, svc, tc.synthea)
				before, err := st.History(ctx, store.HistoryQuery{Limit: 100000})
				if err != nil {
					t.Fatal(err)
				}
				observations, err := st.Count(ctx, "Observation")
				if err != nil {
					t.Fatal(err)
				}
				st.Close()

				st = open()
				svc = service(st, tc.to)
				err = svc.CheckIndexed(ctx, "Observation")
				if tc.rebuilds != (err != nil) {
					t.Fatalf("CheckIndexed before the rebuild: %v", err)
				}
				if err != nil && (fhir.KindOf(err) != fhir.Invalid || !strings.Contains(err.Error(), "Observation: the search index is out of date")) {
					t.Errorf("CheckIndexed before the rebuild: %v (%v)", err, fhir.KindOf(err))
				}
				var rebuilt []string
				err = svc.Reindex(ctx, record.ReindexOptions{Batch: 7, Share: 1, Progress: func(ts record.TypeIndexStatus) {
					if ts.State == record.IndexCurrent {
						rebuilt = append(rebuilt, ts.Type)
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				if tc.rebuilds != (len(rebuilt) > 0) {
					t.Errorf("types rebuilt: %q", rebuilt)
				}
				for _, typ := range []string{"Observation", "Patient", "Organization", "Encounter"} {
					if err := svc.CheckIndexed(ctx, typ); err != nil {
						t.Errorf("after the rebuild: %v", err)
					}
				}
				asWritten(t, st, tc.to)
				// No version was added.
				after, err := st.History(ctx, store.HistoryQuery{Limit: 100000})
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(before) {
					t.Errorf("%d versions after the rebuild, %d before", len(after), len(before))
				}
				// The record of the rebuild: every type current, totals kept.
				status, err := svc.ReindexStatus(ctx)
				if err != nil || !status.Complete {
					t.Fatalf("status: %+v, %v", status, err)
				}
				for _, ts := range status.Types {
					if ts.State != record.IndexCurrent || ts.Generation != index.TypeGeneration(tc.to, ts.Type) || ts.Percent() != 100 {
						t.Errorf("status of %s: %+v", ts.Type, ts)
					}
					if ts.Type == "Observation" && tc.rebuilds && (ts.Total != observations || ts.Done != observations) {
						t.Errorf("Observation rebuilt %d of %d, want %d", ts.Done, ts.Total, observations)
					}
				}
			})
		})
	}
}

// staleDatabase writes n Observations under index.Conditional with
// generations recorded, and returns the database reopened under index.All.
func staleDatabase(t *testing.T, open func() store.Store, n int) (store.Store, *record.Service) {
	t.Helper()
	st := open()
	svc := service(st, index.Conditional)
	wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait()
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"resource":{"resourceType":"Observation","id":"o%03d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
			"subject":{"reference":"Patient/p%d"},"valueQuantity":{"value":%d,"system":"http://unitsofmeasure.org","code":"/min"}},
			"request":{"method":"PUT","url":"Observation/o%03d"}}`, i, i%5, 60+i%40, i)
	}
	b.WriteString(`]}`)
	if _, err := svc.Bundle(t.Context(), []byte(b.String()), "http://localhost/fhir"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open()
	return st, service(st, index.All)
}

// TestReindexOnline rebuilds while writes go on: searches are refused
// while it runs and accepted after, and no write is lost or indexed twice.
func TestReindexOnline(t *testing.T) {
	forEachReindexBackend(t, func(t *testing.T, open func() store.Store) {
		const n = 150
		st, svc := staleDatabase(t, open, n)
		ctx := t.Context()
		paused := make(chan record.TypeIndexStatus)
		resume := make(chan struct{})
		var once sync.Once
		wait, err := svc.StartReindex(ctx, record.ReindexOptions{Batch: 10, Share: 0.5, Progress: func(ts record.TypeIndexStatus) {
			if ts.Done >= 30 {
				once.Do(func() {
					paused <- ts
					<-resume
				})
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		ts := <-paused
		// Mid-rebuild: refused with the progress; other types are fine.
		err = svc.CheckIndexed(ctx, "Observation")
		want := fmt.Sprintf("Observation: the search index is being rebuilt (%d%% done); searches on it are refused until it completes, except _id, identifier and compartment searches", int(ts.Percent()))
		if fhir.KindOf(err) != fhir.Invalid || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckIndexed mid-rebuild: %v\nwant %q", err, want)
		}
		if ts.Percent() != 20 {
			t.Errorf("progress %v%%, want 20 (30 of 150)", ts.Percent())
		}
		if err := svc.CheckIndexed(ctx, "Patient"); err != nil {
			t.Errorf("CheckIndexed of a type not rebuilt: %v", err)
		}
		status, err := svc.ReindexStatus(ctx)
		if err != nil || status.Complete || len(status.Types) != 1 || status.Types[0].State != record.IndexRebuilding || status.Types[0].Done != 30 {
			t.Errorf("status mid-rebuild: %+v, %v", status, err)
		}

		// Writes on both sides of the cursor, while paused and after.
		write := func(from, to int) {
			for i := from; i < to; i++ {
				id := fmt.Sprintf("o%03d", i*7%n)
				switch i % 3 {
				case 0:
					_, err = svc.Update(ctx, "Observation", id, []byte(fmt.Sprintf(`{"resourceType":"Observation","id":"%s","status":"amended","code":{"text":"round %d"},"subject":{"reference":"Patient/p9"}}`, id, i)), "")
				case 1:
					_, err = svc.Delete(ctx, "Observation", id, "")
				case 2:
					_, err = svc.Create(ctx, "Observation", []byte(fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"new %d"},"subject":{"reference":"Patient/p1"}}`, i)), "")
				}
				if err != nil {
					t.Errorf("write %d: %v", i, err)
				}
			}
		}
		write(0, 20)
		close(resume)
		write(20, 60)
		wait()
		if err := svc.CheckIndexed(ctx, "Observation"); err != nil {
			t.Errorf("after the rebuild: %v", err)
		}
		for _, r := range current(t, st) {
			if r.Type != "Observation" {
				continue
			}
			obj, err := fhir.DecodeResource(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := index.ComputeStored(obj, r.ID, index.All)
			if d := gocmp.Diff(sortedIndex(&want), indexOf(t, st, r.Type, r.ID), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s/%s version %d (-want +got):\n%s", r.Type, r.ID, r.Version, d)
			}
		}
	})
}

// TestReindexResume stops a rebuild part way and starts it again.
func TestReindexResume(t *testing.T) {
	tests := []struct {
		name string
		// crash leaves the claim on the type, as a killed process would;
		// otherwise the rebuild stops cleanly and gives it up.
		crash bool
	}{
		{"stopped", false},
		{"crashed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachReindexBackend(t, func(t *testing.T, open func() store.Store) {
				const n = 60
				st, svc := staleDatabase(t, open, n)
				ctx, cancel := context.WithCancel(t.Context())
				err := svc.Reindex(ctx, record.ReindexOptions{Batch: 10, Share: 1, Progress: func(ts record.TypeIndexStatus) {
					if ts.Done >= 20 {
						cancel()
					}
				}})
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("stopped rebuild: %v", err)
				}
				rx := st.(store.Reindexer)
				states, err := rx.IndexStates(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				var obs store.IndexState
				for _, s := range states {
					if s.Type == "Observation" {
						obs = s
					}
				}
				if obs.Cursor != "o019" || obs.Done != 20 || obs.Target == "" || obs.Generation != index.TypeGeneration(index.Conditional, "Observation") || obs.Owner != "" {
					t.Fatalf("state after stopping: %+v", obs)
				}
				if tc.crash {
					obs.Owner, obs.Updated = "elsewhere/1/dead", time.Now()
					if _, err := rx.SwapIndexStates(t.Context(), []store.IndexState{obs}); err != nil {
						t.Fatal(err)
					}
				}
				st.Close()

				st = open()
				svc = service(st, index.All)
				if err := svc.CheckIndexed(t.Context(), "Observation"); err == nil {
					t.Error("CheckIndexed accepts a half-built type")
				}
				var first *record.TypeIndexStatus
				err = svc.Reindex(t.Context(), record.ReindexOptions{Batch: 10, Lease: 400 * time.Millisecond, Progress: func(ts record.TypeIndexStatus) {
					if first == nil && ts.Owner != "elsewhere/1/dead" {
						first = &ts
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				// It went on from the cursor rather than from the start,
				// after the lease of the crashed owner ran out.
				if first == nil || first.Done != 20 || first.Total != n {
					t.Errorf("first progress after the restart: %+v", first)
				}
				// The lease runs from the crashed owner's last renewal, not
				// from the restart.
				if tc.crash && time.Since(obs.Updated) < 400*time.Millisecond {
					t.Errorf("took over a live claim %v after its last renewal", time.Since(obs.Updated))
				}
				if err := svc.CheckIndexed(t.Context(), "Observation"); err != nil {
					t.Error(err)
				}
				status, err := svc.ReindexStatus(t.Context())
				if err != nil || len(status.Types) != 1 || status.Types[0].Done != n {
					t.Errorf("status: %+v, %v", status, err)
				}
				asWritten(t, st, index.All)
			})
		})
	}
}

// BenchmarkCheckIndexed is the cost every search pays once the index is
// complete: it must stay negligible.
func BenchmarkCheckIndexed(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := service(st, index.All)
	wait, err := svc.StartReindex(context.Background(), record.ReindexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	wait()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := svc.CheckIndexed(context.Background(), "Observation", "Patient"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestCustomParamReindexPending checks what searches see between a custom
// parameter's arrival and the end of its reindex: searches using it are
// refused, saying so, while the type's other parameters still answer, and
// after the rebuild it finds what was written before it.
func TestCustomParamReindexPending(t *testing.T) {
	forEachReindexBackend(t, func(t *testing.T, open func() store.Store) {
		ctx := context.Background()
		st := open()
		// A server that indexed the data at R4's definitions.
		first := service(st, index.All)
		bg, stop := context.WithCancel(ctx)
		wait, err := first.StartReindex(bg, record.ReindexOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fixture(t, first, false)
		stop()
		wait()

		// Another, with no background rebuild, is given the parameter.
		svc := service(st, index.All)
		if _, err := svc.Update(ctx, "SearchParameter", "city2", []byte(`{"resourceType":"SearchParameter","id":"city2",
			"url":"http://example.org/SearchParameter/city2","name":"city2","status":"active","description":"x",
			"code":"town","base":["Patient"],"type":"string","expression":"Patient.address.city"}`), ""); err != nil {
			t.Fatal(err)
		}
		search := func(q string) (*record.SearchResult, error) {
			vals, _ := url.ParseQuery(q)
			return svc.Search(ctx, record.SearchRequest{Type: "Patient", Params: vals, Strict: true})
		}
		if _, err := search("town=leeds"); err == nil || !strings.Contains(err.Error(), "Patient: the search index is out of date and waiting to be rebuilt") {
			t.Fatalf("town=leeds before the rebuild: %v, want a refusal saying the index is being rebuilt", err)
		}
		for _, q := range []string{"family=smith", "birthdate=1970", "_sort=family", "_id=p1", "_revinclude=Encounter:subject&_id=p1"} {
			if _, err := search(q); err != nil {
				t.Errorf("%s while the new parameter waits: %v", q, err)
			}
		}
		if _, err := search("_sort=town"); err == nil {
			t.Errorf("_sort=town before the rebuild was not refused")
		}
		if err := svc.Reindex(ctx, record.ReindexOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := search("town=leeds")
		if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != "p1" {
			t.Fatalf("town=leeds after the rebuild: %+v, %v", res, err)
		}
	})
}
