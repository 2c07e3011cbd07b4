package idp

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// maxForm bounds a sign-in form: a username, a password, two tokens.
const maxForm = 16 << 10

// page is what the sign-in templates show.
type page struct {
	Title, Action, ID, CSRF, Client, Error string
	Username, Patient                      string
	Demo                                   bool
	DemoPassword                           string
	DemoUsers                              []User
	Choices                                []choice // the "whose record" page's
}

// choice is one record a user acting for others may open: the value
// posted is the Patient id.
type choice struct {
	Patient, Label string
	Own            bool
}

func (p *Provider) render(w http.ResponseWriter, status int, name string, d page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, d); err != nil {
		p.cfg.Log.Error("idp: render", "page", name, "err", err)
	}
}

func (p *Provider) message(w http.ResponseWriter, status int, title, msg string) {
	p.render(w, status, "message", page{Title: title, Error: msg})
}

// csrfCookie names the cookie binding one sign-in to the browser that
// started it: the form's token must match both the auth request's and
// the cookie's, so a form posted from another site, or from a browser
// that did not load the page, is refused.
func csrfCookie(id string) string { return "sc_idp_" + id }

func (p *Provider) setCSRFCookie(w http.ResponseWriter, a *authRequest) {
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie(a.id), Value: a.csrf, Path: p.cfg.issuerPath() + "/login",
		MaxAge: int(authRequestTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(p.cfg.Issuer, "https://"),
	})
}

// checkCSRF reports whether the posted form belongs to auth request a
// and this browser.
func checkCSRF(r *http.Request, a *authRequest) bool {
	c, err := r.Cookie(csrfCookie(a.id))
	form := r.PostFormValue("csrf")
	return err == nil && form != "" &&
		subtle.ConstantTimeCompare([]byte(form), []byte(a.csrf)) == 1 &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.csrf)) == 1
}

func (p *Provider) clientName(r *http.Request, id string) string {
	if c, err := p.store.Client(r.Context(), id); err == nil {
		return c.Name
	}
	return "An application"
}

