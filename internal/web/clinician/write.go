package clinician

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/web"
)

// Code systems the portal writes with.
const (
	sysLOINC     = "http://loinc.org"
	sysSNOMED    = "http://snomed.info/sct"
	sysUCUM      = "http://unitsofmeasure.org"
	sysObsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysFlagCat   = "http://terminology.hl7.org/CodeSystem/flag-category"
	sysPlanKind  = "https://sharedcare.example/CodeSystem/care-plan-kind"
	sysDocCat    = "https://sharedcare.example/CodeSystem/document-category"
	maxNoteChars = 20000
)

// obsKind is an observation the form records, coded as the feeds code it
// so that it joins the same trend.
type obsKind struct {
	Key, Label, Category, System, Code, Display, Unit, UCUM string
	Min, Max                                                float64
}

var obsKinds = []obsKind{
	{"bp", "Blood pressure", "vital-signs", sysLOINC, "85354-9", "Blood pressure panel with all children optional", "mmHg", "mm[Hg]", 20, 300},
	{"pulse", "Heart rate", "vital-signs", sysLOINC, "8867-4", "Heart rate", "beats/minute", "/min", 20, 250},
	{"temp", "Temperature", "vital-signs", sysLOINC, "8310-5", "Body temperature", "°C", "Cel", 25, 45},
	{"spo2", "Oxygen saturation", "vital-signs", sysLOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", 50, 100},
	{"weight", "Weight", "vital-signs", sysLOINC, "29463-7", "Body weight", "kg", "kg", 0.3, 400},
	{"hba1c", "HbA1c", "laboratory", sysLOINC, "59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol", "mmol/mol", 10, 200},
	{"egfr", "eGFR", "laboratory", sysLOINC, "62238-1", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)", "mL/min/1.73m2", "mL/min/{1.73_m2}", 1, 200},
	{"news2", "NEWS2 score", "survey", sysSNOMED, "1104051000000101", "Royal College of Physicians National Early Warning Score 2 (NEWS2) total score", "score", "{score}", 0, 20},
	{"peakflow", "Peak flow", "vital-signs", sysLOINC, "19935-6", "Maximum expiratory gas flow Respiratory system airway by Peak flow meter", "L/min", "L/min", 30, 1000},
}

var planKinds = []struct{ Code, Label, SNOMED, Display string }{
	{"end-of-life", "End of life care plan", "736373009", "End of life care plan"},
	{"respect", "ReSPECT form", "1382601000000107", "ReSPECT (Recommended Summary Plan for Emergency Care and Treatment) form"},
	{"mental-health-crisis", "Mental health crisis plan", "736253002", "Mental health crisis plan"},
	{"care-and-support", "Care and support plan", "734163000", "Care plan"},
	{"general", "Care plan", "734163000", "Care plan"},
}

var flagKinds = []struct{ Key, Label, Category, SNOMED, Display string }{
	{"falls", "At risk of falls", "safety", "129839007", "At risk for falls"},
	{"safeguarding-adult", "Vulnerable adult (safeguarding)", "safety", "417430008", "Vulnerable adult"},
	{"safeguarding-child", "Child protection concern (safeguarding)", "safety", "", ""},
	{"suicide", "At risk of suicide", "clinical", "225444004", "At risk for suicide"},
	{"other", "Other alert", "admin", "", ""},
}

// formFail re-shows the record with the form's problem.
func (a *App) formFail(w http.ResponseWriter, r *http.Request, s *web.Session, id, form, msg string) {
	a.showPatient(w, r, s, id, &formError{Form: form, Msg: msg, Values: r.PostForm})
}

func (a *App) post(w http.ResponseWriter, r *http.Request, s *web.Session, id, typ string, res map[string]any, done string) {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	if err := a.FHIR.Do(r.Context(), tok, http.MethodPost, typ, nil, res, nil); err != nil {
		if st := web.StatusOf(err); st == http.StatusBadRequest || st == http.StatusUnprocessableEntity {
			a.formFail(w, r, s, id, strings.ToLower(typ), web.APIMessage(err))
			return
		}
		a.APIError(w, r, s, err)
		return
	}
	s.Flash(done)
	http.Redirect(w, r, a.Prefix+"/patient/"+id, http.StatusSeeOther)
}

func (a *App) patientID(w http.ResponseWriter, r *http.Request, s *web.Session) (string, bool) {
	id := r.PathValue("id")
	if !web.ValidID(id) {
		a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "That is not a record this portal can open.", nil)
		return "", false
	}
	return id, true
}

// author is the user as the record names them.
func author(s *web.Session) []any {
	var out []any
	if s.User.FHIRUser != "" {
		out = append(out, map[string]any{"reference": s.User.FHIRUser, "display": s.User.Name})
	} else if s.User.Name != "" {
		out = append(out, map[string]any{"display": s.User.Name})
	}
	if s.User.Org != "" {
		out = append(out, map[string]any{"identifier": map[string]any{"system": odsSystem, "value": s.User.Org}, "display": s.OrgName})
	}
	return out
}

