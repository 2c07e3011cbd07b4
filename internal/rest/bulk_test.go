package rest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store"
)

// bulkClient is a client of an API with bulk jobs, whose files live in
// dir.
type bulkClient struct {
	*client
	dir string
}

// newBulkClient serves the API over st with a bulk Manager configured by o
// (Dir is set here).
func newBulkClient(t *testing.T, st store.Store, o bulk.Options) *bulkClient {
	o.Dir = filepath.Join(t.TempDir(), "bulk")
	h, svc := resttest.Handler(t, st, func(s *rest.Server) {
		m, err := bulk.NewManager(s.Svc, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		s.Bulk = m
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &bulkClient{client: &client{t: t, srv: srv, st: st, svc: svc, base: srv.URL + "/fhir"}, dir: o.Dir}
}

const async = "respond-async"

// kickoff sends a kick-off and returns the status path (after the base).
func (c *bulkClient) kickoff(method, path, body string, headers ...string) string {
	c.t.Helper()
	r := c.do(method, path, body, append([]string{"Prefer", async}, headers...)...)
	c.outcome(r, http.StatusAccepted)
	loc := r.Header.Get("Content-Location")
	rel, ok := strings.CutPrefix(loc, c.base)
	if !ok || !strings.HasPrefix(rel, "/$bulk-status/") {
		c.t.Fatalf("Content-Location %q", loc)
	}
	return rel
}

// wait polls a status URL until the job is done, and returns the manifest.
func (c *bulkClient) wait(status string) *response {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.do("GET", status, "")
		switch r.Status {
		case http.StatusAccepted:
			if r.Header.Get("X-Progress") == "" || r.Header.Get("Retry-After") == "" {
				c.t.Fatalf("202 without X-Progress or Retry-After: %v", r.Header)
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("job %s still running: %s", status, r.Header.Get("X-Progress"))
			}
			time.Sleep(20 * time.Millisecond)
		case http.StatusOK:
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				c.t.Errorf("manifest Content-Type %q", ct)
			}
			return r
		default:
			c.t.Fatalf("status of %s: %d\n%s", status, r.Status, r.Raw)
		}
	}
}

// file downloads one of a manifest's files and returns its lines.
func (c *bulkClient) file(url string) []string {
	c.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/fhir+ndjson")
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/fhir+ndjson" {
		c.t.Fatalf("GET %s: %d %s\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// outputs reads a manifest's output (or error) list as type → count, and
// checks each file holds count lines.
func (c *bulkClient) outputs(m *response, list string) map[string]int {
	c.t.Helper()
	out := map[string]int{}
	files, _ := get(m.Body, list).([]any)
	for i := range files {
		typ, url := str(files[i], "type"), str(files[i], "url")
		lines := c.file(url)
		if n := str(files[i], "count"); n != "" && n != strconv.Itoa(len(lines)) {
			c.t.Errorf("%s: %d lines, count %s", url, len(lines), n)
		}
		for _, l := range lines {
			if typ != "OperationOutcome" && !strings.Contains(l, `"resourceType":"`+typ+`"`) && !strings.Contains(l, `"resourceType": "`+typ+`"`) {
				c.t.Errorf("%s holds %s", url, l)
			}
		}
		out[typ] += len(lines)
	}
	return out
}

var bulkFixture = strings.Join([]string{
	`{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/org"}}`,
	`{"resourceType":"Organization","id":"org","name":"Org"}`,
	`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/p1"}}`,
	`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"b"},"subject":{"reference":"Patient/p2"}}`,
	`{"resourceType":"Patient","id":"p2"}`,
	`{"resourceType":"Group","id":"g1","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p2"}}]}`,
	`{"resourceType":"Patient","id":"p3","colour":"blue"}`,
	`not json`,
}, "\n")

// TestBulkAPI: import by upload, then the three exports, over HTTP.
func TestBulkAPI(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := newBulkClient(t, b.open(t), bulk.Options{})
			// Import: an upload of NDJSON with two bad lines.
			m := c.wait(c.kickoff("POST", "/$import", bulkFixture, "Content-Type", "application/fhir+ndjson"))
			if got := str(m.Body, "output", 0, "extension", "loaded", "Patient"); got != "2" {
				t.Errorf("loaded Patients %q\n%s", got, m.Raw)
			}
			if str(m.Body, "error", 0, "count") != "2" || str(m.Body, "output", 0, "count") != "6" {
				t.Errorf("manifest counts: %s", m.Raw)
			}
			rejected := c.file(str(m.Body, "error", 0, "url"))
			if len(rejected) != 2 || !strings.Contains(rejected[0], "line 7 (Patient/p3)") || !strings.Contains(rejected[1], "line 8: ") {
				t.Errorf("rejected lines: %q", rejected)
			}
			if r := c.do("GET", "/Observation/o1", ""); r.Status != http.StatusOK {
				t.Errorf("read of an imported resource: %d", r.Status)
			}

			tests := []struct {
				path string
				want map[string]int
			}{
				{"/$export", map[string]int{"Patient": 2, "Organization": 1, "Observation": 2, "Group": 1}},
				{"/$export?_type=Patient,Observation&_outputFormat=application/fhir%2Bndjson", map[string]int{"Patient": 2, "Observation": 2}},
				{"/$export?_since=2000-01-01T00:00:00Z&_type=Organization&_outputFormat=ndjson", map[string]int{"Organization": 1}},
				{"/$export?_since=2999-01-01T00:00:00Z", map[string]int{}},
				{"/Patient/$export", map[string]int{"Patient": 2, "Observation": 2, "Group": 1}},
				{"/Patient/$export?_type=Observation", map[string]int{"Observation": 2}},
				{"/Group/g1/$export", map[string]int{"Patient": 1, "Observation": 1, "Group": 1}},
			}
			for _, tc := range tests {
				m := c.wait(c.kickoff("GET", tc.path, "", "Accept", "application/fhir+json"))
				if d := cmp.Diff(tc.want, c.outputs(m, "output")); d != "" {
					t.Errorf("%s: exported (-want +got):\n%s", tc.path, d)
				}
				if tt := str(m.Body, "transactionTime"); tt == "" || str(m.Body, "request") != c.base+tc.path || get(m.Body, "requiresAccessToken") != false {
					t.Errorf("%s: manifest %s", tc.path, m.Raw)
				}
				if errs, ok := get(m.Body, "error").([]any); !ok || len(errs) != 0 {
					t.Errorf("%s: errors %s", tc.path, m.Raw)
				}
			}
		})
	}
}

