package recordview

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The named trends, in the order the page shows them, and the codes that
// feed each. Blood pressure takes the panel's components or separate
// systolic and diastolic observations.
var trendDefs = []struct {
	key, title string
	codes      []string
}{
	{"bp", "Blood pressure", []string{sysLOINC + "|85354-9", sysLOINC + "|8480-6", sysLOINC + "|8462-4"}},
	{"hba1c", "HbA1c", []string{sysLOINC + "|59261-8", sysLOINC + "|4548-4"}},
	{"egfr", "eGFR", []string{sysLOINC + "|62238-1", sysLOINC + "|33914-3", sysLOINC + "|98979-8"}},
	{"weight", "Weight", []string{sysLOINC + "|29463-7", sysLOINC + "|3141-9"}},
	{"bmi", "BMI", []string{sysLOINC + "|39156-5"}},
	{"news2", "NEWS2", []string{sysSNOMED + "|1104051000000101"}},
}

var trendOfCode = func() map[string]string {
	m := map[string]string{}
	for _, d := range trendDefs {
		for _, c := range d.codes {
			m[c] = d.key
		}
	}
	return m
}()

const (
	codeSystolic  = sysLOINC + "|8480-6"
	codeDiastolic = sysLOINC + "|8462-4"
)

// seriesAcc gathers a trend's points before they are sorted. Points are
// collected after merging, so a result two sources sent is one point.
type seriesAcc struct {
	title, unit string
	names       []string
	series      [][]Point
}

func (b *builder) observation(r *resource) {
	if r.Status == "cancelled" || r.Status == "registered" {
		return
	}
	code := firstConcept(r.codes)
	d := firstDate(r.EffectiveDateTime, r.EffectivePeriod.Start, r.EffectiveInstant, r.Issued)
	it := b.item(r, code.display(), d)
	if it.Title == "" {
		return
	}
	it.Code, it.Author = code.key(), b.author(r)
	res := &Result{Item: it}
	res.Value, res.Unit = valueText(r.ValueQuantity, r.ValueCodeableConcept, r.ValueString, r.ValueBoolean, numText(r.ValueInteger))
	if res.Value == "" && len(r.Component) > 0 {
		res.Value, res.Unit = componentsText(r.Component)
	}
	if res.Value == "" && r.Status != "final" && r.Status != "amended" && r.Status != "corrected" {
		return
	}
	if len(r.ReferenceRange) > 0 {
		res.Range = rangeText(r.ReferenceRange[0], res.Unit)
	}
	if ic := firstConcept(r.Interpretation); len(ic.Coding) > 0 || ic.Text != "" {
		res.Flag = ic.code("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation")
		if res.Flag == "" {
			res.Flag = ic.display()
		}
		res.Abnormal = res.Flag != "" && res.Flag != "N"
	} else if r.ValueQuantity != nil && r.ValueQuantity.Value != nil && len(r.ReferenceRange) > 0 {
		v, err := strconv.ParseFloat(r.ValueQuantity.Value.String(), 64)
		rr := r.ReferenceRange[0]
		if err == nil {
			if lo, ok := qty(rr.Low); ok && v < lo {
				res.Flag, res.Abnormal, res.FlagDerived = "L", true, true
			} else if hi, ok := qty(rr.High); ok && v > hi {
				res.Flag, res.Abnormal, res.FlagDerived = "H", true, true
			}
		}
	}
	if res.Abnormal {
		res.Detail = flagWords(res.Flag)
	}
	key := ""
	if it.Code != "" {
		key = it.Code + "|" + d.T.Format(time.RFC3339) + "|" + res.Value + res.Unit
	}
	b.results.add(key, res)
	// The raw points go with the merged result; remember them by ref.
	b.pointsOf(r, res)
}

