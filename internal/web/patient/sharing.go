package patient

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/web"
)

// choices are the sharing choices, as the page explains them.
var choices = []struct {
	Code, Label, Explain string
}{
	{"share", "Share my record with the people caring for me", "Health and care professionals who are caring for you (your GP practice, a hospital treating you, your district nurse, your social worker) can see your record from every organisation. Anyone else who looks has to say why, and you can see it here."},
	{"share-until", "Share it until a date, then stop", "As above until the date you choose. After it, each organisation sees only what it recorded itself."},
	{"emergency", "Do not share it, except in an emergency", "Each organisation sees only what it recorded itself. In an emergency, or to keep you or others safe, a professional can still open your whole record; you will see that they did, and why."},
	{"dissent", "Do not share it at all", "Each organisation sees only what it recorded itself, even in an emergency. This can make your care slower or less safe: for example an A&E doctor will not see your medicines or allergies."},
}

// shareParts are the parts of a record a person may share with an
// organisation, and the resource types each is.
var shareParts = []struct {
	Key, Label string
	Types      []string
}{
	{"problems", "Problems and diagnoses", []string{"Condition"}},
	{"medicines", "Medicines", []string{"MedicationRequest", "MedicationStatement"}},
	{"allergies", "Allergies", []string{"AllergyIntolerance"}},
	{"results", "Test results and measurements", []string{"Observation", "DiagnosticReport"}},
	{"letters", "Letters and summaries", []string{"DocumentReference"}},
	{"plans", "Care plans", []string{"CarePlan"}},
	{"visits", "Appointments, admissions and visits", []string{"Encounter"}},
}

type shareRow struct {
	ID, ODS, Org, Until string
	Parts               []string
	Active              bool
}

type sharingPage struct {
	Choice, Until string
	OptedOut      bool
	Shares        []shareRow
	Choices       any
	Parts         any
	Problem, Form string
	Delegate      bool
}

func (a *App) sharing(w http.ResponseWriter, r *http.Request, s *web.Session) {
	a.showSharing(w, r, s, "", "")
}

func (a *App) showSharing(w http.ResponseWriter, r *http.Request, s *web.Session, form, problem string) {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	b, err := a.FHIR.SearchAll(r.Context(), tok, "Consent", map[string][]string{"patient": {s.Patient}, "_count": {"200"}}, 1000)
	if err != nil {
		a.APIError(w, r, s, err)
		return
	}
	page := sharingPage{Choices: choices, Parts: shareParts, Problem: problem, Form: form, Delegate: delegate(s)}
	// The choice in force, read as the access policy reads it.
	var f access.Facts
	latest := map[string]time.Time{}
	for _, raw := range b.Entries {
		obj, err := fhir.DecodeResource(raw)
		if err != nil {
			continue
		}
		access.ConsentFacts(obj, &f, latest, time.Time{})
		if row, ok := shareOf(raw, a.Now()); ok {
			page.Shares = append(page.Shares, row)
		}
	}
	switch f.Sharing.Choice {
	case access.ShareUntil:
		page.Choice, page.Until = "share-until", f.Sharing.Until.Format("2006-01-02")
	case access.EmergencyOnly:
		page.Choice = "emergency"
	case access.Dissent:
		page.Choice = "dissent"
	default:
		page.Choice = "share"
	}
	page.OptedOut = f.NDOP
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	a.RD.Render(w, r, status, "sharing", web.Page{Title: "Sharing your record", Session: s, Data: page})
}

// shareOf reads an organisation share Consent for the page.
func shareOf(raw json.RawMessage, now time.Time) (shareRow, bool) {
	var c struct {
		ResourceType, ID, Status string
		Category                 []struct {
			Coding []struct{ System, Code string }
		}
		Provision struct {
			Period struct{ End string }
			Actor  []struct {
				Reference struct {
					Display    string
					Identifier struct{ Value string }
				}
			}
			Class []struct{ Code string }
		}
	}
	if json.Unmarshal(raw, &c) != nil || c.ResourceType != "Consent" {
		return shareRow{}, false
	}
	share := false
	for _, cat := range c.Category {
		for _, cd := range cat.Coding {
			share = share || cd.System == access.SysConsentKind && cd.Code == "org-share"
		}
	}
	if !share || len(c.Provision.Actor) == 0 {
		return shareRow{}, false
	}
	row := shareRow{ID: c.ID, ODS: c.Provision.Actor[0].Reference.Identifier.Value, Org: c.Provision.Actor[0].Reference.Display}
	if t, err := time.Parse(time.RFC3339, c.Provision.Period.End); err == nil {
		row.Until = web.DateText(t)
		row.Active = c.Status == "active" && t.After(now)
	}
	for _, p := range shareParts {
		for _, cl := range c.Provision.Class {
			if slices.Contains(p.Types, cl.Code) && !slices.Contains(row.Parts, p.Label) {
				row.Parts = append(row.Parts, p.Label)
			}
		}
	}
	return row, true
}

