package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sharedcare/sharedcare/internal/access"
)

func TestLocalNext(t *testing.T) {
	for _, c := range []struct{ next, want string }{
		{"/app/patient/1", "/app/patient/1"},
		{"/app/search?nhs=1", "/app/search?nhs=1"},
		{"", "/app/"},
		{"https://evil.example/app/", "/app/"},
		{"//evil.example/app/", "/app/"},
		{"/app/\\evil", "/app/"},
		{"/app/x\r\nSet-Cookie: a=b", "/app/"},
		{"/other", "/app/"},
	} {
		if got := LocalNext("/app/", c.next); got != c.want {
			t.Errorf("LocalNext(%q) = %q, want %q", c.next, got, c.want)
		}
	}
}

func TestSessions(t *testing.T) {
	ss := NewSessions("sc", "/app/", false)
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	ss.now = func() time.Time { return now }
	w := httptest.NewRecorder()
	s := ss.Start(w, access.Principal{Name: "Dr A"}, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}), "")
	cookie := w.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/app/" {
		t.Errorf("cookie %+v", cookie)
	}
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/app/", nil)
		r.AddCookie(cookie)
		return r
	}
	for _, c := range []struct {
		after time.Duration
		live  bool
	}{{29 * time.Minute, true}, {29 * time.Minute, true}, {31 * time.Minute, false}} {
		now = now.Add(c.after)
		if got := ss.Get(req()) != nil; got != c.live {
			t.Errorf("after a further %v idle: live %v, want %v", c.after, got, c.live)
		}
	}
	// The absolute limit holds however active the session is.
	s = ss.Start(httptest.NewRecorder(), access.Principal{}, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}), "")
	cookie = &http.Cookie{Name: "sc", Value: s.ID}
	for range 12*4 + 1 {
		now = now.Add(15 * time.Minute)
		ss.Get(req())
	}
	if ss.Get(req()) != nil {
		t.Errorf("a session outlived its 12 hours")
	}
	if ss.Get(httptest.NewRequest("GET", "/app/", nil)) != nil {
		t.Errorf("no cookie, yet a session")
	}
}

func TestCheckCSRF(t *testing.T) {
	s := &Session{CSRF: "token"}
	for _, c := range []struct {
		form   string
		header string
		ok     bool
	}{{"csrf=token", "", true}, {"", "token", true}, {"csrf=other", "", false}, {"", "", false}, {"csrf=", "", false}} {
		r := httptest.NewRequest("POST", "/app/x", strings.NewReader(c.form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.header != "" {
			r.Header.Set("X-CSRF-Token", c.header)
		}
		if got := CheckCSRF(s, r); got != c.ok {
			t.Errorf("form %q header %q: %v, want %v", c.form, c.header, got, c.ok)
		}
	}
	if CheckCSRF(nil, httptest.NewRequest("POST", "/", strings.NewReader(url.Values{"csrf": {""}}.Encode()))) {
		t.Errorf("no session, yet the token passed")
	}
}

func TestOutcomeText(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"access refused"},{"details":{"text":"second"}}]}`, "access refused; second"},
		{`{"resourceType":"Patient"}`, `{"resourceType":"Patient"}`},
		{`not json`, "not json"},
	} {
		if got := outcomeText([]byte(c.raw)); got != c.want {
			t.Errorf("outcomeText(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}
