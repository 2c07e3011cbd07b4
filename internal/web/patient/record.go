package patient

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/recordview"
)

// SysRecordTask codes the Tasks the portal writes for organisations.
const SysRecordTask = "https://sharedcare.example/CodeSystem/record-task"

// load reads the person's whole record as the user and arranges it.
func (a *App) load(w http.ResponseWriter, r *http.Request, s *web.Session, params url.Values) (*recordview.Record, *web.Bundle, bool) {
	tok, ok := a.Token(w, r, s)
	if !ok {
		return nil, nil, false
	}
	if params == nil {
		params = url.Values{}
	}
	params.Set("_count", "1000")
	b, err := a.FHIR.SearchAll(r.Context(), tok, "Patient/"+s.Patient+"/$everything", params, 10000)
	if err != nil {
		a.APIError(w, r, s, err)
		return nil, nil, false
	}
	rec, err := recordview.Build(b.Entries, s.Patient, a.Now())
	if err != nil {
		a.APIError(w, r, s, err)
		return nil, nil, false
	}
	return rec, b, true
}

type recordPage struct {
	R        *recordview.Record
	Charts   []chartView
	Warnings []string
	Delegate bool
}

type chartView struct {
	Key, Title, Latest string
	SVG                any
}

// record is "My record": the clinician's headings in plain words.
func (a *App) record(w http.ResponseWriter, r *http.Request, s *web.Session) {
	rec, b, ok := a.load(w, r, s, nil)
	if !ok {
		return
	}
	page := recordPage{R: rec, Warnings: b.Warnings, Delegate: delegate(s)}
	for _, t := range rec.Trends {
		switch t.Key {
		case "bp", "hba1c", "weight", "egfr":
			page.Charts = append(page.Charts, chartView{Key: t.Key, Title: plainTrend(t.Title, t.Key), Latest: t.Latest, SVG: trendChart(t, nil)})
		}
	}
	a.RD.Render(w, r, http.StatusOK, "record", web.Page{Title: "My record", Session: s, Data: page})
}

// plainTrend names a measurement as people say it.
func plainTrend(title, key string) string {
	switch key {
	case "bp":
		return "Blood pressure"
	case "hba1c":
		return "Blood sugar over 3 months (HbA1c)"
	case "egfr":
		return "Kidney function (eGFR)"
	case "weight":
		return "Weight"
	}
	return title
}

// trendChart draws a trend, with a goal line when the person set one.
func trendChart(t recordview.Trend, goal *float64) any {
	return web.TrendChart(t, plainTrend(t.Title, t.Key), nil, goal)
}

// reportPage is the "report an error" form about one item.
type reportPage struct {
	Item, Title, Org, OrgName, Text, Problem string
}

// reportForm asks what is wrong with an item of the record.
func (a *App) reportForm(w http.ResponseWriter, r *http.Request, s *web.Session) {
	q := r.URL.Query()
	item, org := q.Get("item"), q.Get("org")
	if !validRef(item) || !odsRE(org) {
		a.RD.Error(w, r, s, http.StatusBadRequest, "Which item?", "Open your record and choose \"Report an error\" beside the item that is wrong.", &web.Link{Label: "My record", Href: a.Prefix + "/record"})
		return
	}
	a.RD.Render(w, r, http.StatusOK, "report", web.Page{Title: "Report an error", Session: s,
		Data: reportPage{Item: item, Title: clip(q.Get("title"), 200), Org: org, OrgName: clip(q.Get("orgname"), 200)}})
}

// report sends the organisation that recorded an item a Task saying what
// is wrong: it lands in that organisation's inbox in the clinician portal.
func (a *App) report(w http.ResponseWriter, r *http.Request, s *web.Session) {
	item, org := r.PostFormValue("item"), r.PostFormValue("org")
	text := strings.TrimSpace(r.PostFormValue("text"))
	page := reportPage{Item: item, Title: clip(r.PostFormValue("title"), 200), Org: org, OrgName: clip(r.PostFormValue("orgname"), 200), Text: text}
	if !validRef(item) || !odsRE(org) {
		a.RD.Error(w, r, s, http.StatusBadRequest, "Which item?", "Open your record and choose \"Report an error\" beside the item that is wrong.", nil)
		return
	}
	if text == "" || utf8.RuneCountInString(text) > 2000 {
		page.Problem = "Say what is wrong, in at most 2,000 characters"
		a.RD.Render(w, r, http.StatusBadRequest, "report", web.Page{Title: "Report an error", Session: s, Data: page})
		return
	}
	what := "an item in my record"
	if page.Title != "" {
		what = "\"" + page.Title + "\""
	}
	task := map[string]any{
		"resourceType": "Task",
		"meta":         map[string]any{"tag": []any{map[string]any{"system": access.SysAddressedTo, "code": org}}},
		"status":       "requested",
		"intent":       "order",
		"priority":     "routine",
		"code":         map[string]any{"coding": []any{map[string]any{"system": SysRecordTask, "code": "error-report", "display": "The person reports an error in their record"}}},
		"description":  "Reported as wrong: " + what + ". " + text,
		"focus":        map[string]any{"reference": item},
		"for":          map[string]any{"reference": "Patient/" + s.Patient},
		"authoredOn":   fhir.FormatInstant(a.Now().UTC()),
		"requester":    ref(s.User.FHIRUser, s.User.Name),
		"owner":        map[string]any{"identifier": map[string]any{"system": access.SysODS, "value": org}},
		"note":         []any{map[string]any{"text": text}},
	}
	if page.OrgName != "" {
		task["owner"].(map[string]any)["display"] = page.OrgName
	}
	a.post(w, r, s, http.MethodPost, "Task", task, "/record", "Thank you. "+firstNonEmpty(page.OrgName, org)+" will look at what you reported and correct the record if it is wrong.")
}

// ref is a Reference, without the empty strings FHIR forbids.
func ref(reference, display string) map[string]any {
	m := map[string]any{}
	if reference != "" {
		m["reference"] = reference
	}
	if display != "" {
		m["display"] = display
	}
	return m
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// validRef is a "Type/id" reference to a resource of the record.
func validRef(ref string) bool {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || !web.ValidID(id) || typ == "" {
		return false
	}
	for _, c := range typ {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return typ[0] >= 'A' && typ[0] <= 'Z'
}

// odsRE reports whether s looks like an ODS organisation code.
func odsRE(s string) bool {
	if len(s) < 3 || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