// TestBulkStatusAndCancel: a running job answers 202 with its progress; a
// DELETE cancels it and removes its files; past MaxJobs a kick-off is
// refused.
func TestBulkStatusAndCancel(t *testing.T) {
	// Access holds every job at its first resource until the gate opens.
	started := make(chan struct{}, 1)
	var gate atomic.Pointer[chan struct{}]
	open := make(chan struct{})
	close(open)
	gate.Store(&open)
	hold := func(ctx context.Context, op bulk.Op, s bulk.Subject) error {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-*gate.Load():
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	c := newBulkClient(t, backends()[0].open(t), bulk.Options{MaxJobs: 1, Access: hold})
	c.wait(c.kickoff("POST", "/$import", bulkFixture, "Content-Type", "application/ndjson"))
	<-started
	shut := make(chan struct{})
	gate.Store(&shut)

	status := c.kickoff("GET", "/$export", "")
	<-started
	r := c.do("GET", status, "")
	if r.Status != http.StatusAccepted || r.Header.Get("X-Progress") == "" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("running job: %d %v", r.Status, r.Header)
	}
	job := strings.TrimPrefix(status, "/$bulk-status/")
	if _, err := os.Stat(filepath.Join(c.dir, job)); err != nil {
		t.Fatalf("job directory: %v", err)
	}
	// One job at a time: the next kick-off is refused.
	r = c.do("GET", "/Patient/$export", "", "Prefer", async)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Body["resourceType"] != "OperationOutcome" {
		t.Fatalf("second job: %d %v %s", r.Status, r.Header, r.Raw)
	}
	c.outcome(c.do("DELETE", status, ""), http.StatusAccepted)
	c.outcome(c.do("GET", status, ""), http.StatusNotFound)
	c.outcome(c.do("DELETE", status, ""), http.StatusNotFound)
	if _, err := os.Stat(filepath.Join(c.dir, job)); !os.IsNotExist(err) {
		t.Errorf("job directory after cancel: %v", err)
	}
	// The slot is free again.
	close(shut)
	m := c.wait(c.kickoff("GET", "/$export?_type=Group", ""))
	if got := c.outputs(m, "output"); got["Group"] != 1 {
		t.Errorf("after cancel: %v", got)
	}
}