func (p *Provider) loginForm(r *http.Request, a *authRequest) page {
	d := page{Title: "Sign in", Action: p.cfg.issuerPath() + "/login", ID: a.id, CSRF: a.csrf, Client: p.clientName(r, a.clientID)}
	if p.cfg.Demo {
		d.Demo, d.DemoPassword = true, p.cfg.DemoPassword
		users, err := p.store.Users(r.Context())
		if err == nil {
			d.DemoUsers = slices.DeleteFunc(users, func(u User) bool { return u.Disabled })
		}
	}
	return d
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	a, err := p.st.authRequest(r.Context(), r.URL.Query().Get("id"))
	if err != nil || a.done {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	if a.userID != "" {
		http.Redirect(w, r, p.cfg.issuerPath()+"/login/patient?id="+a.id, http.StatusSeeOther)
		return
	}
	p.setCSRFCookie(w, a)
	p.render(w, http.StatusOK, "login", p.loginForm(r, a))
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.message(w, http.StatusBadRequest, "Sign-in failed", "The form could not be read.")
		return
	}
	a, err := p.st.authRequest(r.Context(), r.PostFormValue("id"))
	if err != nil || a.done || a.userID != "" {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	if !checkCSRF(r, a) {
		p.message(w, http.StatusForbidden, "Sign-in refused", "This form was not sent from the sign-in page, or the page has expired. Go back to the application and start again.")
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	u, err := p.store.authenticate(r.Context(), username, r.PostFormValue("password"))
	if err != nil {
		d := p.loginForm(r, a)
		d.Username = username
		switch {
		case errors.Is(err, errBadCredentials):
			d.Error = "The username or password is not right. Check them and try again."
		case errors.Is(err, errDisabled):
			d.Error = "This account has been disabled. Ask your administrator."
		default:
			p.cfg.Log.Error("idp: sign-in", "err", err)
			d.Error = "Sign-in is not working at the moment. Try again later."
		}
		p.cfg.Log.Info("idp: sign-in refused", "username", username, "client", a.clientID, "reason", err.Error())
		p.render(w, http.StatusUnauthorized, "login", d)
		return
	}
	patientUser := u.Role == access.RolePatient
	scopes := narrowForUser(a.scopes, patientUser)
	launchContext := a.launchPatient != "" || slices.Contains(scopes, "launch/patient")
	var patient string
	switch {
	case !launchContext:
	case patientUser && len(u.ActsFor) > 0:
		// One who acts for others chooses whose record next; an EHR
		// launch's patient is ignored, as below.
	case patientUser:
		// A patient's context is always their own record, whatever an
		// EHR launch named.
		patient = u.Patient
	case a.launchPatient != "":
		patient = a.launchPatient
	}
	done := !launchContext || patient != ""
	if err := p.st.completeSignIn(r.Context(), a, u, scopes, patient, done); err != nil {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	p.cfg.Log.Info("idp: signed in", "user", u.Username, "role", u.Role, "client", a.clientID)
	if !done {
		http.Redirect(w, r, p.cfg.issuerPath()+"/login/patient?id="+a.id, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, p.callbackURL(a.id), http.StatusSeeOther)
}

// callbackURL is zitadel's authorize callback, which issues the code.
func (p *Provider) callbackURL(id string) string {
	return p.cfg.issuerPath() + "/authorize/callback?id=" + id
}

// pendingPatient is an auth request signed in and waiting for a patient.
func (p *Provider) pendingPatient(r *http.Request, id string) (*authRequest, bool) {
	a, err := p.st.authRequest(r.Context(), id)
	return a, err == nil && !a.done && a.userID != ""
}

// actingUser is the signed-in user of a when they are a patient user who
// acts for others: they choose from their list, never type an id.
func (p *Provider) actingUser(r *http.Request, a *authRequest) (User, bool) {
	u, err := p.store.User(r.Context(), a.userID)
	return u, err == nil && u.Role == access.RolePatient && len(u.ActsFor) > 0
}

func (p *Provider) whosePage(r *http.Request, a *authRequest, u User) page {
	d := page{Title: "Whose record?", Action: p.cfg.issuerPath() + "/login/patient", ID: a.id, CSRF: a.csrf, Client: p.clientName(r, a.clientID)}
	if u.Patient != "" {
		d.Choices = append(d.Choices, choice{Patient: u.Patient, Label: "Your own record", Own: true})
	}
	for _, f := range u.ActsFor {
		d.Choices = append(d.Choices, choice{Patient: f.Patient, Label: f.Label})
	}
	return d
}

// whoseChoice maps a posted Patient id to the grant's patient and fhirUser
// override; ok is false for a Patient not in u's list.
func whoseChoice(u User, patient string) (fhirUser string, ok bool) {
	if patient == "" {
		return "", false
	}
	if patient == u.Patient {
		return "", true
	}
	for _, f := range u.ActsFor {
		if f.Patient == patient {
			return f.RelatedPerson, true
		}
	}
	return "", false
}

func (p *Provider) patientPage(w http.ResponseWriter, r *http.Request) {
	a, ok := p.pendingPatient(r, r.URL.Query().Get("id"))
	if !ok {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	if u, acting := p.actingUser(r, a); acting {
		p.render(w, http.StatusOK, "whose", p.whosePage(r, a, u))
		return
	}
	p.render(w, http.StatusOK, "patient", page{Title: "Choose a patient", Action: p.cfg.issuerPath() + "/login/patient", ID: a.id, CSRF: a.csrf, Client: p.clientName(r, a.clientID)})
}

func (p *Provider) patientSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.message(w, http.StatusBadRequest, "Sign-in failed", "The form could not be read.")
		return
	}
	a, ok := p.pendingPatient(r, r.PostFormValue("id"))
	if !ok {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	if !checkCSRF(r, a) {
		p.message(w, http.StatusForbidden, "Sign-in refused", "This form was not sent from the sign-in page, or the page has expired. Go back to the application and start again.")
		return
	}
	patient := strings.TrimSpace(r.PostFormValue("patient"))
	if u, acting := p.actingUser(r, a); acting {
		fhirUser, ok := whoseChoice(u, patient)
		if !ok {
			p.cfg.Log.Info("idp: record choice refused", "user", u.Username, "client", a.clientID, "patient", patient)
			d := p.whosePage(r, a, u)
			d.Error = "Choose one of the records listed."
			p.render(w, http.StatusBadRequest, "whose", d)
			return
		}
		if err := p.st.choosePatient(r.Context(), a, patient, fhirUser); err != nil {
			p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
			return
		}
		p.cfg.Log.Info("idp: record chosen", "user", u.Username, "client", a.clientID, "patient", patient, "acting_as", fhirUser)
		http.Redirect(w, r, p.callbackURL(a.id), http.StatusSeeOther)
		return
	}
	if u, err := p.store.User(r.Context(), a.userID); err != nil || u.Role == access.RolePatient {
		// A patient user never names a record by id.
		p.message(w, http.StatusBadRequest, "Sign-in refused", "This record cannot be chosen.")
		return
	}
	if !ValidPatientID(patient) {
		p.render(w, http.StatusBadRequest, "patient", page{Title: "Choose a patient", Action: p.cfg.issuerPath() + "/login/patient", ID: a.id, CSRF: a.csrf,
			Client: p.clientName(r, a.clientID), Patient: patient, Error: "A Patient id is 1 to 64 letters, digits, hyphens or full stops."})
		return
	}
	if err := p.st.choosePatient(r.Context(), a, patient, ""); err != nil {
		p.message(w, http.StatusBadRequest, "Sign-in expired", errAuthRequestGone.Error()[len("idp: "):])
		return
	}
	http.Redirect(w, r, p.callbackURL(a.id), http.StatusSeeOther)
}

func (p *Provider) signedOut(w http.ResponseWriter, r *http.Request) {
	p.message(w, http.StatusOK, "Signed out", "You have signed out. You can close this window.")
}
