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
	"net/http"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the portal needs from the server.
type Config = web.Config

// App is the portal.
type App struct {
	*web.Portal
}

// New parses the templates and routes the pages.
func New(cfg Config) (*App, error) {
	staff := []access.Role{access.RoleGP, access.RoleConsultant, access.RoleNurse, access.RoleDistrictNurse,
		access.RolePharmacist, access.RoleSocialWorker, access.RoleCareHomeNurse}
	app := web.App{Name: "Shared care record", Nav: []web.NavItem{
		{Label: "Find a person", Path: "/search", Roles: staff},
		{Label: "Alerts", Path: "/inbox", Roles: staff},
		{Label: "Break-glass reviews", Path: "/privacy/break-glass", Roles: []access.Role{access.RolePrivacyOfficer}},
		{Label: "Audit search", Path: "/privacy/audit", Roles: []access.Role{access.RolePrivacyOfficer}},
	}}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	a := &App{}
	a.Portal, err = web.NewPortal(cfg, app, sub, funcs(), a.home, a.callback)
	if err != nil {
		return nil, err
	}
	m, p := a.Mux, a.Prefix
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
	return a, nil
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