// TestBulkImportURLs: inputs fetched from URLs on the allow-list, and the
// requests a kick-off refuses, each with an OperationOutcome and a 4xx.
func TestBulkImportURLs(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exports/patients.ndjson":
			io.WriteString(w, `{"resourceType":"Patient","id":"u1"}`+"\n"+`{"resourceType":"Patient","id":"u2"}`+"\n")
		case "/exports/observations.ndjson":
			io.WriteString(w, `{"resourceType":"Observation","id":"uo","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/u1"}}`+"\n")
		case "/exports/away":
			http.Redirect(w, r, "/elsewhere/patients.ndjson", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()
	c := newBulkClient(t, backends()[0].open(t), bulk.Options{AllowURLs: []string{files.URL + "/exports"}})
	params := func(inputs ...string) string {
		var ps []string
		ps = append(ps, `{"name":"inputFormat","valueCode":"application/fhir+ndjson"}`, `{"name":"inputSource","valueUri":"https://example.org"}`)
		for i := 0; i+1 < len(inputs); i += 2 {
			ps = append(ps, `{"name":"input","part":[{"name":"type","valueCode":"`+inputs[i]+`"},{"name":"url","valueUrl":"`+inputs[i+1]+`"}]}`)
		}
		return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
	}
	m := c.wait(c.kickoff("POST", "/$import", params("Patient", files.URL+"/exports/patients.ndjson", "Observation", files.URL+"/exports/observations.ndjson",
		"Patient", files.URL+"/exports/missing.ndjson", "Patient", files.URL+"/exports/away")))
	var loaded []string
	for i := range 4 {
		loaded = append(loaded, str(m.Body, "output", i, "inputUrl")+" "+str(m.Body, "output", i, "count"))
	}
	want := []string{files.URL + "/exports/patients.ndjson 2", files.URL + "/exports/observations.ndjson 1", files.URL + "/exports/missing.ndjson 0", files.URL + "/exports/away 0"}
	if d := cmp.Diff(want, loaded); d != "" {
		t.Errorf("loaded (-want +got):\n%s", d)
	}
	errs := c.outputs(m, "error")
	if errs["OperationOutcome"] != 2 {
		t.Errorf("errors: %v\n%s", errs, m.Raw)
	}
	for _, u := range []string{str(m.Body, "error", 0, "url"), str(m.Body, "error", 1, "url")} {
		if l := c.file(u); !slices.ContainsFunc(l, func(s string) bool { return strings.Contains(s, "404") || strings.Contains(s, "not on the list") }) {
			t.Errorf("error file %s: %q", u, l)
		}
	}

	refused := []struct {
		name        string
		method, url string
		body        string
		headers     []string
		status      int
	}{
		{"not on the allow-list", "POST", "/$import", params("Patient", "https://elsewhere.example.org/p.ndjson"), nil, http.StatusForbidden},
		{"a prefix, not a path", "POST", "/$import", params("Patient", files.URL+"/exports-old/p.ndjson"), nil, http.StatusForbidden},
		{"not a URL", "POST", "/$import", params("Patient", "p.ndjson"), nil, http.StatusBadRequest},
		{"unknown type", "POST", "/$import", params("Nonsense", files.URL+"/exports/patients.ndjson"), nil, http.StatusBadRequest},
		{"no input", "POST", "/$import", params(), nil, http.StatusBadRequest},
		{"not Parameters", "POST", "/$import", `{"resourceType":"Patient"}`, nil, http.StatusBadRequest},
		{"bad inputFormat", "POST", "/$import", `{"resourceType":"Parameters","parameter":[{"name":"inputFormat","valueCode":"text/csv"}]}`, nil, http.StatusBadRequest},
		{"unknown parameter", "POST", "/$import", `{"resourceType":"Parameters","parameter":[{"name":"colour","valueCode":"x"}]}`, nil, http.StatusBadRequest},
		{"not JSON", "POST", "/$import", `{`, nil, http.StatusBadRequest},
		{"CSV", "POST", "/$import", "a,b", []string{"Content-Type", "text/csv"}, http.StatusUnsupportedMediaType},
		{"import without Prefer", "POST", "/$import", bulkFixture, []string{"Content-Type", "application/fhir+ndjson", "Prefer", ""}, http.StatusBadRequest},
		{"GET $import", "GET", "/$import", "", nil, http.StatusMethodNotAllowed},
		{"export without Prefer", "GET", "/$export", "", []string{"Prefer", "return=minimal"}, http.StatusBadRequest},
		{"POST $export", "POST", "/$export", "{}", nil, http.StatusMethodNotAllowed},
		{"bad _outputFormat", "GET", "/$export?_outputFormat=text/csv", "", nil, http.StatusBadRequest},
		{"bad _since", "GET", "/$export?_since=yesterday", "", nil, http.StatusBadRequest},
		{"two _since", "GET", "/$export?_since=2020&_since=2021", "", nil, http.StatusBadRequest},
		{"unknown _type", "GET", "/$export?_type=Nonsense", "", nil, http.StatusBadRequest},
		{"empty _type", "GET", "/$export?_type=Patient,", "", nil, http.StatusBadRequest},
		{"_typeFilter", "GET", "/$export?_typeFilter=Patient%3Factive%3Dtrue", "", nil, http.StatusBadRequest},
		{"unknown parameter", "GET", "/$export?colour=blue", "", nil, http.StatusBadRequest},
		{"type outside the compartment", "GET", "/Patient/$export?_type=Organization", "", nil, http.StatusBadRequest},
		{"no such Group", "GET", "/Group/nope/$export", "", nil, http.StatusNotFound},
		{"Accept CSV", "GET", "/$export", "", []string{"Accept", "text/csv"}, http.StatusNotAcceptable},
		{"no such job", "GET", "/$bulk-status/0123456789abcdef0123456789abcdef", "", nil, http.StatusNotFound},
		{"PUT status", "PUT", "/$bulk-status/0123456789abcdef0123456789abcdef", "{}", nil, http.StatusMethodNotAllowed},
		{"no such file", "GET", "/$bulk-file/0123456789abcdef0123456789abcdef/Patient.ndjson", "", nil, http.StatusNotFound},
		{"a path for a file", "GET", "/$bulk-file/0123456789abcdef0123456789abcdef/..%2f..%2fsharedcare.db", "", nil, http.StatusNotFound},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{"Prefer", async}
			h = append(h, tc.headers...)
			c.with(t).outcome(c.with(t).do(tc.method, tc.url, tc.body, h...), tc.status)
		})
	}
}

// TestBulkNotConfigured: without a Manager the endpoints say so.
func TestBulkNotConfigured(t *testing.T) {
	c := newClient(t, backends()[0].open(t))
	c.outcome(c.do("GET", "/$export", "", "Prefer", async), http.StatusNotImplemented)
	// The rest of the API is untouched.
	c.outcome(c.do("GET", "/Nonsense", ""), http.StatusNotFound)
}
