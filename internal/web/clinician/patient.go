package clinician

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/chart"
	"github.com/sharedcare/sharedcare/internal/web/recordview"
)

// maxRecord bounds how much of one record the page reads (several pages
// of $everything); a record larger than this says so.
const maxRecord = 10000

// formError is a form on the record page that needs correcting: which,
// why, and what was typed.
type formError struct {
	Form   string
	Msg    string
	Values url.Values
}

type chartView struct {
	Key, Title, Latest string
	At                 time.Time
	SVG                template.HTML
}

type patientPage struct {
	ID        string
	R         *recordview.Record
	Charts    []chartView
	Warnings  []string
	Truncated bool
	Form      *formError
	Plans     []planView
	ObsKinds  []obsKind
	PlanKinds any
	FlagKinds any
	Now       time.Time
}

// charted are the trends drawn at the top of the results: the ones
// clinicians follow over years.
var charted = map[string]bool{"bp": true, "hba1c": true, "egfr": true, "weight": true, "bmi": true, "news2": true}

// bands are the targets shaded on the trend charts.
var bands = map[string]chart.Band{
	"hba1c": {Lo: 20, Hi: 48, Label: "Target under 48 mmol/mol"},
	"egfr":  {Lo: 90, Hi: 150, Label: "Normal: 90 or more"},
	"news2": {Lo: 0, Hi: 4, Label: "Low risk: 0 to 4"},
	"bp":    {Lo: 90, Hi: 140, Label: "Systolic target under 140 mmHg"},
}

func (a *App) patient(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	a.showPatient(w, r, s, id, nil)
}

// showPatient reads the whole person's record through $everything (every
// organisation's Patient the person index links, and what they refer to)
// and shows it by PRSB heading.
func (a *App) showPatient(w http.ResponseWriter, r *http.Request, s *web.Session, id string, fe *formError) {
	rec, b, ok := a.load(w, r, s, id, nil)
	if !ok {
		return
	}
	page := patientPage{ID: id, R: rec, Warnings: dedupe(b.Warnings), Truncated: b.Next != "", Form: fe,
		Plans: plans(rec, versions(b.Entries, "CarePlan")), ObsKinds: obsKinds, PlanKinds: planKinds, FlagKinds: flagKinds, Now: a.Now()}
	for _, t := range rec.Trends {
		if !charted[t.Key] {
			continue // the rest are in the results tables
		}
		var bs []chart.Band
		if bd, ok := bands[t.Key]; ok {
			bs = []chart.Band{bd}
		}
		page.Charts = append(page.Charts, chartView{Key: t.Key, Title: t.Title, Latest: t.Latest, At: t.At, SVG: web.TrendChart(t, t.Title, bs, nil)})
	}
	status := http.StatusOK
	if fe != nil {
		status = http.StatusBadRequest
	}
	a.RD.Render(w, r, status, "patient", web.Page{Title: rec.Person.Name.Value, Session: s, Data: page})
}

// load reads the person's record (or, with params, part of it) through
// $everything as the user and arranges it; a refusal is explained, with
// break glass where the API offers it.
func (a *App) load(w http.ResponseWriter, r *http.Request, s *web.Session, id string, params url.Values) (*recordview.Record, *web.Bundle, bool) {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return nil, nil, false
	}
	if params == nil {
		params = url.Values{}
	}
	params.Set("_count", "1000")
	b, err := a.FHIR.SearchAll(r.Context(), tok, "Patient/"+id+"/$everything", params, maxRecord)
	if err != nil {
		if web.StatusOf(err) == http.StatusForbidden {
			a.refused(w, r, s, id, err)
		} else {
			a.APIError(w, r, s, err)
		}
		return nil, nil, false
	}
	rec, err := recordview.Build(b.Entries, id, a.Now())
	if err != nil {
		a.APIError(w, r, s, err)
		return nil, nil, false
	}
	return rec, b, true
}

// refused explains a refusal: with break glass on offer when the API
// offers it.
func (a *App) refused(w http.ResponseWriter, r *http.Request, s *web.Session, id string, err error) {
	msg := web.APIMessage(err)
	can := strings.Contains(msg, "$break-glass")
	if i := strings.Index(msg, "; in an emergency"); i > 0 {
		msg = msg[:i] + "."
	}
	a.RD.Render(w, r, http.StatusForbidden, "refused", web.Page{Title: "No access to this record", Session: s,
		Data: refusedPage{ID: id, Msg: msg, CanBreakGlass: can, Person: a.demographics(r, s, id)}})
}

// demographics are what any professional may read of a person (to know
// whose record they were refused).
func (a *App) demographics(r *http.Request, s *web.Session, id string) *personRow {
	tok, err := s.Token()
	if err != nil {
		return nil
	}
	b, err := a.FHIR.Search(r.Context(), tok, "Patient", url.Values{"_id": {id}})
	if err != nil {
		return nil
	}
	rows, _ := peopleOf(b, a.Now())
	if len(rows) == 0 {
		return nil
	}
	return &rows[0]
}