// pointsOf records r's numeric values for the trends.
func (b *builder) pointsOf(r *resource, res *Result) {
	if res.Date.IsZero() || len(res.Refs) == 0 {
		return
	}
	if b.points == nil {
		b.points = map[string][]namedPoint{}
	}
	ref := res.Refs[0]
	add := func(code, name, unit string, q *quantity) {
		if v, ok := qty(q); ok {
			b.points[ref] = append(b.points[ref], namedPoint{code, name, unit, Point{res.Date, v}})
		}
	}
	add(res.Code, res.Title, unitOf(r.ValueQuantity), r.ValueQuantity)
	if r.ValueInteger != nil {
		if v, err := r.ValueInteger.Float64(); err == nil {
			b.points[ref] = append(b.points[ref], namedPoint{res.Code, res.Title, "", Point{res.Date, v}})
		}
	}
	for _, c := range r.Component {
		add(c.Code.key(), c.Code.display(), unitOf(c.ValueQuantity), c.ValueQuantity)
	}
}

type namedPoint struct {
	code, name, unit string
	p                Point
}

func numText(n *json.Number) string {
	if n == nil {
		return ""
	}
	return n.String()
}

func unitOf(q *quantity) string {
	if q == nil {
		return ""
	}
	if q.Unit != "" {
		return q.Unit
	}
	return q.Code
}

func qty(q *quantity) (float64, bool) {
	if q == nil || q.Value == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(q.Value.String(), 64)
	return v, err == nil
}

func quantityText(q *quantity) (string, string) {
	if q == nil || q.Value == nil {
		return "", ""
	}
	return q.Comparator + q.Value.String(), unitOf(q)
}

func valueText(q *quantity, c *concept, s *string, bo *bool, integer string) (string, string) {
	switch {
	case q != nil && q.Value != nil:
		return quantityText(q)
	case c != nil:
		return c.display(), ""
	case s != nil:
		return *s, ""
	case bo != nil:
		return map[bool]string{true: "Yes", false: "No"}[*bo], ""
	}
	return integer, ""
}

// componentsText writes a panel's components: "142/92" for blood
// pressure, else "name value unit; …".
func componentsText(cs []component) (string, string) {
	var sys, dia *quantity
	for _, c := range cs {
		switch c.Code.key() {
		case codeSystolic:
			sys = c.ValueQuantity
		case codeDiastolic:
			dia = c.ValueQuantity
		}
	}
	if sys != nil && dia != nil && sys.Value != nil && dia.Value != nil {
		return sys.Value.String() + "/" + dia.Value.String(), unitOf(sys)
	}
	var parts []string
	for _, c := range cs {
		v, u := valueText(c.ValueQuantity, c.ValueCodeableConcept, c.ValueString, nil, "")
		if v != "" {
			parts = append(parts, joinNonEmpty(" ", c.Code.display(), v, u))
		}
	}
	return strings.Join(parts, "; "), ""
}

func rangeText(rr referenceRange, unit string) string {
	if rr.Text != "" {
		return rr.Text
	}
	lo, lok := quantityText(rr.Low)
	hi, hok := quantityText(rr.High)
	u := unit
	if u == "" {
		_, u = quantityText(rr.High)
	}
	switch {
	case lo != "" && hi != "":
		return joinNonEmpty(" ", lo+"–"+hi, u)
	case lo != "":
		_ = lok
		return joinNonEmpty(" ", "≥ "+lo, u)
	case hi != "":
		_ = hok
		return joinNonEmpty(" ", "≤ "+hi, u)
	}
	return ""
}

func flagWords(f string) string {
	switch f {
	case "H":
		return "High"
	case "HH", "HU":
		return "Very high"
	case "L":
		return "Low"
	case "LL", "LU":
		return "Very low"
	case "A", "AA":
		return "Abnormal"
	}
	return "Abnormal: " + f
}

