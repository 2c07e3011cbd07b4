package rest_test

import (
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// BenchmarkAccessRead measures what access control and the audit log
// add to reads: the same read and search, with neither, with the access
// decision (a GP with a legitimate relationship), and with both. Compare
// the sub-benchmarks of one run (docs/PERFORMANCE.md).
func BenchmarkAccessRead(b *testing.B) {
	for _, mode := range []string{"open", "access", "access+note", "access+audit"} {
		b.Run(mode, func(b *testing.B) {
			st, err := sqlite.Open(b.Context(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var alog *audit.Log
			h, svc := resttest.Handler(b, st, func(s *rest.Server) {
				if mode == "access+note" {
					// Everything the request path does for the audit but
					// the log itself: the note and the event.
					s.Audit = func(r *http.Request, status int, n access.NoteSummary, sync bool) {
						_ = rest.Event(r, "/fhir", status, n)
					}
				}
				if mode == "access+audit" {
					_, key, _ := ed25519.GenerateKey(nil)
					if alog, err = audit.OpenSQLite(b.Context(), b.TempDir(), audit.Options{Key: key}); err != nil {
						b.Fatal(err)
					}
					s.Audit, s.AuditLog = s.AuditTo(alog), alog
				}
			})
			if alog != nil {
				defer alog.Close()
			}
			as := principals["sys"]
			edge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), as)))
			})
			srv := httptest.NewServer(edge)
			defer srv.Close()
			send := func(method, path, body string) int {
				req, _ := http.NewRequest(method, srv.URL+"/fhir"+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set(rest.SourceHeader, odsGP1)
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			send("PUT", "/Organization/gp1", `{"resourceType":"Organization","id":"gp1","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"`+odsGP1+`"}]}`)
			send("PUT", "/Patient/pA", `{"resourceType":"Patient","id":"pA","generalPractitioner":[{"reference":"Organization/gp1"}]}`)
			for i := range 20 {
				send("PUT", "/Observation/o"+string(rune('a'+i)), `{"resourceType":"Observation","id":"o`+string(rune('a'+i))+`","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pA"}}`)
			}
			if mode != "open" {
				svc.SetAccess(&access.Policy{})
				as = principals["gp1"]
			}
			for _, q := range []string{"/Observation/oa", "/Observation?patient=pA"} {
				b.Run(strings.SplitN(strings.TrimPrefix(q, "/"), "?", 2)[0]+map[bool]string{true: "-search", false: "-read"}[strings.Contains(q, "?")], func(b *testing.B) {
					for b.Loop() {
						if code := send("GET", q, ""); code != 200 {
							b.Fatalf("%s: %d", q, code)
						}
					}
				})
			}
		})
	}
}
