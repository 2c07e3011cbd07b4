// Package clinician is the clinician portal: a professional signs in,
// finds a person and sees their whole shared record, from every
// organisation, in one view; adds to it; breaks glass when they must; and
// reads their organisation's alerts. A privacy officer reviews break-glass
// events and searches the audit log here too.
//
// It is an application on top of the data layer and nothing more: every
// read and write goes through the FHIR API with the signed-in user's own
// token (internal/web), so the API's access decision and audit apply to
// the portal exactly as to any other client.
package clinician

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/assets"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the portal needs from the server.
type Config struct {
	Prefix   string // where it is mounted, e.g. /app
	FHIR     *web.FHIR
	SignIn   *web.SignIn
	Sessions *web.Sessions
	Version  string
	Log      *slog.Logger
	Now      func() time.Time
}

// App is the portal.
type App struct {
	cfg Config
	rd  *web.Renderer
	mux *http.ServeMux
	csp *http.CrossOriginProtection
}

// New parses the templates and routes the pages.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := strings.TrimSuffix(cfg.Prefix, "/")
	cfg.Prefix = p
	staff := []access.Role{access.RoleGP, access.RoleConsultant, access.RoleNurse, access.RoleDistrictNurse,
		access.RolePharmacist, access.RoleSocialWorker, access.RoleCareHomeNurse}
	app := web.App{Name: "Shared care record", Prefix: p, Version: cfg.Version, Nav: []web.NavItem{
		{Label: "Find a person", Path: "/search", Roles: staff},
		{Label: "Alerts", Path: "/inbox", Roles: staff},
		{Label: "Break-glass reviews", Path: "/privacy/break-glass", Roles: []access.Role{access.RolePrivacyOfficer}},
		{Label: "Audit search", Path: "/privacy/audit", Roles: []access.Role{access.RolePrivacyOfficer}},
	}}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	rd, err := web.NewRenderer(app, sub, funcs(), cfg.Log)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, rd: rd, mux: http.NewServeMux(), csp: http.NewCrossOriginProtection()}
	a.csp.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.rd.Error(w, r, nil, http.StatusForbidden, "This form came from another site", "For your safety the form was not accepted. Go back to the page and try again.", nil)
	}))
	m := a.mux
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", assets.Handler()))
	m.HandleFunc("GET "+p+"/{$}", a.home)
	m.HandleFunc("GET "+p+"/signin", a.signin)
	m.HandleFunc("GET "+p+"/callback", a.callback)
	m.HandleFunc("POST "+p+"/signout", a.signout)
	m.HandleFunc("GET "+p+"/signed-out", a.signedOut)
	m.HandleFunc("GET "+p+"/launch", a.launch)
	m.HandleFunc("GET "+p+"/search", a.staff(a.search))
	m.HandleFunc("GET "+p+"/patient/{id}", a.staff(a.patient))
	m.HandleFunc("GET "+p+"/patient/{id}/document/{doc}", a.staff(a.document))
	m.HandleFunc("POST "+p+"/patient/{id}/break-glass", a.form(a.breakGlass))
	m.HandleFunc("POST "+p+"/patient/{id}/note", a.form(a.addNote))
	m.HandleFunc("POST "+p+"/patient/{id}/observation", a.form(a.addObservation))
	m.HandleFunc("POST "+p+"/patient/{id}/careplan", a.form(a.saveCarePlan))
	m.HandleFunc("POST "+p+"/patient/{id}/flag", a.form(a.addFlag))
	m.HandleFunc("GET "+p+"/inbox", a.staff(a.inbox))
	m.HandleFunc("GET "+p+"/privacy/break-glass", a.signedIn(a.reviewQueue))
	m.HandleFunc("POST "+p+"/privacy/break-glass/{task}", a.signedIn(a.review))
	m.HandleFunc("GET "+p+"/privacy/audit", a.signedIn(a.auditSearch))
	m.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		a.rd.Error(w, r, a.cfg.Sessions.Get(r), http.StatusNotFound, "Page not found", "There is no page at this address. Check it, or start again from the start page.", nil)
	})
	return a, nil
}

