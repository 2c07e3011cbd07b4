package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// syncBuffer is a bytes.Buffer the demo and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demo end to end, briefly: it serves, loads a small
// population through the API, prints the guide, answers the guide's
// queries, and stops cleanly, removing its temporary data directory.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	loaded := make(chan string, 1)
	done := make(chan error, 1)
	cfg := demoConfig{addr: "127.0.0.1:0", patients: 20, seed: 3, log: newLogger(io.Discard, "warn", "text")}
	go func() { done <- demo(ctx, cfg, &stdout, &stderr, loaded) }()
	var base string
	select {
	case base = <-loaded:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the demo did not load 20 people in 3 minutes\n%s\n%s", stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"serving " + base, "loaded 20 people", "try:", base + "/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|999"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "20/20 people") {
		t.Errorf("no progress reached 20/20:\n%s", stderr.String())
	}
	// Nothing answers without signing in.
	if resp, err := http.Get(base + "/Observation?_summary=count"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without a token: %v %v", err, resp.Status)
	}
	// The GP signs in through the built-in provider, as the demo's
	// guide says, with the password it printed.
	password := strings.Fields(strings.SplitN(out, "with the password ", 2)[1])[0]
	token := signIn(t, strings.TrimSuffix(base, "/fhir")+"/auth", base, "gp", password, "openid fhirUser user/*.cruds")
	// The guide's queries answer, with data.
	total := func(q string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			Total *int `json:"total"`
			Entry []any
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&b) != nil {
			t.Fatalf("GET %s: status %d", q, resp.StatusCode)
		}
		if b.Total != nil {
			return *b.Total
		}
		return len(b.Entry)
	}
	nhs := strings.SplitN(strings.SplitN(out, "nhs-number|", 2)[1], "\n", 2)[0]
	if n := total("Patient?identifier=" + url.QueryEscape("https://fhir.nhs.uk/Id/nhs-number|"+strings.TrimSpace(nhs))); n < 2 {
		t.Errorf("the first person is held by %d organisations, want at least 2 (GP and another)", n)
	}
	// The GP opens their registered patient's record, from every
	// organisation; a population count is not theirs to run.
	g, _ := synth.New(synth.Config{Seed: 3, Patients: 20})
	var patient1 string
	for _, a := range g.DemoAccounts() {
		if a.Username == "patient1" {
			patient1 = a.Patient
		}
	}
	if n := total("Observation?patient=" + patient1 + "&_summary=count"); n < 1 {
		t.Errorf("the GP sees %d Observations of patient1", n)
	}
	if n := total("Patient/" + patient1 + "/$everything?_count=1000"); n < 10 {
		t.Errorf("patient1's whole record has %d entries", n)
	}
	req, _ := http.NewRequest("GET", base+"/Observation?_summary=count", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("a GP counted everyone's Observations: %v %v", err, resp.Status)
	}
	if n := total("Organization?_summary=count"); n < 100 {
		t.Errorf("%d Organizations loaded", n)
	}
	dir := strings.TrimSuffix(strings.SplitN(strings.SplitN(out, "(data in ", 2)[1], ")", 2)[0], "")
	if _, err := os.Stat(filepath.Join(dir, "sharedcare.db")); err != nil {
		t.Errorf("no database in %s: %v", dir, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the temporary data directory %s is still there", dir)
	}
}

// TestDemoRefusesUsedData checks the demo will not load into a data
// directory that holds something.
func TestDemoRefusesUsedData(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sharedcare.db"), []byte("x"), 0o600)
	err := demo(t.Context(), demoConfig{addr: "127.0.0.1:0", data: dir, patients: 10, seed: 1, log: newLogger(io.Discard, "warn", "text")}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("demo into a used directory: %v", err)
	}
}

// signIn signs a demo user in with the authorization code flow and PKCE,
// as a SMART app in a browser would (the demo's public app), and returns
// the access token.
func signIn(t testing.TB, issuer, aud, username, password, scope string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(strings.TrimPrefix(issuer, "http://"), "https://")
	host = strings.SplitN(host, "/", 2)[0]
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {"demo-app"}, "redirect_uri": {"http://localhost:8000/"}, "scope": {scope},
		"state": {"s1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "aud": {aud}}
	resp, err := c.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("the sign-in page has no %s field (status %d):\n%.500s", name, resp.StatusCode, page)
		}
		return string(m[1])
	}
	resp, err = c.PostForm(issuer+"/login", url.Values{"id": {field("id")}, "csrf": {field("csrf")}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("sign-in as %s: no code (status %d, location %s)", username, resp.StatusCode, loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://localhost:8000/"}, "client_id": {"demo-app"}, "code_verifier": {verifier}}
	resp, err = http.PostForm(issuer+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token exchange for %s: status %d %v", username, resp.StatusCode, err)
	}
	return tok.AccessToken
}
