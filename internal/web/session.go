// Package web is what the portals (internal/web/clinician, and the
// patient portal after it) share: browser sessions, sign-in through the
// platform's identity provider, the FHIR client through which they read
// and write, CSRF protection, and the page layout and error pages.
//
// The portals are applications on top of the data layer, like any other
// client: they hold the signed-in user's access token and call the same
// FHIR API, where the same access decision and audit apply. Nothing here
// reads the store.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/sharedcare/sharedcare/internal/access"
)

// Session is one signed-in browser.
type Session struct {
	ID   string
	CSRF string // the form token, bound to this session
	// User is who signed in, as the FHIR API's verifier reads their
	// token; OrgName is their organisation's name for the banner.
	User    access.Principal
	OrgName string
	// Patient is the launch context of an EHR launch ("" when none).
	Patient string

	mu      sync.Mutex
	tokens  oauth2.TokenSource
	idToken string
	created time.Time
	seen    time.Time
	flash   string
}

// Flash keeps a one-line message for the next page (after a redirect).
func (s *Session) Flash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

// TakeFlash returns and forgets the message.
func (s *Session) TakeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.flash
	s.flash = ""
	return m
}

// Token is the user's current access token, refreshed when it expires.
func (s *Session) Token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tokens.Token()
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Sessions keeps sessions in memory: a restart signs everyone out, which
// for a portal in front of a clinical record is a safe default. Sessions
// end after Idle without a request or Max after sign-in, whichever is
// first.
type Sessions struct {
	Cookie string // the cookie's name
	Path   string // the cookie's path: the portal's prefix
	Secure bool   // send the cookie over HTTPS only
	Idle   time.Duration
	Max    time.Duration

	mu   sync.Mutex
	byID map[string]*Session
	now  func() time.Time
}

// NewSessions returns a store for cookie name under path.
func NewSessions(cookie, path string, secure bool) *Sessions {
	return &Sessions{Cookie: cookie, Path: path, Secure: secure, Idle: 30 * time.Minute, Max: 12 * time.Hour,
		byID: map[string]*Session{}, now: time.Now}
}

// Get returns the request's session, or nil when it has none or it has
// expired.
func (ss *Sessions) Get(r *http.Request) *Session {
	c, err := r.Cookie(ss.Cookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[c.Value]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.Sub(s.seen) > ss.Idle || now.Sub(s.created) > ss.Max {
		delete(ss.byID, s.ID)
		return nil
	}
	s.seen = now
	return s
}

// Start makes a session for a user who has just signed in and sets its
// cookie. A new id each time: a session id known before sign-in is never
// reused after it (session fixation).
func (ss *Sessions) Start(w http.ResponseWriter, user access.Principal, tokens oauth2.TokenSource, idToken string) *Session {
	now := ss.now()
	s := &Session{ID: RandomToken(), CSRF: RandomToken(), User: user, tokens: tokens, idToken: idToken, created: now, seen: now}
	ss.mu.Lock()
	for id, o := range ss.byID {
		if now.Sub(o.seen) > ss.Idle || now.Sub(o.created) > ss.Max {
			delete(ss.byID, id)
		}
	}
	ss.byID[s.ID] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: ss.Cookie, Value: s.ID, Path: ss.Path, HttpOnly: true, Secure: ss.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(ss.Max / time.Second)})
	return s
}

// End forgets the request's session and clears its cookie.
func (ss *Sessions) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(ss.Cookie); err == nil {
		ss.mu.Lock()
		delete(ss.byID, c.Value)
		ss.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: ss.Cookie, Value: "", Path: ss.Path, HttpOnly: true, Secure: ss.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// CheckCSRF reports whether a form posted in session s carries its token.
// Cross-origin posts are refused before this (http.CrossOriginProtection);
// the token also stops a same-site page that is not ours.
func CheckCSRF(s *Session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return s != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// RandomToken is 256 random bits, URL-safe.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
