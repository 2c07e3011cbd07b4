package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/idp"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
)

func admin(t *testing.T, in string, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	old := stdin
	stdin = strings.NewReader(in)
	defer func() { stdin = old }()
	code := Main(append([]string{"admin"}, args...), &out, &errb)
	return out.String() + errb.String(), code
}

// TestAdminClientGetsToken adds a system client with the CLI, then gets a
// token with its credentials from a provider on the same database.
func TestAdminClientGetsToken(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			where := []string{"--data", dir}
			store := idp.SQLitePath(dir)
			if backend == "postgres" {
				store = postgres.TestURL(t)
				where = []string{"--db", store}
			}
			out, code := admin(t, "", append([]string{"client", "add", "--name", "Lab feed", "--org", "RXX", "--scope", "system/*.cruds"}, where...)...)
			if code != 0 {
				t.Fatalf("client add: %d %s", code, out)
			}
			id := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
			secret := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
			if id == nil || secret == nil {
				t.Fatalf("client add printed %q", out)
			}
			if out, code := admin(t, "", append([]string{"client", "list"}, where...)...); code != 0 || !strings.Contains(out, id[1]) || strings.Contains(out, secret[1]) {
				t.Fatalf("client list: %d %s", code, out)
			}

			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			defer srv.Close()
			p, err := idp.New(context.Background(), idp.Config{Issuer: srv.URL + "/auth", Audience: "http://x/fhir", Store: store, KeyDir: filepath.Join(dir, "keys")})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			mux.Handle("/auth/", p.Handler())
			token := func() int {
				req, _ := http.NewRequest("POST", srv.URL+"/auth/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(id[1], secret[1])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var tr struct {
					AccessToken string `json:"access_token"`
					Scope       string `json:"scope"`
				}
				json.NewDecoder(resp.Body).Decode(&tr)
				if resp.StatusCode == 200 && (tr.AccessToken == "" || tr.Scope != "system/Patient.rs") {
					t.Errorf("token response %+v", tr)
				}
				return resp.StatusCode
			}
			if st := token(); st != 200 {
				t.Fatalf("token with the CLI's credentials: %d", st)
			}
			if out, code := admin(t, "", append([]string{"client", "remove", id[1]}, where...)...); code != 0 {
				t.Fatalf("client remove: %d %s", code, out)
			}
			if st := token(); st == 200 {
				t.Fatal("a removed client got a token")
			}
		})
	}
}

func TestAdminUsers(t *testing.T) {
	dir := t.TempDir()
	defer func(g func(string) string) { getenv = g }(getenv)
	getenv = func(k string) string {
		if k == "SHAREDCARE_DATA" {
			return dir
		}
		return ""
	}
	tests := []struct {
		name, in string
		args     []string
		code     int
		want     string
	}{
		{"add with password from stdin", "a long password\n", []string{"user", "add", "--username", "drgp", "--name", "Dr Ada Jones", "--role", "gp", "--org", "A81001", "--fhir-user", "Practitioner/p1", "--password-stdin"}, 0, "user: drgp"},
		{"add with a password made up", "", []string{"user", "add", "--username", "pat", "--name", "Sam Smith", "--role", "patient", "--patient", "pt-1"}, 0, "password: "},
		{"duplicate", "a long password\n", []string{"user", "add", "--username", "drgp", "--name", "X", "--role", "gp", "--password-stdin"}, 1, "already exists"},
		{"unknown role", "", []string{"user", "add", "--username", "x", "--name", "X", "--role", "wizard"}, 1, "not a user's role"},
		{"short password", "short\n", []string{"user", "add", "--username", "y", "--name", "Y", "--role", "nurse", "--password-stdin"}, 1, "at least 8"},
		{"disable", "", []string{"user", "disable", "drgp"}, 0, "disabled user drgp"},
		{"disable unknown", "", []string{"user", "disable", "nobody"}, 1, "not found"},
		{"add acting for others", "a long password\n", []string{"user", "add", "--username", "carer", "--name", "Jo Jessop", "--role", "patient", "--patient", "pt-c",
			"--acts-for", "RelatedPerson/rp-dad=pt-dad=Roy Jessop (your father)", "--acts-for", "RelatedPerson/rp-kid=pt-kid=Kim = daughter", "--password-stdin"}, 0, "user: carer"},
		{"acts-for malformed", "a long password\n", []string{"user", "add", "--username", "z", "--name", "Z", "--role", "patient", "--patient", "pt-z", "--acts-for", "RelatedPerson/rp-1=pt-1", "--password-stdin"}, 2, "RelatedPerson/ID=PATIENT=LABEL"},
		{"acts-for not a RelatedPerson", "a long password\n", []string{"user", "add", "--username", "z", "--name", "Z", "--role", "patient", "--patient", "pt-z", "--acts-for", "Patient/p=pt-1=X", "--password-stdin"}, 1, "want RelatedPerson/<id>"},
		{"acts-for a professional", "a long password\n", []string{"user", "add", "--username", "z", "--name", "Z", "--role", "gp", "--acts-for", "RelatedPerson/r=pt-1=X", "--password-stdin"}, 1, "only patient users"},
		{"list", "", []string{"user", "list"}, 0, "Patient/pt-1"},
		{"bad verb", "", []string{"user", "fly"}, 2, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := admin(t, tt.in, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("got %d %q, want %d and %q", code, out, tt.code, tt.want)
			}
		})
	}
	out, _ := admin(t, "", "user", "list")
	if !regexp.MustCompile(`drgp\s+Dr Ada Jones\s+gp\s+A81001\s+Practitioner/p1\s+disabled`).MatchString(out) {
		t.Errorf("user list: %s", out)
	}
	if !strings.Contains(out, "RelatedPerson/rp-dad=pt-dad=Roy Jessop (your father); RelatedPerson/rp-kid=pt-kid=Kim = daughter") {
		t.Errorf("user list does not show acts-for: %s", out)
	}
}