// refusedPage explains a refusal and, where the API allows it, offers
// break glass.
type refusedPage struct {
	ID, Msg       string
	CanBreakGlass bool
	Person        *personRow
	Error, Text   string // a break-glass form to correct
}

type breakGlassReason struct{ Code, Label string }

var breakGlassReasons = []breakGlassReason{
	{"emergency", "Emergency: the person needs care now"},
	{"safeguarding", "Safeguarding: a risk to the person or others"},
	{"direct-care", "Direct care not yet recorded (for example a new referral)"},
}

func (a *App) breakGlass(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	reason := r.PostFormValue("reason")
	text := strings.TrimSpace(r.PostFormValue("text"))
	valid := false
	for _, br := range breakGlassReasons {
		valid = valid || br.Code == reason
	}
	if !valid || text == "" || len(text) > 2000 {
		a.RD.Render(w, r, http.StatusBadRequest, "refused", web.Page{Title: "No access to this record", Session: s,
			Data: refusedPage{ID: id, CanBreakGlass: true, Person: a.demographics(r, s, id),
				Error: "Choose a reason and say why in a few words (at most 2,000 characters).", Text: text}})
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	params := map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "reason", "valueCode": reason},
		map[string]any{"name": "text", "valueString": text},
	}}
	var out struct {
		Parameter []struct {
			Name         string `json:"name"`
			ValueInstant string `json:"valueInstant"`
		} `json:"parameter"`
	}
	if err := a.FHIR.Do(r.Context(), tok, http.MethodPost, "Patient/"+id+"/$break-glass", nil, params, &out); err != nil {
		a.APIError(w, r, s, err)
		return
	}
	until := ""
	for _, p := range out.Parameter {
		if p.Name == "until" {
			if t, err := time.Parse(time.RFC3339, p.ValueInstant); err == nil {
				until = web.DateTimeText(t)
			}
		}
	}
	s.Flash("You have opened this record for " + strings.SplitN(reasonLabel(reason), ":", 2)[0] + " until " + until + ". A privacy officer will review this access, and the person can see it.")
	http.Redirect(w, r, a.Prefix+"/patient/"+id, http.StatusSeeOther)
}

func reasonLabel(code string) string {
	for _, br := range breakGlassReasons {
		if br.Code == code {
			return strings.ToLower(br.Label[:1]) + br.Label[1:]
		}
	}
	return code
}

// document shows one letter or note, readable in the page.
func (a *App) document(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	doc := r.PathValue("doc")
	if !web.ValidID(doc) {
		a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such document.", nil)
		return
	}
	rec, _, ok := a.load(w, r, s, id, url.Values{"_type": {"DocumentReference"}})
	if !ok {
		return
	}
	for _, d := range rec.Documents {
		for _, ref := range d.Refs {
			if ref == "DocumentReference/"+doc {
				a.RD.Render(w, r, http.StatusOK, "document", web.Page{Title: d.Title, Session: s, Data: struct {
					ID  string
					Doc recordview.Document
					R   *recordview.Record
				}{id, d, rec}})
				return
			}
		}
	}
	a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such document in this person's record, or it is withheld from you.", nil)
}

// versions maps "Type/id" to its versionId, for the resources of typ.
func versions(entries []json.RawMessage, typ string) map[string]string {
	out := map[string]string{}
	tag := []byte(`"` + typ + `"`)
	for _, raw := range entries {
		if !bytes.Contains(raw, tag) {
			continue // decoding every entry again cost an eighth of the page
		}
		var r struct {
			ResourceType, ID string
			Meta             struct{ VersionID string }
		}
		if json.Unmarshal(raw, &r) == nil && r.ResourceType == typ {
			out[typ+"/"+r.ID] = r.Meta.VersionID
		}
	}
	return out
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// planView is a care plan with what its update form needs: the plan to
// change and the version the user saw.
type planView struct {
	recordview.CarePlan
	ID, Version string
}

func plans(rec *recordview.Record, vs map[string]string) []planView {
	var out []planView
	for _, cp := range rec.CarePlans {
		pv := planView{CarePlan: cp}
		for _, ref := range cp.Refs {
			if v, ok := vs[ref]; ok && pv.ID == "" {
				pv.ID, pv.Version = strings.TrimPrefix(ref, "CarePlan/"), v
			}
		}
		out = append(out, pv)
	}
	return out
}

// docID is the first DocumentReference id among refs.
func docID(refs []string) string {
	for _, r := range refs {
		if id, ok := strings.CutPrefix(r, "DocumentReference/"); ok {
			return id
		}
	}
	return ""
}
