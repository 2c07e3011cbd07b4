// Package patient is the patient portal: a person signs in and reads
// their own record in plain language, reads their letters, sets goals and
// records readings, decides who their record is shared with, shares parts
// of it with a professional for a time, sees who has looked at it (and
// queries what they do not recognise), and reports an error in an item.
// A parent or carer with proxy access does the same for the person they
// act for, within the rights the delegation grants.
//
// Like the clinician portal it is a client of the FHIR API and nothing
// more: the user's own token decides what it may read and write, in the
// same access policy and audit as every other client.
package patient

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/mpi"
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
	app := web.App{Name: "My health record", Nav: []web.NavItem{
		{Label: "My record", Path: "/record"},
		{Label: "Letters", Path: "/letters"},
		{Label: "Goals and readings", Path: "/readings"},
		{Label: "Sharing", Path: "/sharing"},
		{Label: "Who has looked", Path: "/access"},
	}}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	a := &App{}
	a.Portal, err = web.NewPortal(cfg, app, sub, template.FuncMap{"join": strings.Join}, a.home, a.callback)
	if err != nil {
		return nil, err
	}
	m, p := a.Mux, a.Prefix
	m.HandleFunc("POST "+p+"/switch", a.SignedIn(a.Form(a.switchPerson)))
	m.HandleFunc("GET "+p+"/record", a.person(a.record))
	m.HandleFunc("GET "+p+"/report", a.person(a.reportForm))
	m.HandleFunc("POST "+p+"/report", a.person(a.Form(a.report)))
	m.HandleFunc("GET "+p+"/letters", a.person(a.letters))
	m.HandleFunc("GET "+p+"/letters/{doc}", a.person(a.letter))
	m.HandleFunc("GET "+p+"/readings", a.person(a.readings))
	m.HandleFunc("POST "+p+"/readings", a.person(a.Form(a.addReading)))
	m.HandleFunc("POST "+p+"/goals", a.person(a.Form(a.addGoal)))
	m.HandleFunc("GET "+p+"/sharing", a.person(a.sharing))
	m.HandleFunc("POST "+p+"/sharing", a.person(a.Form(a.setSharing)))
	m.HandleFunc("POST "+p+"/sharing/opt-out", a.person(a.Form(a.setOptOut)))
	m.HandleFunc("POST "+p+"/shares", a.person(a.Form(a.addShare)))
	m.HandleFunc("POST "+p+"/shares/{id}/revoke", a.person(a.Form(a.revokeShare)))
	m.HandleFunc("GET "+p+"/access", a.person(a.looked))
	m.HandleFunc("POST "+p+"/access/query", a.person(a.Form(a.queryAccess)))
	return a, nil
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := a.Sessions.Get(r)
	if s == nil {
		a.RD.Render(w, r, http.StatusOK, "start", web.Page{Title: "Sign in"})
		return
	}
	if whose(s) == "" {
		a.RD.Render(w, r, http.StatusOK, "elsewhere", web.Page{Title: "This portal is for patients", Session: s})
		return
	}
	http.Redirect(w, r, a.Prefix+"/record", http.StatusFound)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	a.Callback(w, r, func(s *web.Session, _ *web.Signed) string {
		if s.User.Kind == access.PatientUser && s.User.NHSNumber != "" && whose(s) == "" {
			// Signed in by NHS number (NHS login): the API finds the
			// person's own records by it; the portal opens one of them.
			s.Patient = a.byNHSNumber(r, s)
		}
		s.Patient = whose(s)
		if s.Patient != "" {
			s.OrgName = a.actingFor(r, s)
		}
		return ""
	})
}

// switchPerson changes whose record the session shows: the session ends
// and sign-in starts again, where the identity provider asks whose record
// (their own, or of someone they act for) the new session is for.
func (a *App) switchPerson(w http.ResponseWriter, r *http.Request, _ *web.Session) {
	a.Sessions.End(w, r)
	a.SignIn.Begin(w, r, a.Prefix+"/", a.Prefix+"/record", "")
}

// whose is the Patient the signed-in person acts for: their own record,
// or, for a parent or carer with proxy access, the person's they act for
// (the token's patient context).
func whose(s *web.Session) string {
	if s.User.Kind != access.PatientUser {
		return ""
	}
	if id, ok := strings.CutPrefix(s.User.FHIRUser, "Patient/"); ok && web.ValidID(id) {
		return id
	}
	if web.ValidID(s.User.Patient) {
		return s.User.Patient
	}
	if s.User.NHSNumber != "" && web.ValidID(s.Patient) {
		return s.Patient // found by NHS number at sign-in
	}
	return ""
}

// byNHSNumber finds the signed-in person's record by their NHS number,
// as the API lets them: their registered practice's, else the first.
func (a *App) byNHSNumber(r *http.Request, s *web.Session) string {
	tok, err := s.Token()
	if err != nil {
		return ""
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Patient", url.Values{"identifier": {mpi.NHSNumberSystem + "|" + s.User.NHSNumber}, "_count": {"20"}})
	if err != nil {
		a.Log.Warn("patient portal: no record for the NHS number signed in with", "err", err)
		return ""
	}
	first := ""
	for _, raw := range b.Entries {
		var p struct {
			ResourceType, ID    string
			GeneralPractitioner []any
		}
		if json.Unmarshal(raw, &p) != nil || p.ResourceType != "Patient" {
			continue
		}
		if len(p.GeneralPractitioner) > 0 {
			return p.ID
		}
		if first == "" {
			first = p.ID
		}
	}
	return first
}

// delegate reports whether the user acts for someone else.
func delegate(s *web.Session) bool { return strings.HasPrefix(s.User.FHIRUser, "RelatedPerson/") }

// actingFor is what the header says beside the user's name: whose record
// this is when it is not their own.
func (a *App) actingFor(r *http.Request, s *web.Session) string {
	if !delegate(s) {
		return ""
	}
	tok, err := s.Token()
	if err != nil {
		return ""
	}
	var p struct {
		Name []struct {
			Given  []string
			Family string
		}
	}
	if a.FHIR.Do(r.Context(), tok, http.MethodGet, "Patient/"+s.Patient, nil, nil, &p) != nil || len(p.Name) == 0 {
		return "acting for someone else"
	}
	return "acting for " + strings.TrimSpace(strings.Join(p.Name[0].Given, " ")+" "+p.Name[0].Family)
}

// person runs h for a signed-in patient or delegate; professionals are
// told this portal is not theirs.
func (a *App) person(h web.Handler) http.HandlerFunc {
	return a.SignedIn(func(w http.ResponseWriter, r *http.Request, s *web.Session) {
		if whose(s) == "" {
			a.RD.Render(w, r, http.StatusForbidden, "elsewhere", web.Page{Title: "This portal is for patients", Session: s})
			return
		}
		s.Patient = whose(s)
		h(w, r, s)
	})
}

// post writes res with the user's token and sends them back to back with
// done as the message; an invalid resource comes back as the problem.
func (a *App) post(w http.ResponseWriter, r *http.Request, s *web.Session, method, path string, res any, back, done string) bool {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return false
	}
	if err := a.FHIR.Do(r.Context(), tok, method, path, nil, res, nil); err != nil {
		a.APIError(w, r, s, err)
		return false
	}
	s.Flash(done)
	http.Redirect(w, r, a.Prefix+back, http.StatusSeeOther)
	return true
}