func (a *App) addNote(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	title := strings.TrimSpace(r.PostFormValue("title"))
	text := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n"))
	switch {
	case text == "":
		a.formFail(w, r, s, id, "note", "Enter the note")
		return
	case utf8.RuneCountInString(text) > maxNoteChars || len(title) > 200:
		a.formFail(w, r, s, id, "note", fmt.Sprintf("The note is too long: at most %d characters", maxNoteChars))
		return
	case !utf8.ValidString(text) || !utf8.ValidString(title):
		a.formFail(w, r, s, id, "note", "The note contains characters that cannot be stored")
		return
	}
	if title == "" {
		title = "Clinical note"
	}
	now := a.Now().UTC()
	doc := map[string]any{
		"resourceType": "DocumentReference",
		"status":       "current",
		"docStatus":    "final",
		"type":         map[string]any{"coding": []any{map[string]any{"system": sysLOINC, "code": "34109-9", "display": "Note"}}, "text": title},
		"category":     []any{map[string]any{"coding": []any{map[string]any{"system": sysDocCat, "code": "clinical-note", "display": "Clinical note"}}}},
		"subject":      map[string]any{"reference": "Patient/" + id},
		"date":         fhir.FormatInstant(now),
		"author":       author(s),
		"description":  title,
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": "text/plain; charset=utf-8", "language": "en-GB", "title": title,
			"data": base64.StdEncoding.EncodeToString([]byte(text)), "creation": fhir.FormatInstant(now)}}},
	}
	a.post(w, r, s, id, "DocumentReference", doc, "Your note was added to the record.")
}

func (a *App) addObservation(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	var k *obsKind
	for i := range obsKinds {
		if obsKinds[i].Key == r.PostFormValue("kind") {
			k = &obsKinds[i]
		}
	}
	if k == nil {
		a.formFail(w, r, s, id, "observation", "Choose what you measured")
		return
	}
	when := a.Now().UTC()
	if v := strings.TrimSpace(r.PostFormValue("when")); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, ukTimeLoc())
		if err != nil || t.After(a.Now().Add(5*time.Minute)) {
			a.formFail(w, r, s, id, "observation", "Enter when it was measured (not in the future)")
			return
		}
		when = t.UTC()
	}
	num := func(field string) (float64, bool) {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue(field)), 64)
		return v, err == nil && v >= k.Min && v <= k.Max
	}
	obs := map[string]any{
		"resourceType":      "Observation",
		"status":            "final",
		"category":          []any{map[string]any{"coding": []any{map[string]any{"system": sysObsCat, "code": k.Category}}}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": k.System, "code": k.Code, "display": k.Display}}, "text": k.Label},
		"subject":           map[string]any{"reference": "Patient/" + id},
		"effectiveDateTime": fhir.FormatInstant(when),
		"issued":            fhir.FormatInstant(a.Now().UTC()),
		"performer":         author(s),
	}
	qty := func(v float64) map[string]any {
		return map[string]any{"value": v, "unit": k.Unit, "system": sysUCUM, "code": k.UCUM}
	}
	if k.Key == "bp" {
		sys, ok1 := num("value")
		dia, ok2 := num("value2")
		if !ok1 || !ok2 || dia >= sys {
			a.formFail(w, r, s, id, "observation", "Enter the systolic and diastolic pressures in mmHg (systolic the higher, both between 20 and 300)")
			return
		}
		obs["component"] = []any{
			map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": sysLOINC, "code": "8480-6", "display": "Systolic blood pressure"}}}, "valueQuantity": qty(sys)},
			map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": sysLOINC, "code": "8462-4", "display": "Diastolic blood pressure"}}}, "valueQuantity": qty(dia)},
		}
	} else {
		v, ok := num("value")
		if !ok {
			a.formFail(w, r, s, id, "observation", fmt.Sprintf("Enter the %s as a number between %g and %g %s", strings.ToLower(k.Label), k.Min, k.Max, k.Unit))
			return
		}
		obs["valueQuantity"] = qty(v)
	}
	a.post(w, r, s, id, "Observation", obs, k.Label+" recorded.")
}

