package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// backend opens a fresh store of one kind.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

// backends are the stores every REST test runs against. PostgreSQL skips
// (or fails, with CI=true) when no server is reachable.
func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T) store.Store {
			st, err := postgres.Open(t.Context(), postgres.TestURL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
}

// forEachBackend runs f as a subtest against each backend.
func forEachBackend(t *testing.T, f func(t *testing.T, c *client)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			f(t, newClient(t, st))
		})
	}
}

type client struct {
	t    *testing.T
	srv  *httptest.Server
	st   store.Store
	svc  *record.Service
	base string
}

func newClient(t *testing.T, st store.Store) *client {
	h, svc := newHandler(t, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, st: st, svc: svc, base: srv.URL + "/fhir"}
}

// newHandler is the server as the tests and benchmarks see it.
func newHandler(t testing.TB, st store.Store) (http.Handler, *record.Service) {
	return resttest.Handler(t, st)
}

// with returns a copy of c that reports to t (for subtests).
func (c *client) with(t *testing.T) *client {
	cc := *c
	cc.t = t
	return &cc
}

type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// do sends a request; body is JSON text (or anything for bad-input tests);
// headers come as name, value pairs. A body without a Content-Type header
// is sent as application/fhir+json.
func (c *client) do(method, path, body string, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.Body); err != nil {
			c.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// must is do, failing the test unless the status is want.
func (c *client) must(want int, method, path, body string, headers ...string) *response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.Status, want, r.Raw)
	}
	return r
}

// outcome checks r is an OperationOutcome with status want.
func (c *client) outcome(r *response, want int) {
	c.t.Helper()
	if r.Status != want {
		c.t.Fatalf("status %d, want %d\n%s", r.Status, want, r.Raw)
	}
	if r.Body["resourceType"] != "OperationOutcome" {
		c.t.Fatalf("body is not an OperationOutcome: %s", r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		c.t.Fatalf("Content-Type %q", ct)
	}
}

// get walks a decoded JSON value by keys and indexes: get(m, "meta", "versionId").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	if n, ok := get(v, path...).(json.Number); ok {
		return n.String()
	}
	return s
}
