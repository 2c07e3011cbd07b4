package clinician

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := a.cfg.Sessions.Get(r)
	if s == nil {
		a.rd.Render(w, r, http.StatusOK, "start", web.Page{Title: "Sign in"})
		return
	}
	switch {
	case s.User.Role == access.RolePrivacyOfficer:
		http.Redirect(w, r, a.cfg.Prefix+"/privacy/break-glass", http.StatusFound)
	case s.User.Kind == access.User && (s.User.Role.Clinical() || s.User.Role == access.RoleSocialWorker):
		http.Redirect(w, r, a.cfg.Prefix+"/search", http.StatusFound)
	default:
		// Administrators, analysts and patients have no use for this
		// portal: say so rather than fail on every page.
		a.rd.Render(w, r, http.StatusOK, "elsewhere", web.Page{Title: "Nothing here for your role", Session: s})
	}
}

func (a *App) signin(w http.ResponseWriter, r *http.Request) {
	next := web.LocalNext(a.cfg.Prefix+"/", r.URL.Query().Get("next"))
	a.cfg.SignIn.Begin(w, r, a.cfg.Prefix+"/", next, "")
}

// launch is the SMART EHR launch: a local EPR made a launch on a patient
// (POST /auth/launch) and opens the portal with it; the user signs in and
// lands on that person's record.
func (a *App) launch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("launch")
	if id == "" || len(id) > 200 {
		a.rd.Error(w, r, nil, http.StatusBadRequest, "The launch link is not complete", "The system that opened this page did not say which person to open. Open the person from your system again, or find them here.",
			&web.Link{Label: "Find a person", Href: a.cfg.Prefix + "/search"})
		return
	}
	if iss := q.Get("iss"); iss != "" && strings.TrimSuffix(iss, "/") != strings.TrimSuffix(a.cfg.FHIR.Base, "/") {
		a.rd.Error(w, r, nil, http.StatusBadRequest, "The launch is for another record system", "This portal shows the shared care record at "+a.cfg.FHIR.Base+"; the link named another server.", nil)
		return
	}
	a.cfg.SignIn.Begin(w, r, a.cfg.Prefix+"/", a.cfg.Prefix+"/", id)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	signed, err := a.cfg.SignIn.Finish(w, r, a.cfg.Prefix+"/")
	if err != nil {
		if !errors.Is(err, web.ErrSignIn) || errors.Unwrap(err) != nil {
			a.cfg.Log.Warn("clinician portal: sign-in failed", "err", err)
		}
		a.rd.Error(w, r, nil, http.StatusBadRequest, "Sign-in did not complete", "The sign-in was cancelled, took too long, or was started in another window. Start again.",
			&web.Link{Label: "Sign in", Href: a.cfg.Prefix + "/signin"})
		return
	}
	s := a.cfg.Sessions.Start(w, *signed.User, signed.Tokens, signed.IDToken)
	s.OrgName = a.orgName(r, s)
	next := signed.Next
	if signed.Patient != "" && validID(signed.Patient) {
		s.Patient = signed.Patient
		next = a.cfg.Prefix + "/patient/" + signed.Patient
	}
	http.Redirect(w, r, next, http.StatusFound)
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
	b, err := a.cfg.FHIR.Search(r.Context(), tok, "Organization", url.Values{"identifier": {odsSystem + "|" + s.User.Org}, "_count": {"1"}})
	if err != nil || len(b.Entries) == 0 {
		return ""
	}
	return nameOf(b.Entries[0])
}

func (a *App) signout(w http.ResponseWriter, r *http.Request) {
	s := a.cfg.Sessions.Get(r)
	if s != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if !web.CheckCSRF(s, r) {
			a.rd.Error(w, r, s, http.StatusForbidden, "The form has expired", "Reload the page and sign out again.", nil)
			return
		}
	}
	a.cfg.Sessions.End(w, r)
	http.Redirect(w, r, a.cfg.Prefix+"/signed-out", http.StatusSeeOther)
}

func (a *App) signedOut(w http.ResponseWriter, r *http.Request) {
	a.rd.Render(w, r, http.StatusOK, "signedout", web.Page{Title: "Signed out"})
}
