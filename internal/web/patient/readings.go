package patient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/web"
)

// reading is something a person measures at home, coded as the
// professionals' systems code it so that both land on one chart.
type reading struct {
	Key, Label, Hint, Code, Display, Unit, UCUM string
	Min, Max                                    float64
	Trend                                       string // the recordview trend key
}

const loinc = "http://loinc.org"

var readingKinds = []reading{
	{"bp", "Blood pressure", "the top and bottom numbers, for example 128 over 82", "85354-9", "Blood pressure panel with all children optional", "mmHg", "mm[Hg]", 30, 260, "bp"},
	{"weight", "Weight", "in kilograms", "29463-7", "Body weight", "kg", "kg", 2, 350, "weight"},
	{"glucose", "Blood glucose", "from a finger-prick meter, in mmol/L", "15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", "mmol/L", 1, 35, loinc + "|15074-8"},
	{"peakflow", "Peak flow", "the best of three blows, in litres a minute", "19935-6", "Maximum expiratory gas flow Respiratory system airway by Peak flow meter", "L/min", "L/min", 50, 900, loinc + "|19935-6"},
}

// goalMeasures are the targets a goal may set, by the measurement they
// are charted against.
var goalMeasures = []struct {
	Key, Label, Code, Display, Unit, UCUM, Trend string
}{
	{"hba1c", "HbA1c (blood sugar over 3 months) below", "59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol", "mmol/mol", "hba1c"},
	{"bp", "Top blood pressure number below", "8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", "bp"},
	{"weight", "Weight below", "29463-7", "Body weight", "kg", "kg", "weight"},
	{"glucose", "Blood glucose below", "15074-8", "Glucose [Moles/volume] in Blood", "mmol/L", "mmol/L", loinc + "|15074-8"},
}

type goalRow struct {
	Text, Due, Status, Trend string
	Target                   *float64
}

type readingsPage struct {
	Goals    []goalRow
	Charts   []chartView
	Kinds    []reading
	Measures any
	Problem  string
	Form     string
}

func (a *App) readings(w http.ResponseWriter, r *http.Request, s *web.Session) {
	a.showReadings(w, r, s, "", "")
}

func (a *App) showReadings(w http.ResponseWriter, r *http.Request, s *web.Session, form, problem string) {
	rec, b, ok := a.load(w, r, s, nil)
	if !ok {
		return
	}
	page := readingsPage{Kinds: readingKinds, Measures: goalMeasures, Problem: problem, Form: form}
	for _, raw := range b.Entries {
		if g, ok := goalOf(raw); ok {
			page.Goals = append(page.Goals, g)
		}
	}
	charted := map[string]bool{}
	for _, t := range rec.Trends {
		want := false
		for _, k := range readingKinds {
			want = want || k.Trend == t.Key
		}
		if t.Key == "hba1c" {
			want = true
		}
		if !want || charted[t.Key] {
			continue
		}
		charted[t.Key] = true
		var goal *float64
		for _, g := range page.Goals {
			if g.Trend == t.Key && g.Target != nil && g.Status == "active" {
				goal = g.Target
			}
		}
		page.Charts = append(page.Charts, chartView{Key: t.Key, Title: plainTrend(t.Title, t.Key), Latest: t.Latest, SVG: trendChart(t, goal)})
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	a.RD.Render(w, r, status, "readings", web.Page{Title: "Goals and readings", Session: s, Data: page})
}

// goalOf reads the parts of a Goal the page shows.
func goalOf(raw json.RawMessage) (goalRow, bool) {
	var g struct {
		ResourceType    string
		LifecycleStatus string
		Description     struct{ Text string }
		Target          []struct {
			Measure struct {
				Coding []struct{ System, Code string }
			}
			DetailQuantity *struct{ Value float64 }
			DueDate        string
		}
	}
	if json.Unmarshal(raw, &g) != nil || g.ResourceType != "Goal" {
		return goalRow{}, false
	}
	row := goalRow{Text: g.Description.Text, Status: g.LifecycleStatus}
	for _, t := range g.Target {
		row.Due = t.DueDate
		if t.DetailQuantity != nil {
			v := t.DetailQuantity.Value
			row.Target = &v
		}
		for _, c := range t.Measure.Coding {
			for _, m := range goalMeasures {
				if c.Code == m.Code {
					row.Trend = m.Trend
				}
			}
		}
	}
	return row, true
}

// addReading records a home reading as an Observation the person made.
func (a *App) addReading(w http.ResponseWriter, r *http.Request, s *web.Session) {
	var k *reading
	for i := range readingKinds {
		if readingKinds[i].Key == r.PostFormValue("kind") {
			k = &readingKinds[i]
		}
	}
	if k == nil {
		a.showReadings(w, r, s, "reading", "Choose what you measured")
		return
	}
	num := func(field string) (float64, bool) {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue(field)), 64)
		return v, err == nil && v >= k.Min && v <= k.Max
	}
	when := a.Now().UTC()
	if v := strings.TrimSpace(r.PostFormValue("when")); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil || t.After(a.Now()) || t.Before(a.Now().AddDate(-1, 0, 0)) {
			a.showReadings(w, r, s, "reading", "Enter the day you measured it, within the last year (or leave it empty for today)")
			return
		}
		when = t.Add(12 * time.Hour)
	}
	qty := func(v float64) map[string]any {
		return map[string]any{"value": v, "unit": k.Unit, "system": "http://unitsofmeasure.org", "code": k.UCUM}
	}
	obs := map[string]any{
		"resourceType":      "Observation",
		"status":            "final",
		"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": loinc, "code": k.Code, "display": k.Display}}, "text": k.Label + " (home reading)"},
		"subject":           map[string]any{"reference": "Patient/" + s.Patient},
		"effectiveDateTime": fhir.FormatInstant(when),
		"issued":            fhir.FormatInstant(a.Now().UTC()),
		"performer":         []any{ref(s.User.FHIRUser, s.User.Name)},
	}
	shown := ""
	if k.Key == "bp" {
		sys, ok1 := num("value")
		dia, ok2 := num("value2")
		if !ok1 || !ok2 || dia >= sys {
			a.showReadings(w, r, s, "reading", "Enter both blood pressure numbers: the top (higher) one first, then the bottom one")
			return
		}
		obs["component"] = []any{
			map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "8480-6", "display": "Systolic blood pressure"}}}, "valueQuantity": qty(sys)},
			map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "8462-4", "display": "Diastolic blood pressure"}}}, "valueQuantity": qty(dia)},
		}
		shown = fmt.Sprintf("%g/%g %s", sys, dia, k.Unit)
	} else {
		v, ok := num("value")
		if !ok {
			a.showReadings(w, r, s, "reading", fmt.Sprintf("Enter your %s as a number between %g and %g %s", strings.ToLower(k.Label), k.Min, k.Max, k.Unit))
			return
		}
		obs["valueQuantity"] = qty(v)
		shown = fmt.Sprintf("%g %s", v, k.Unit)
	}
	a.post(w, r, s, http.MethodPost, "Observation", obs, "/readings", "Your reading ("+shown+") was added to your record. The people caring for you can see it, marked as entered by you.")
}