// setSharing records a new sharing choice: it takes effect on the next
// request anyone makes.
func (a *App) setSharing(w http.ResponseWriter, r *http.Request, s *web.Session) {
	var sh access.Sharing
	switch r.PostFormValue("choice") {
	case "share":
		sh.Choice = access.Share
	case "share-until":
		t, err := time.Parse("2006-01-02", r.PostFormValue("until"))
		if err != nil || !t.After(a.Now()) {
			a.showSharing(w, r, s, "choice", "Enter the date to stop sharing, in the future")
			return
		}
		sh.Choice, sh.Until = access.ShareUntil, t.Add(24*time.Hour-time.Second)
	case "emergency":
		sh.Choice = access.EmergencyOnly
	case "dissent":
		sh.Choice = access.Dissent
	default:
		a.showSharing(w, r, s, "choice", "Choose how your record is shared")
		return
	}
	c := access.SharingConsent(s.Patient, sh, a.Now())
	a.post(w, r, s, http.MethodPost, "Consent", c, "/sharing", "Your choice is saved and applies from now: "+strings.ToLower(choiceLabel(r.PostFormValue("choice")))+".")
}

func choiceLabel(code string) string {
	for _, c := range choices {
		if c.Code == code {
			return c.Label
		}
	}
	return code
}

// setOptOut records the national data opt-out (research and planning):
// separate from sharing for care, which it never affects.
func (a *App) setOptOut(w http.ResponseWriter, r *http.Request, s *web.Session) {
	out := r.PostFormValue("optout") == "yes"
	if v := r.PostFormValue("optout"); v != "yes" && v != "no" {
		a.showSharing(w, r, s, "optout", "Choose whether your data may be used for research and planning")
		return
	}
	now := a.Now().UTC()
	c := map[string]any{
		"resourceType": "Consent",
		"status":       "active",
		"scope":        map[string]any{"coding": []any{map[string]any{"system": access.SysConsentScope, "code": "research"}}},
		"category":     []any{map[string]any{"coding": []any{map[string]any{"system": access.SysNDOP, "code": "NDOP", "display": "National Data Opt-out"}}}},
		"patient":      map[string]any{"reference": "Patient/" + s.Patient},
		"dateTime":     now.Format(time.RFC3339),
		"policy":       []any{map[string]any{"authority": "https://www.england.nhs.uk", "uri": "https://www.nhs.uk/your-nhs-data-matters/"}},
		"provision":    map[string]any{"type": map[bool]string{true: "deny", false: "permit"}[out]},
	}
	msg := "Your data will not be used for research and planning (except where the law requires it). Your care is not affected."
	if !out {
		msg = "Your data may be used, without identifying you, for research and planning. Your care is not affected."
	}
	a.post(w, r, s, http.MethodPost, "Consent", c, "/sharing", msg)
}

// addShare shares chosen parts of the record with an organisation until
// a date.
func (a *App) addShare(w http.ResponseWriter, r *http.Request, s *web.Session) {
	ods := strings.ToUpper(strings.TrimSpace(r.PostFormValue("ods")))
	name := clip(r.PostFormValue("name"), 200)
	until, err := time.Parse("2006-01-02", r.PostFormValue("until"))
	if !odsRE(ods) {
		a.showSharing(w, r, s, "share", "Enter the organisation's code (their ODS code: 3 to 12 letters and numbers; they can tell you it)")
		return
	}
	if err != nil || !until.After(a.Now()) || until.After(a.Now().AddDate(1, 0, 0)) {
		a.showSharing(w, r, s, "share", "Enter the date the sharing ends: in the future, and within a year")
		return
	}
	var types []string
	for _, p := range shareParts {
		if slices.Contains(r.PostForm["part"], p.Key) {
			types = append(types, p.Types...)
		}
	}
	if len(types) == 0 {
		a.showSharing(w, r, s, "share", "Choose which parts of your record to share")
		return
	}
	if name == "" {
		name = ods
	}
	c := access.OrgShareConsent(s.Patient, ods, name, types, until.Add(24*time.Hour-time.Second), a.Now())
	a.post(w, r, s, http.MethodPost, "Consent", c, "/sharing", "You are sharing parts of your record with "+name+" until "+web.DateText(until)+". You can stop this at any time.")
}

// revokeShare ends a share now.
func (a *App) revokeShare(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id := r.PathValue("id")
	if !web.ValidID(id) {
		a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such share.", nil)
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	var c map[string]any
	if err := a.FHIR.Do(r.Context(), tok, http.MethodGet, "Consent/"+id, nil, nil, &c); err != nil {
		a.APIError(w, r, s, err)
		return
	}
	raw, _ := json.Marshal(c)
	if _, ok := shareOf(raw, a.Now()); !ok {
		a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such share.", nil)
		return
	}
	c["status"] = "inactive"
	a.post(w, r, s, http.MethodPut, "Consent/"+id, c, "/sharing", "That sharing has stopped.")
}