// Handler serves the portal: mount it at Prefix + "/".
func (a *App) Handler() http.Handler {
	return web.Secure(a.csp.Handler(a.mux))
}

type handler func(w http.ResponseWriter, r *http.Request, s *web.Session)

// signedIn runs h for a signed-in user; others are sent to sign in and
// brought back.
func (a *App) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := a.cfg.Sessions.Get(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, a.cfg.Prefix+"/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			a.rd.Error(w, r, nil, http.StatusUnauthorized, "Your session has ended", "You were signed out after a time without activity, so what you sent was not saved. Sign in and try again.",
				&web.Link{Label: "Sign in", Href: a.cfg.Prefix + "/signin"})
			return
		}
		h(w, r, s)
	}
}

// staff runs h for professionals who see people's records.
func (a *App) staff(h handler) http.HandlerFunc {
	return a.signedIn(func(w http.ResponseWriter, r *http.Request, s *web.Session) {
		if s.User.Kind != access.User || !(s.User.Role.Clinical() || s.User.Role == access.RoleSocialWorker) {
			a.rd.Error(w, r, s, http.StatusForbidden, "This page is not for your role",
				"Finding people and reading their records is for health and care professionals. Your role ("+web.RoleName(s.User.Role)+") does not include it.", nil)
			return
		}
		h(w, r, s)
	})
}

// form runs h for a posted form from a professional: the session's CSRF
// token is checked first.
func (a *App) form(h handler) http.HandlerFunc {
	return a.staff(func(w http.ResponseWriter, r *http.Request, s *web.Session) {
		r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		if err := r.ParseForm(); err != nil {
			a.rd.Error(w, r, s, http.StatusBadRequest, "The form could not be read", "What was sent was too large or malformed. Go back and try again.", nil)
			return
		}
		if !web.CheckCSRF(s, r) {
			a.rd.Error(w, r, s, http.StatusForbidden, "The form has expired", "For your safety the form was not accepted: it did not come from this session. Go back, reload the page and try again.", nil)
			return
		}
		h(w, r, s)
	})
}

// apiError shows what the FHIR API said, in words for people.
func (a *App) apiError(w http.ResponseWriter, r *http.Request, s *web.Session, err error) {
	switch st := web.StatusOf(err); {
	case st == http.StatusUnauthorized:
		a.cfg.Sessions.End(w, r)
		a.rd.Error(w, r, nil, http.StatusUnauthorized, "Your session has ended", "Sign in again to carry on.", &web.Link{Label: "Sign in", Href: a.cfg.Prefix + "/signin"})
	case st == http.StatusForbidden:
		a.rd.Error(w, r, s, http.StatusForbidden, "You do not have access", apiMessage(err), nil)
	case st == http.StatusNotFound || st == http.StatusGone:
		a.rd.Error(w, r, s, http.StatusNotFound, "Not found", "The record asked for does not exist, or has been removed.", nil)
	case st >= 400 && st < 500:
		a.rd.Error(w, r, s, http.StatusBadRequest, "That could not be done", apiMessage(err), nil)
	default:
		a.cfg.Log.Error("clinician portal: FHIR API", "err", err, "path", r.URL.Path)
		a.rd.Error(w, r, s, http.StatusBadGateway, "Something went wrong", "The record could not be reached just now. Please try again in a moment.", nil)
	}
}

func apiMessage(err error) string {
	var e *web.Error
	if errors.As(err, &e) && e.Msg != "" {
		m := e.Msg
		return strings.ToUpper(m[:1]) + m[1:] + "."
	}
	return "The request was refused."
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"nhs":          formatNHS,
		"join":         strings.Join,
		"lower":        strings.ToLower,
		"reasons":      func() []breakGlassReason { return breakGlassReasons },
		"hasPrefix":    strings.HasPrefix,
		"trimPrefix":   strings.TrimPrefix,
		"docID":        docID,
		"planStatuses": func() []string { return []string{"active", "on-hold", "completed", "revoked"} },
	}
}
