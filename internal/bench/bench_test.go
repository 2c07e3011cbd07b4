package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/bench"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
)

// newServer is the real server in-process on a fresh embedded database.
func newServer(t *testing.T) *httptest.Server { return resttest.Server(t) }

// loaded is a server holding testdata: two Organizations and a
// Practitioner (reference.json), then six patients' transaction Bundles,
// loaded by the ingest workload itself.
func loaded(t *testing.T) (*httptest.Server, *bench.Client, bench.Result) {
	t.Helper()
	srv := newServer(t)
	c := bench.NewClient(srv.URL+"/fhir", "", 4)
	t.Cleanup(c.Close)
	src, err := bench.OpenDir(bench.DirOptions{}, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := bench.Ingest(t.Context(), c, src, bench.Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, res
}

// sane checks what every successful Result must hold; timings are never
// checked, only their order.
func sane(t *testing.T, res bench.Result) {
	t.Helper()
	if res.Failed() {
		t.Errorf("%s: %d errors %v, first: %s", res.Workload, res.Errors, res.ErrorsByStatus, res.FirstError)
	}
	if res.Requests <= 0 || res.RequestsPerSecond <= 0 || res.Seconds <= 0 {
		t.Errorf("%s: %d requests, %v/s in %vs", res.Workload, res.Requests, res.RequestsPerSecond, res.Seconds)
	}
	if !(0 < res.P50 && res.P50 <= res.P95 && res.P95 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("%s: percentiles out of order: p50 %v p95 %v p99 %v max %v", res.Workload, res.P50, res.P95, res.P99, res.Max)
	}
}

func TestWorkloads(t *testing.T) {
	_, c, ingest := loaded(t)
	t.Run("ingest", func(t *testing.T) {
		sane(t, ingest)
		// 3 reference resources, then 6 patients: a Patient, 2
		// Encounters, 3 Observations per visit-round (1 to 3 rounds), a
		// Condition for every other one.
		if ingest.Requests != 7 || ingest.Resources != 3+6*3+3*(2+3+1+2+3+1)+3 {
			t.Errorf("ingest: %d Bundles, %d resources", ingest.Requests, ingest.Resources)
		}
		if ingest.ResourcesPerSecond <= 0 {
			t.Errorf("ingest: %v resources/s", ingest.ResourcesPerSecond)
		}
	})
	o := bench.Options{Concurrency: 3, Requests: 50}
	t.Run("read", func(t *testing.T) {
		res, err := bench.Read(t.Context(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		sane(t, res)
		if res.Requests != 50 {
			t.Errorf("read: %d requests, want 50", res.Requests)
		}
	})
	t.Run("read with warm-up and duration", func(t *testing.T) {
		res, err := bench.Read(t.Context(), c, bench.Options{Concurrency: 2, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sane(t, res)
	})
	t.Run("search", func(t *testing.T) {
		p, err := bench.Discover(t.Context(), c, bench.SearchParams{})
		if err != nil {
			t.Fatal(err)
		}
		// The testdata match every default; the rest is found.
		d := bench.DefaultSearchParams
		if p.Code != d.Code || p.Category != d.Category || p.Family != d.Family || p.Birthdate != d.Birthdate || p.ConditionCode != d.ConditionCode {
			t.Errorf("defaults not kept: %+v", p)
		}
		if p.Patient == "" || !strings.HasPrefix(p.PatientIdentifier, "https://sharedcare.example/test/patient|T00") ||
			!strings.HasPrefix(p.PatientCode, "http://loinc.org|") || p.Organization != "LEEDS GENERAL INFIRMARY" {
			t.Errorf("discovered %+v", p)
		}
		// The chosen Patient has the most Observations: 9 (patients 2
		// and 5).
		if n := p.PatientIdentifier[len(p.PatientIdentifier)-1]; n != '2' && n != '5' {
			t.Errorf("patient %s is not one with the most Observations", p.PatientIdentifier)
		}
		// Found again by identifier, as on another server.
		again, err := bench.Discover(t.Context(), c, bench.SearchParams{PatientIdentifier: p.PatientIdentifier, Patient: "elsewhere"})
		if err != nil || again != p {
			t.Errorf("rediscovered %+v, %v; want %+v", again, err, p)
		}

		results, err := bench.Search(t.Context(), c, p, bench.Options{Concurrency: 2, Requests: 10})
		if err != nil {
			t.Fatal(err)
		}
		mix := bench.SearchMix(p)
		if len(results) != len(mix) {
			t.Fatalf("%d results for %d queries", len(results), len(mix))
		}
		for i, res := range results {
			sane(t, res)
			if res.Workload != "search/"+mix[i].Name || res.Query != mix[i].Path || res.Requests != 10 {
				t.Errorf("result %d: %s %s, %d requests", i, res.Workload, res.Query, res.Requests)
			}
		}
	})
	t.Run("everything", func(t *testing.T) {
		res, err := bench.Everything(t.Context(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		sane(t, res)
	})
	t.Run("crud", func(t *testing.T) {
		results, err := bench.CRUD(t.Context(), c, bench.Options{Concurrency: 3, Requests: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"crud", "crud/create", "crud/read", "crud/update", "crud/delete"}
		if len(results) != len(want) {
			t.Fatalf("%d results", len(results))
		}
		for i, res := range results {
			if res.Workload != want[i] {
				t.Errorf("result %d is %s, want %s", i, res.Workload, want[i])
			}
			sane(t, res)
		}
		// Whole iterations of 36 requests: 100 is 3 of them.
		all := results[0]
		if all.Requests != 3*36 {
			t.Errorf("crud: %d requests, want 108", all.Requests)
		}
		for _, res := range results[1:] {
			if res.Requests != all.Requests/4 {
				t.Errorf("%s: %d requests, want a quarter of %d", res.Workload, res.Requests, all.Requests)
			}
		}
	})
	t.Run("crud leaves no resources", func(t *testing.T) {
		// Every resource the mix created was deleted: the server holds only
		// what ingest loaded.
		var b struct {
			Total int `json:"total"`
		}
		resp, err := http.Get(c.Base + "/Location?_summary=count")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || b.Total != 0 {
			t.Errorf("%d Locations left (%v)", b.Total, err)
		}
	})
}

// TestFailures: a workload whose requests fail reports each failure by
// status and its Report fails; nothing is silently measured.
func TestFailures(t *testing.T) {
	_, c, _ := loaded(t)
	o := bench.Options{Concurrency: 2, Requests: 20}
	t.Run("404", func(t *testing.T) {
		// A search for a Patient that is not there: its per-patient
		// queries answer empty Bundles and $everything 404.
		p, err := bench.Discover(t.Context(), c, bench.SearchParams{})
		if err != nil {
			t.Fatal(err)
		}
		p.Patient = "no-such-patient"
		results, err := bench.Search(t.Context(), c, p, o)
		if err != nil {
			t.Fatal(err)
		}
		failed := map[string]string{}
		for _, res := range results {
			for k := range res.ErrorsByStatus {
				failed[res.Workload] = k
			}
		}
		want := map[string]string{"search/patient+code": "empty", "search/patient+sort": "empty", "search/revinclude": "empty", "search/everything": "404"}
		if len(failed) != len(want) {
			t.Errorf("failed: %v, want %v", failed, want)
		}
		for w, k := range want {
			if failed[w] != k {
				t.Errorf("%s failed with %q, want %q", w, failed[w], k)
			}
		}
		r := bench.Report{Results: results}
		if err := r.Err(); !errors.Is(err, bench.ErrFailed) || !strings.Contains(err.Error(), "search/everything: 1 failed (404 ×1)") {
			t.Errorf("report error %v", err)
		}
	})

	t.Run("500", func(t *testing.T) {
		// A server that fails every other read.
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("_elements") == "id" {
				w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`))
				return
			}
			if n.Add(1)%2 == 0 {
				http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusInternalServerError)
				return
			}
			w.Write([]byte(`{"resourceType":"Patient","id":"a"}`))
		}))
		defer srv.Close()
		c := bench.NewClient(srv.URL, "", 2)
		res, err := bench.Read(t.Context(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 20 || res.Errors != 10 || res.ErrorsByStatus["500"] != 10 || !strings.Contains(res.FirstError, "500") {
			t.Errorf("read: %d requests, errors %v, first %q", res.Requests, res.ErrorsByStatus, res.FirstError)
		}
		r := bench.Report{Results: []bench.Result{res}}
		if !errors.Is(r.Err(), bench.ErrFailed) {
			t.Errorf("report error %v", r.Err())
		}
	})

	t.Run("stops early", func(t *testing.T) {
		// Every request fails: the run ends long before its duration.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("_elements") == "id" {
				w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`))
				return
			}
			http.Error(w, "gone", http.StatusGone)
		}))
		defer srv.Close()
		c := bench.NewClient(srv.URL, "", 2)
		start := time.Now()
		res, err := bench.Read(t.Context(), c, bench.Options{Concurrency: 2, Duration: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 30*time.Second || res.ErrorsByStatus["410"] < 100 {
			t.Errorf("ran %v with errors %v", time.Since(start), res.ErrorsByStatus)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		// A server that never answers a read: cancelling the run (as
		// Ctrl-C does) cuts the requests in flight short instead of
		// waiting out their timeout, and they count neither as timed
		// nor as failed.
		hung := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("_elements") == "id" {
				w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`))
				return
			}
			select {
			case <-hung:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(hung)
		c := bench.NewClient(srv.URL, "", 2)
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := bench.Read(ctx, c, bench.Options{Concurrency: 2, Duration: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("the interrupted run took %v", took)
		}
		if res.Requests != 0 || res.Errors != 0 {
			t.Errorf("interrupted: %d requests timed, errors %v", res.Requests, res.ErrorsByStatus)
		}
	})

	t.Run("refused bundle", func(t *testing.T) {
		// A Bundle the server refuses (an unknown element, strict
		// validation) fails ingest, and the phase after it is not sent.
		dir := t.TempDir()
		write(t, filepath.Join(dir, "reference.json"), `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","colour":"blue"},"request":{"method":"POST","url":"Patient"}}]}`)
		write(t, filepath.Join(dir, "b.json"), `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`)
		src, err := bench.OpenDir(bench.DirOptions{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		res, err := bench.Ingest(t.Context(), c, src, bench.Options{Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 1 || res.Resources != 0 || res.Errors != 1 || res.ErrorsByStatus["400"]+res.ErrorsByStatus["422"] != 1 {
			t.Errorf("ingest: %d Bundles, %d resources, errors %v", res.Requests, res.Resources, res.ErrorsByStatus)
		}
	})

	t.Run("failed batch entry", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "batch.json"), `{"resourceType":"Bundle","type":"batch","entry":[`+
			`{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},`+
			`{"resource":{"resourceType":"Patient","colour":"blue"},"request":{"method":"POST","url":"Patient"}}]}`)
		src, err := bench.OpenDir(bench.DirOptions{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		res, err := bench.Ingest(t.Context(), c, src, bench.Options{Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 1 || res.Resources != 1 || res.Errors != 1 || !strings.HasPrefix(res.FirstError, "POST") {
			t.Errorf("ingest: %d Bundles, %d resources, errors %v %s", res.Requests, res.Resources, res.ErrorsByStatus, res.FirstError)
		}
	})
}

func TestReportJSON(t *testing.T) {
	r := bench.Report{
		Environment:  bench.NewEnvironment("http://127.0.0.1:1/fhir", []string{"sharedcare", "bench"}, 4),
		SearchParams: &bench.SearchParams{Patient: "p"},
		Results: []bench.Result{
			{Workload: "read", Requests: 10, Seconds: 1, RequestsPerSecond: 10, P50: 1, P95: 2, P99: 3, Max: 4},
			{Workload: "ingest", Requests: 2, Resources: 600, ResourcesPerSecond: 300},
		},
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back bench.Report
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.Environment.GoVersion == "" || back.Environment.NumCPU == 0 || back.Environment.Target != r.Environment.Target ||
		len(back.Results) != 2 || !cmp.Equal(back.Results[0], r.Results[0]) || back.SearchParams.Patient != "p" {
		t.Errorf("round trip: %+v", back)
	}
	b.Reset()
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "workload") || !strings.Contains(lines[1], "10 req/s") || !strings.Contains(lines[2], "300 res/s") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestNoServerImports: the package measures any server over HTTP, so it
// must not reach into this one.
func TestNoServerImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ast.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); strings.HasPrefix(p, "github.com/sharedcare/sharedcare/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiscoverOtherData: on data the search issue's defaults match
// nothing of, Discover finds values that do, and the mix runs clean.
func TestDiscoverOtherData(t *testing.T) {
	srv := newServer(t)
	c := bench.NewClient(srv.URL+"/fhir", "", 2)
	defer c.Close()
	var entries []string
	entry := func(res string) {
		entries = append(entries, `{"fullUrl":"urn:uuid:00000000-0000-4000-8000-`+strconv.Itoa(100000000000+len(entries))+`","resource":`+res+`,"request":{"method":"POST","url":"`+strings.SplitN(strings.SplitN(res, `"resourceType":"`, 2)[1], `"`, 2)[0]+`"}}`)
	}
	entry(`{"resourceType":"Organization","name":"Harrogate & District, \"North\""}`)
	org := "urn:uuid:00000000-0000-4000-8000-100000000000"
	for i, fam := range []string{"Jones", "Jonas", "Patel"} {
		entry(`{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"p` + strconv.Itoa(i) + `"}],"name":[{"family":"` + fam + `"}],"birthDate":"198` + strconv.Itoa(i) + `-05-01"}`)
		pat := "urn:uuid:00000000-0000-4000-8000-" + strconv.Itoa(100000000000+len(entries)-1)
		entry(`{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"` + pat + `"},"serviceProvider":{"reference":"` + org + `"}}`)
		enc := "urn:uuid:00000000-0000-4000-8000-" + strconv.Itoa(100000000000+len(entries)-1)
		for range i + 1 {
			entry(`{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"` + pat + `"},"encounter":{"reference":"` + enc + `"},"effectiveDateTime":"2024-01-01"}`)
		}
		entry(`{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"subject":{"reference":"` + pat + `"}}`)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.json"), `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(entries, ",")+`]}`)
	src, err := bench.OpenDir(bench.DirOptions{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if res, err := bench.Ingest(t.Context(), c, src, bench.Options{}); err != nil || res.Failed() {
		t.Fatalf("ingest: %v %+v", err, res)
	}

	p, err := bench.Discover(t.Context(), c, bench.SearchParams{})
	if err != nil {
		t.Fatal(err)
	}
	want := bench.SearchParams{
		Patient: p.Patient, PatientIdentifier: "urn:test|p2", PatientCode: "http://loinc.org|8867-4",
		Organization: `Harrogate & District, "North"`, Code: "http://loinc.org|8867-4", Category: "vital-signs",
		Family: "jon", Birthdate: "lt1982", ConditionCode: "http://snomed.info/sct|38341003",
	}
	if p != want {
		t.Errorf("discovered\n%+v, want\n%+v", p, want)
	}
	results, err := bench.Search(t.Context(), c, p, bench.Options{Concurrency: 1, Requests: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		sane(t, res)
	}
}
