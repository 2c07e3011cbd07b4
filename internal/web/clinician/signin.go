package clinician

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := a.Sessions.Get(r)
	if s == nil {
		a.RD.Render(w, r, http.StatusOK, "start", web.Page{Title: "Sign in"})
		return
	}
	switch {
	case s.User.Role == access.RolePrivacyOfficer:
		http.Redirect(w, r, a.Prefix+"/privacy/break-glass", http.StatusFound)
	case s.User.Kind == access.User && (s.User.Role.Clinical() || s.User.Role == access.RoleSocialWorker):
		http.Redirect(w, r, a.Prefix+"/search", http.StatusFound)
	default:
		// Administrators, analysts and patients have no use for this
		// portal: say so rather than fail on every page.
		a.RD.Render(w, r, http.StatusOK, "elsewhere", web.Page{Title: "Nothing here for your role", Session: s})
	}
}

// launch is the SMART EHR launch: a local EPR made a launch on a patient
// (POST /auth/launch) and opens the portal with it; the user signs in and
// lands on that person's record.
func (a *App) launch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("launch")
	if id == "" || len(id) > 200 {
		a.RD.Error(w, r, nil, http.StatusBadRequest, "The launch link is not complete", "The system that opened this page did not say which person to open. Open the person from your system again, or find them here.",
			&web.Link{Label: "Find a person", Href: a.Prefix + "/search"})
		return
	}
	if iss := q.Get("iss"); iss != "" && strings.TrimSuffix(iss, "/") != strings.TrimSuffix(a.FHIR.Base, "/") {
		a.RD.Error(w, r, nil, http.StatusBadRequest, "The launch is for another record system", "This portal shows the shared care record at "+a.FHIR.Base+"; the link named another server.", nil)
		return
	}
	a.SignIn.Begin(w, r, a.Prefix+"/", a.Prefix+"/", id)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	a.Callback(w, r, func(s *web.Session, signed *web.Signed) string {
		s.OrgName = a.orgName(r, s)
		if signed.Patient != "" && web.ValidID(signed.Patient) {
			s.Patient = signed.Patient
			return a.Prefix + "/patient/" + signed.Patient
		}
		return ""
	})
}

// orgName looks the user's organisation up in the directory, for the
// banner.
func (a *App) orgName(r *http.Request, s *web.Session) string {
	if s.User.Org == "" {
		return ""
	}
	tok, err := s.Token()
	if err != nil {
		return ""
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Organization", url.Values{"identifier": {odsSystem + "|" + s.User.Org}, "_count": {"1"}})
	if err != nil || len(b.Entries) == 0 {
		return ""
	}
	return nameOf(b.Entries[0])
}