func (a *App) addFlag(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	kind := r.PostFormValue("kind")
	detail := strings.TrimSpace(r.PostFormValue("detail"))
	var code map[string]any
	var cat string
	for _, f := range flagKinds {
		if f.Key == kind {
			cat = f.Category
			code = map[string]any{"text": f.Label}
			if f.SNOMED != "" {
				code["coding"] = []any{map[string]any{"system": sysSNOMED, "code": f.SNOMED, "display": f.Display}}
			}
		}
	}
	if code == nil {
		a.formFail(w, r, s, id, "flag", "Choose the kind of alert")
		return
	}
	if kind == "other" && detail == "" {
		a.formFail(w, r, s, id, "flag", "Say what the alert is")
		return
	}
	if len(detail) > 500 {
		a.formFail(w, r, s, id, "flag", "The alert's text is too long: at most 500 characters")
		return
	}
	if detail != "" {
		code["text"] = code["text"].(string) + ": " + detail
	}
	flag := map[string]any{
		"resourceType": "Flag",
		"status":       "active",
		"category":     []any{map[string]any{"coding": []any{map[string]any{"system": sysFlagCat, "code": cat}}}},
		"code":         code,
		"subject":      map[string]any{"reference": "Patient/" + id},
		"period":       map[string]any{"start": fhir.FormatInstant(a.Now().UTC())},
	}
	if au := author(s); len(au) > 0 {
		flag["author"] = au[0]
	}
	a.post(w, r, s, id, "Flag", flag, "The alert was raised on the record.")
}

// saveCarePlan adds a care plan, or (with plan and version) updates one:
// a plan changed by someone else since the form was opened is not
// overwritten.
func (a *App) saveCarePlan(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id, ok := a.patientID(w, r, s)
	if !ok {
		return
	}
	title := strings.TrimSpace(r.PostFormValue("title"))
	desc := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("description"), "\r\n", "\n"))
	status := r.PostFormValue("status")
	if status == "" {
		status = "active"
	}
	switch status {
	case "active", "on-hold", "completed", "revoked":
	default:
		a.formFail(w, r, s, id, "careplan", "Choose the plan's status")
		return
	}
	if desc == "" || utf8.RuneCountInString(desc) > maxNoteChars || len(title) > 200 {
		a.formFail(w, r, s, id, "careplan", "Describe the plan (at most 20,000 characters)")
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	if planID := r.PostFormValue("plan"); planID != "" {
		if !web.ValidID(planID) {
			a.formFail(w, r, s, id, "careplan", "That care plan cannot be found")
			return
		}
		var cur map[string]any
		if err := a.FHIR.Do(r.Context(), tok, http.MethodGet, "CarePlan/"+planID, nil, nil, &cur); err != nil {
			a.APIError(w, r, s, err)
			return
		}
		meta, _ := cur["meta"].(map[string]any)
		if v, _ := meta["versionId"].(string); v != r.PostFormValue("version") {
			a.formFail(w, r, s, id, "careplan", "Someone else changed this care plan after you opened it. Their version is shown; make your change again.")
			return
		}
		if subj, _ := cur["subject"].(map[string]any); subj == nil {
			a.formFail(w, r, s, id, "careplan", "That care plan cannot be found")
			return
		}
		if title != "" {
			cur["title"] = title
		}
		cur["description"] = desc
		cur["status"] = status
		if au := author(s); len(au) > 0 {
			cur["author"] = au[0]
		}
		if err := a.FHIR.Do(r.Context(), tok, http.MethodPut, "CarePlan/"+planID, nil, cur, nil); err != nil {
			if st := web.StatusOf(err); st == http.StatusBadRequest || st == http.StatusUnprocessableEntity || st == http.StatusPreconditionFailed || st == http.StatusConflict {
				a.formFail(w, r, s, id, "careplan", web.APIMessage(err))
				return
			}
			a.APIError(w, r, s, err)
			return
		}
		s.Flash("The care plan was updated.")
		http.Redirect(w, r, a.Prefix+"/patient/"+id+"#care-plans", http.StatusSeeOther)
		return
	}
	kind := r.PostFormValue("kind")
	var cat map[string]any
	for _, k := range planKinds {
		if k.Code == kind {
			cat = map[string]any{"coding": []any{
				map[string]any{"system": sysSNOMED, "code": k.SNOMED, "display": k.Display},
				map[string]any{"system": sysPlanKind, "code": k.Code, "display": k.Label}}}
			if title == "" {
				title = k.Label
			}
		}
	}
	if cat == nil {
		a.formFail(w, r, s, id, "careplan", "Choose the kind of plan")
		return
	}
	now := fhir.FormatInstant(a.Now().UTC())
	plan := map[string]any{
		"resourceType": "CarePlan",
		"status":       status,
		"intent":       "plan",
		"category":     []any{cat},
		"title":        title,
		"description":  desc,
		"subject":      map[string]any{"reference": "Patient/" + id},
		"period":       map[string]any{"start": now},
		"created":      now,
	}
	if au := author(s); len(au) > 0 {
		plan["author"] = au[0]
	}
	a.post(w, r, s, id, "CarePlan", plan, "The care plan was added.")
}

func ukTimeLoc() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC
	}
	return l
}