// addGoal records a goal the person sets: in their words, with a target
// when it is one of the measurements the page charts.
func (a *App) addGoal(w http.ResponseWriter, r *http.Request, s *web.Session) {
	text := strings.TrimSpace(r.PostFormValue("text"))
	measure := r.PostFormValue("measure")
	target := strings.TrimSpace(r.PostFormValue("target"))
	due := strings.TrimSpace(r.PostFormValue("due"))
	if measure == "" && text == "" || utf8.RuneCountInString(text) > 500 {
		a.showReadings(w, r, s, "goal", "Describe your goal (for example: walk for 30 minutes a day), or choose a measurement and a target")
		return
	}
	goal := map[string]any{
		"resourceType":    "Goal",
		"lifecycleStatus": "active",
		"subject":         map[string]any{"reference": "Patient/" + s.Patient},
		"startDate":       a.Now().Format("2006-01-02"),
		"expressedBy":     ref(s.User.FHIRUser, s.User.Name),
	}
	var t map[string]any
	if measure != "" {
		found := false
		for _, m := range goalMeasures {
			if m.Key != measure {
				continue
			}
			found = true
			v, err := strconv.ParseFloat(target, 64)
			if err != nil || v <= 0 || v > 1000 {
				a.showReadings(w, r, s, "goal", "Enter the target as a number, in "+m.Unit)
				return
			}
			t = map[string]any{
				"measure":        map[string]any{"coding": []any{map[string]any{"system": loinc, "code": m.Code, "display": m.Display}}},
				"detailQuantity": map[string]any{"value": v, "comparator": "<", "unit": m.Unit, "system": "http://unitsofmeasure.org", "code": m.UCUM},
			}
			if text == "" {
				text = m.Label + " " + target + " " + m.Unit
			}
		}
		if !found {
			a.showReadings(w, r, s, "goal", "Choose a measurement from the list")
			return
		}
	}
	if due != "" {
		d, err := time.Parse("2006-01-02", due)
		if err != nil || d.Before(a.Now().Truncate(24*time.Hour)) {
			a.showReadings(w, r, s, "goal", "Enter the date you want to reach your goal by, in the future")
			return
		}
		if t == nil {
			t = map[string]any{}
		}
		t["dueDate"] = due
	}
	if t != nil {
		goal["target"] = []any{t}
	}
	goal["description"] = map[string]any{"text": text}
	a.post(w, r, s, http.MethodPost, "Goal", goal, "/readings", "Your goal was saved: "+text)
}
