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
	web.Portal
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
	a := &App{Portal: web.Portal{Prefix: p, FHIR: cfg.FHIR, SignIn: cfg.SignIn, Sessions: cfg.Sessions, RD: rd, Log: cfg.Log, Now: cfg.Now},
		mux: http.NewServeMux(), csp: http.NewCrossOriginProtection()}
	a.csp.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.RD.Error(w, r, nil, http.StatusForbidden, "This form came from another site", "For your safety the form was not accepted. Go back to the page and try again.", nil)
	}))
	m := a.mux
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", assets.Handler()))
	m.HandleFunc("GET "+p+"/{$}", a.home)
	m.HandleFunc("GET "+p+"/signin", a.BeginSignIn)
	m.HandleFunc("GET "+p+"/callback", a.callback)
	m.HandleFunc("POST "+p+"/signout", a.SignOut)
	m.HandleFunc("GET "+p+"/signed-out", a.SignedOut)
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
	m.HandleFunc("GET "+p+"/privacy/break-glass", a.SignedIn(a.reviewQueue))
	m.HandleFunc("POST "+p+"/privacy/break-glass/{task}", a.SignedIn(a.Form(a.review)))
	m.HandleFunc("GET "+p+"/privacy/audit", a.SignedIn(a.auditSearch))
	m.HandleFunc(p+"/", a.NotFound)
	return a, nil
}

// Handler serves the portal: mount it at Prefix + "/".
func (a *App) Handler() http.Handler {
	return web.Secure(a.csp.Handler(a.mux))
}

// staff runs h for professionals who see people's records.
func (a *App) staff(h web.Handler) http.HandlerFunc {
	return a.SignedIn(func(w http.ResponseWriter, r *http.Request, s *web.Session) {
		if s.User.Kind != access.User || !(s.User.Role.Clinical() || s.User.Role == access.RoleSocialWorker) {
			a.RD.Error(w, r, s, http.StatusForbidden, "This page is not for your role",
				"Finding people and reading their records is for health and care professionals. Your role ("+web.RoleName(s.User.Role)+") does not include it.", nil)
			return
		}
		h(w, r, s)
	})
}

// form runs h for a posted form from a professional, CSRF checked.
func (a *App) form(h web.Handler) http.HandlerFunc { return a.staff(a.Form(h)) }

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
