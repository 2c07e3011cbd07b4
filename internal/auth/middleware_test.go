package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

type refusal struct {
	status int
	reason string
}

// serve runs one request through the middleware and reports what the
// handler saw.
func serve(t *testing.T, v *Verifier, opts Options, path string, auth ...string) (*httptest.ResponseRecorder, *access.Principal, bool, []refusal) {
	t.Helper()
	var got *access.Principal
	called := false
	var refused []refusal
	opts.OnRefused = func(r *http.Request, status int, reason string) { refused = append(refused, refusal{status, reason}) }
	h := Middleware(v, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		got = access.From(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, got, called, refused
}

func TestMiddleware(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	public := func(r *http.Request) bool {
		return r.URL.Path == "/fhir/metadata" || strings.HasPrefix(r.URL.Path, "/.well-known/")
	}
	opts := Options{Public: public, Realm: "sharedcare test"}
	good := ti.sign(t, claimsFor(ti.URL(), nil))
	expired := ti.sign(t, claimsFor(ti.URL(), map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))

	tests := []struct {
		name      string
		path      string
		auth      []string
		status    int    // 0: the handler is called
		challenge string // the WWW-Authenticate header, or a prefix of it
		principal bool
	}{
		{name: "good token", path: "/fhir/Patient", auth: []string{"Bearer " + good}, principal: true},
		{name: "scheme in lower case", path: "/fhir/Patient", auth: []string{"bearer " + good}, principal: true},
		{name: "no token", path: "/fhir/Patient", status: 401, challenge: `Bearer realm="sharedcare test"`},
		{name: "expired token", path: "/fhir/Patient", auth: []string{"Bearer " + expired}, status: 401,
			challenge: `Bearer realm="sharedcare test", error="invalid_token", error_description="token has expired"`},
		{name: "garbage token", path: "/fhir/Patient", auth: []string{"Bearer nonsense"}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_token"`},
		{name: "Basic scheme", path: "/fhir/Patient", auth: []string{"Basic dXNlcjpwYXNz"}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_request"`},
		{name: "Bearer without token", path: "/fhir/Patient", auth: []string{"Bearer"}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_request"`},
		{name: "Bearer and two tokens", path: "/fhir/Patient", auth: []string{"Bearer a b"}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_request"`},
		{name: "two headers", path: "/fhir/Patient", auth: []string{"Bearer " + good, "Bearer " + good}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_request"`},
		{name: "control character", path: "/fhir/Patient", auth: []string{"Bearer a\x01b"}, status: 401, challenge: `Bearer realm="sharedcare test", error="invalid_request"`},
		{name: "public path, no token", path: "/fhir/metadata"},
		{name: "public path, bad token ignored", path: "/.well-known/smart-configuration", auth: []string{"Bearer " + expired}},
		{name: "public path, malformed header ignored", path: "/fhir/metadata", auth: []string{"Basic x"}},
		{name: "public path, good token used", path: "/fhir/metadata", auth: []string{"Bearer " + good}, principal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, p, called, refused := serve(t, v, opts, tt.path, tt.auth...)
			if tt.status == 0 {
				if !called {
					t.Fatalf("handler not called: %d %s", w.Code, w.Body)
				}
				if (p != nil) != tt.principal {
					t.Errorf("principal %+v, want one: %v", p, tt.principal)
				}
				if len(refused) != 0 {
					t.Errorf("OnRefused called: %v", refused)
				}
				return
			}
			if called {
				t.Fatal("handler called")
			}
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if c := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(c, tt.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q…", c, tt.challenge)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Errorf("Content-Type %q", ct)
			}
			var oo fhir.OperationOutcome
			if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || oo.Issue[0].Code != "login" {
				t.Errorf("body %s (%v)", w.Body, err)
			}
			if len(refused) != 1 || refused[0].status != tt.status || refused[0].reason == "" || refused[0].reason != oo.Issue[0].Diagnostics {
				t.Errorf("OnRefused got %v; outcome says %q", refused, oo.Issue[0].Diagnostics)
			}
			if strings.Contains(w.Body.String(), good[:30]) || strings.Contains(w.Body.String(), expired[:30]) {
				t.Error("the response echoes the token")
			}
		})
	}
}

func TestMiddlewareInsecure(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	demo := &access.Principal{Kind: access.User, Subject: "demo", Role: access.RoleGP, Org: "A81001"}
	opts := Options{Insecure: demo}

	_, p, called, _ := serve(t, v, opts, "/fhir/Patient")
	if !called || p == nil || p.Subject != "demo" {
		t.Fatalf("no token: called %v principal %+v", called, p)
	}
	if p == demo {
		t.Error("handlers share the insecure principal: one could change it for all")
	}
	// A token sent is still verified, and a bad one still refused.
	_, p, _, _ = serve(t, v, opts, "/fhir/Patient", "Bearer "+ti.sign(t, claimsFor(ti.URL(), nil)))
	if p == nil || p.Subject != "user-1" {
		t.Errorf("token with insecure on: %+v", p)
	}
	w, _, called, _ := serve(t, v, opts, "/fhir/Patient", "Bearer nonsense")
	if called || w.Code != 401 {
		t.Errorf("bad token with insecure on: called %v status %d", called, w.Code)
	}
}

func TestMiddlewareIssuerDown(t *testing.T) {
	ti := newTestIssuer(t)
	ti.down.Store(true)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	w, _, called, refused := serve(t, v, Options{}, "/fhir/Patient", "Bearer "+ti.sign(t, claimsFor(ti.URL(), nil)))
	if called || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("called %v status %d Retry-After %q", called, w.Code, w.Header().Get("Retry-After"))
	}
	if len(refused) != 1 || refused[0].status != 503 {
		t.Errorf("OnRefused got %v", refused)
	}
}

func TestQuotable(t *testing.T) {
	if got := quotable("say \"hi\" \\ é\n"); got != "say 'hi' ? ???" {
		t.Errorf("quotable: %q", got)
	}
}
