package web

import (
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/web/assets"
)

// Config is what a portal needs from the server.
type Config struct {
	Prefix   string // where it is mounted, e.g. /app
	FHIR     *FHIR
	SignIn   *SignIn
	Sessions *Sessions
	Version  string
	Log      *slog.Logger
	Now      func() time.Time
}

// Portal is what every portal is built from: where it is mounted, the
// FHIR API it calls as the user, sign-in, sessions and pages. A portal
// embeds it and adds its pages to Mux.
type Portal struct {
	Prefix   string // e.g. /app
	FHIR     *FHIR
	SignIn   *SignIn
	Sessions *Sessions
	RD       *Renderer
	Log      *slog.Logger
	Now      func() time.Time
	Mux      *http.ServeMux

	csp *http.CrossOriginProtection
}

// NewPortal makes a portal's base from cfg: its pages (each *.html in
// pages defines "content") rendered in the shared layout as app, and the
// routes every portal has (assets, sign-in and out); home serves the
// start page and callback completes sign-in.
func NewPortal(cfg Config, app App, pages fs.FS, funcs template.FuncMap, home, callback http.HandlerFunc) (*Portal, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := strings.TrimSuffix(cfg.Prefix, "/")
	app.Prefix, app.Version = p, cfg.Version
	rd, err := NewRenderer(app, pages, funcs, cfg.Log)
	if err != nil {
		return nil, err
	}
	pt := &Portal{Prefix: p, FHIR: cfg.FHIR, SignIn: cfg.SignIn, Sessions: cfg.Sessions, RD: rd, Log: cfg.Log, Now: cfg.Now,
		Mux: http.NewServeMux(), csp: http.NewCrossOriginProtection()}
	pt.csp.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.Error(w, r, nil, http.StatusForbidden, "This form came from another site", "For your safety the form was not accepted. Go back to the page and try again.", nil)
	}))
	m := pt.Mux
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", assets.Handler()))
	m.HandleFunc("GET "+p+"/{$}", home)
	m.HandleFunc("GET "+p+"/signin", pt.BeginSignIn)
	m.HandleFunc("GET "+p+"/callback", callback)
	m.HandleFunc("POST "+p+"/signout", pt.SignOut)
	m.HandleFunc("GET "+p+"/signed-out", pt.SignedOut)
	m.HandleFunc(p+"/", pt.NotFound)
	return pt, nil
}

// Handler serves the portal, mounted at Prefix + "/": its pages behind
// the security headers, with cross-site posts refused.
func (p *Portal) Handler() http.Handler {
	return Secure(p.csp.Handler(p.Mux))
}

// Handler is a page for a signed-in user.
type Handler func(w http.ResponseWriter, r *http.Request, s *Session)

// BeginSignIn is GET PREFIX/signin: off to the identity provider, and
// back to ?next= (a page of this portal) afterwards.
func (p *Portal) BeginSignIn(w http.ResponseWriter, r *http.Request) {
	next := LocalNext(p.Prefix+"/", r.URL.Query().Get("next"))
	p.SignIn.Begin(w, r, p.Prefix+"/", next, "")
}

// Callback is GET PREFIX/callback: it completes sign-in, starts the
// session, and sends the user where landing says (given the session and
// the sign-in; "" means where they were going).
func (p *Portal) Callback(w http.ResponseWriter, r *http.Request, landing func(*Session, *Signed) string) {
	signed, err := p.SignIn.Finish(w, r, p.Prefix+"/")
	if err != nil {
		if errors.Unwrap(err) != nil {
			p.Log.Warn("portal: sign-in failed", "portal", p.Prefix, "err", err)
		}
		p.RD.Error(w, r, nil, http.StatusBadRequest, "Sign-in did not complete", "The sign-in was cancelled, took too long, or was started in another window. Start again.",
			&Link{Label: "Sign in", Href: p.Prefix + "/signin"})
		return
	}
	s := p.Sessions.Start(w, *signed.User, signed.Tokens, signed.IDToken)
	next := signed.Next
	if landing != nil {
		if l := landing(s, signed); l != "" {
			next = l
		}
	}
	http.Redirect(w, r, next, http.StatusFound)
}