func (b *builder) report(r *resource) {
	code := firstConcept(r.codes)
	it := b.item(r, code.display(), firstDate(r.EffectiveDateTime, r.EffectivePeriod.Start, r.Issued))
	if it.Title == "" {
		return
	}
	it.Code, it.Author = code.key(), b.author(r)
	rep := &Report{Item: it, Conclusion: r.Conclusion}
	for _, res := range r.Result {
		if res.Reference != "" {
			rep.Results = append(rep.Results, res.Reference)
		}
	}
	rep.Detail = r.Conclusion
	key := ""
	if it.Code != "" {
		key = it.Code + "|" + it.Date.Format(time.RFC3339)
	}
	b.reports.add(key, rep)
}

// finishResults groups the merged results by code and builds the trends.
func (b *builder) finishResults() {
	groups := map[string]*ResultGroup{}
	var order []string
	acc := map[string]*seriesAcc{}
	for _, res := range b.results.items {
		key := res.Code
		if key == "" {
			key = "text|" + res.Title
		}
		g := groups[key]
		if g == nil {
			g = &ResultGroup{Key: key, Title: res.Title, Unit: res.Unit}
			groups[key] = g
			order = append(order, key)
		}
		g.Results = append(g.Results, *res)
		// One point per merged result: the first ref's values.
		for _, np := range b.points[firstOf(res.Refs)] {
			tk := trendOfCode[np.code]
			if tk == "" {
				tk = trendOfCode[res.Code]
			}
			name := ""
			if tk == "bp" {
				switch np.code {
				case codeSystolic:
					name = "Systolic"
				case codeDiastolic:
					name = "Diastolic"
				default:
					continue
				}
			} else if tk == "" {
				if np.code != res.Code {
					continue // components of other panels are not charted
				}
				tk = res.Code
			}
			a := acc[tk]
			if a == nil {
				a = &seriesAcc{title: res.Title, unit: np.unit}
				acc[tk] = a
			}
			i := slices.Index(a.names, name)
			if i < 0 {
				a.names = append(a.names, name)
				a.series = append(a.series, nil)
				i = len(a.names) - 1
			}
			a.series[i] = append(a.series[i], np.p)
		}
	}
	for _, k := range order {
		g := groups[k]
		rs := ptrs(g.Results)
		newestFirst(rs)
		g.Results = deref(rs)
		b.rec.Results = append(b.rec.Results, *g)
	}
	slices.SortStableFunc(b.rec.Results, func(x, y ResultGroup) int {
		if c := y.Results[0].Date.Compare(x.Results[0].Date); c != 0 {
			return c
		}
		return strings.Compare(x.Title, y.Title)
	})
	latest := map[string]Result{}
	for _, g := range b.rec.Results {
		tk := trendOfCode[g.Key]
		if tk == "" {
			tk = g.Key
		}
		if l, ok := latest[tk]; !ok || g.Results[0].Date.After(l.Date) {
			latest[tk] = g.Results[0]
		}
	}
	emit := func(key, title string) {
		a := acc[key]
		if a == nil {
			return
		}
		t := Trend{Key: key, Title: title, Unit: a.unit}
		n := 0
		for i, s := range a.series {
			slices.SortStableFunc(s, func(x, y Point) int { return x.T.Compare(y.T) })
			t.Names = append(t.Names, a.names[i])
			t.Series = append(t.Series, s)
			n += len(s)
		}
		if title == "" && n < 2 {
			return // a single value is not a trend
		}
		if t.Title == "" {
			t.Title = a.title
		}
		if l, ok := latest[key]; ok {
			t.Latest, t.At = joinNonEmpty(" ", l.Value, l.Unit), l.Date
		}
		b.rec.Trends = append(b.rec.Trends, t)
	}
	for _, d := range trendDefs {
		emit(d.key, d.title)
	}
	var others []string
	for k := range acc {
		if trendOfCode[k] == "" && !slices.ContainsFunc(trendDefs, func(d struct {
			key, title string
			codes      []string
		}) bool {
			return d.key == k
		}) {
			others = append(others, k)
		}
	}
	slices.SortFunc(others, func(x, y string) int {
		if c := strings.Compare(acc[x].title, acc[y].title); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	for _, k := range others {
		emit(k, "")
	}
}
