package rest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest"
)

// typePart returns the "type" part of a $reindex-status answer for typ as
// name → value (as text), or nil.
func typePart(body map[string]any, typ string) map[string]string {
	ps, _ := body["parameter"].([]any)
	for _, p := range ps {
		if get(p, "name") != "type" {
			continue
		}
		out := map[string]string{}
		parts, _ := get(p, "part").([]any)
		for _, q := range parts {
			for k, v := range q.(map[string]any) {
				if strings.HasPrefix(k, "value") {
					out[str(q, "name")] = fmt.Sprint(v)
				}
			}
		}
		if out["type"] == typ {
			return out
		}
	}
	return nil
}

func param(body map[string]any, name string) string {
	ps, _ := body["parameter"].([]any)
	for _, p := range ps {
		if get(p, "name") == name {
			for k, v := range p.(map[string]any) {
				if strings.HasPrefix(k, "value") {
					return fmt.Sprint(v)
				}
			}
		}
	}
	return ""
}

func TestReindexStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		ctx := t.Context()
		reg := prometheus.NewRegistry()
		reg.MustRegister(rest.NewIndexCollector(c.svc))
		// gauge returns the value of a gauge (with the type label, if
		// given), or -1.
		gauge := func(name, typ string) float64 {
			t.Helper()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() != name {
					continue
				}
				for _, m := range mf.GetMetric() {
					if typ == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == typ {
						return m.GetGauge().GetValue()
					}
				}
			}
			return -1
		}

		// Observations written with only conditional rows: the server
		// that wrote them recorded its generation.
		c.svc.IndexScope = index.Conditional
		wait, err := c.svc.StartReindex(ctx, record.ReindexOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wait()
		r := c.must(http.StatusOK, "GET", "/$reindex-status", "")
		if r.Body["resourceType"] != "Parameters" || param(r.Body, "complete") != "true" || param(r.Body, "scope") != "conditional" {
			t.Fatalf("status of an empty database: %s", r.Raw)
		}
		for i := range 12 {
			c.must(http.StatusCreated, "POST", "/Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"x%d"}}`, i))
		}

		// The same database served with every parameter indexed.
		c.svc.IndexScope = index.All
		r = c.must(http.StatusOK, "GET", "/$reindex-status", "")
		obs := typePart(r.Body, "Observation")
		if param(r.Body, "complete") != "false" || param(r.Body, "scope") != "all" || param(r.Body, "generation") != index.Generation(index.All) ||
			obs["state"] != "pending" || obs["done"] != "0" || obs["total"] != "" || obs["percent"] != "0.0" || obs["target"] != index.TypeGeneration(index.All, "Observation") {
			t.Errorf("status before the rebuild: %s", r.Raw)
		}
		if got := gauge("sharedcare_search_index_complete", ""); got != 0 {
			t.Errorf("sharedcare_search_index_complete = %v before the rebuild", got)
		}
		if got := gauge("sharedcare_search_index_current", "Observation"); got != 0 {
			t.Errorf("sharedcare_search_index_current{type=Observation} = %v before the rebuild", got)
		}
		if err := c.svc.Reindex(ctx, record.ReindexOptions{Batch: 5}); err != nil {
			t.Fatal(err)
		}
		r = c.must(http.StatusOK, "GET", "/$reindex-status", "")
		obs = typePart(r.Body, "Observation")
		if param(r.Body, "complete") != "true" || obs["state"] != "current" || obs["done"] != "12" || obs["percent"] != "100.0" ||
			obs["generation"] != index.TypeGeneration(index.All, "Observation") || obs["updated"] == "" {
			t.Errorf("status after the rebuild: %s", r.Raw)
		}
		tests := []struct {
			name, typ string
			want      float64
		}{
			{"sharedcare_search_index_complete", "", 1},
			{"sharedcare_search_index_current", "Observation", 1},
			{"sharedcare_search_index_rebuild_done", "Observation", 12},
			{"sharedcare_search_index_rebuild_total", "Observation", 12},
			{"sharedcare_search_index_current", "Patient", -1}, // empty and current: no series
		}
		for _, tc := range tests {
			if got := gauge(tc.name, tc.typ); got != tc.want {
				t.Errorf("%s{type=%q} = %v after the rebuild, want %v", tc.name, tc.typ, got, tc.want)
			}
		}

		requests := []struct {
			name, method, path string
			status             int
		}{
			{"escaped dollar", "GET", "/%24reindex-status", http.StatusOK},
			{"head", "HEAD", "/$reindex-status", http.StatusOK},
			{"post", "POST", "/$reindex-status", http.StatusMethodNotAllowed},
			{"another operation", "GET", "/$reindex-statistics", http.StatusNotFound},
		}
		for _, tc := range requests {
			t.Run(tc.name, func(t *testing.T) {
				req, err := http.NewRequest(tc.method, c.base+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := c.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
				}
			})
		}
	})
}

func TestInteractionOfOperations(t *testing.T) {
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/fhir/$reindex-status", "operation"},
		{"POST", "/fhir/Patient/$validate", "operation"},
		{"GET", "/fhir/Patient", "search-type"},
		{"GET", "/fhir/Patient/1", "read"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		if got := rest.Interaction(r, "/fhir"); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