// SignOut is POST PREFIX/signout.
func (p *Portal) SignOut(w http.ResponseWriter, r *http.Request) {
	if s := p.Sessions.Get(r); s != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if !CheckCSRF(s, r) {
			p.RD.Error(w, r, s, http.StatusForbidden, "The form has expired", "Reload the page and sign out again.", nil)
			return
		}
	}
	p.Sessions.End(w, r)
	http.Redirect(w, r, p.Prefix+"/signed-out", http.StatusSeeOther)
}

// SignedOut is the page after signing out.
func (p *Portal) SignedOut(w http.ResponseWriter, r *http.Request) {
	p.RD.Render(w, r, http.StatusOK, "signedout", Page{Title: "Signed out"})
}

// NotFound is the page for any other address under the portal.
func (p *Portal) NotFound(w http.ResponseWriter, r *http.Request) {
	p.RD.Error(w, r, p.Sessions.Get(r), http.StatusNotFound, "Page not found", "There is no page at this address. Check it, or start again from the start page.", nil)
}

// SignedIn runs h for a signed-in user; others are sent to sign in (and
// brought back), or told their session ended if they were posting.
func (p *Portal) SignedIn(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.Sessions.Get(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, p.Prefix+"/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			p.RD.Error(w, r, nil, http.StatusUnauthorized, "Your session has ended", "You were signed out after a time without activity, so what you sent was not saved. Sign in and try again.",
				&Link{Label: "Sign in", Href: p.Prefix + "/signin"})
			return
		}
		h(w, r, s)
	}
}

// Form wraps a handler of a posted form: the body is bounded and parsed,
// and the session's CSRF token checked, before h runs.
func (p *Portal) Form(h Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, s *Session) {
		r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		if err := r.ParseForm(); err != nil {
			p.RD.Error(w, r, s, http.StatusBadRequest, "The form could not be read", "What was sent was too large or malformed. Go back and try again.", nil)
			return
		}
		if !CheckCSRF(s, r) {
			p.RD.Error(w, r, s, http.StatusForbidden, "The form has expired", "For your safety the form was not accepted: it did not come from this session. Go back, reload the page and try again.", nil)
			return
		}
		h(w, r, s)
	}
}

// Token is the user's access token; false (with the page written) when
// the session can no longer get one.
func (p *Portal) Token(w http.ResponseWriter, r *http.Request, s *Session) (string, bool) {
	tok, err := s.Token()
	if err != nil {
		p.APIError(w, r, s, &Error{Status: http.StatusUnauthorized})
		return "", false
	}
	return tok, true
}

// APIError shows what the FHIR API said, in words for people.
func (p *Portal) APIError(w http.ResponseWriter, r *http.Request, s *Session, err error) {
	switch st := StatusOf(err); {
	case st == http.StatusUnauthorized:
		p.Sessions.End(w, r)
		p.RD.Error(w, r, nil, http.StatusUnauthorized, "Your session has ended", "Sign in again to carry on.", &Link{Label: "Sign in", Href: p.Prefix + "/signin"})
	case st == http.StatusForbidden:
		p.RD.Error(w, r, s, http.StatusForbidden, "You do not have access", APIMessage(err), nil)
	case st == http.StatusNotFound || st == http.StatusGone:
		p.RD.Error(w, r, s, http.StatusNotFound, "Not found", "The record asked for does not exist, or has been removed.", nil)
	case st >= 400 && st < 500:
		p.RD.Error(w, r, s, http.StatusBadRequest, "That could not be done", APIMessage(err), nil)
	default:
		p.Log.Error("portal: FHIR API", "portal", p.Prefix, "err", err, "path", r.URL.Path)
		p.RD.Error(w, r, s, http.StatusBadGateway, "Something went wrong", "The record could not be reached just now. Please try again in a moment.", nil)
	}
}

// APIMessage is the API's reason as a sentence.
func APIMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Msg != "" {
		m := e.Msg
		return strings.ToUpper(m[:1]) + m[1:] + "."
	}
	return "The request was refused."
}

// ValidID reports whether s can be a FHIR resource id (the path segments
// the portals accept).
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
