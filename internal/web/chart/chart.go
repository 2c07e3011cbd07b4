// Package chart draws results trends — blood pressure, HbA1c, eGFR, weight,
// NEWS2, peak flow, glucose — as inline SVG on the server, so the portals
// show them with no script, no network and output that golden files can pin.
//
// A chart is an image with a text equivalent: its <title> names it and its
// <desc> states what a sighted reader would take from it (how many readings,
// over what dates, the latest, the lowest and highest), and each point has a
// <title> with its date and value. Series differ in colour, marker shape and
// dash, never colour alone.
//
// The output is deterministic: the same Chart gives the same bytes.
package chart

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Point is one reading.
type Point struct {
	T time.Time
	V float64
}

// Series is one measured quantity, such as "Systolic". Points need not be
// sorted; NaN and ±Inf values, and values beyond ±1e12 (no measurement
// is that large; they would only wreck the scale), are skipped.
type Series struct {
	Name   string
	Points []Point
}

// Band is a shaded range of values, such as a normal range or a target.
// Use math.Inf(1) for Hi (or math.Inf(-1) for Lo) for an open-ended range,
// such as eGFR ≥ 90.
type Band struct {
	Lo, Hi float64
	Label  string
}

// Chart describes a trend chart. The y axis spans the readings, the goal
// and the bands' finite edges, rounded out to tick values; the x axis spans
// From..To, or the readings' dates when those are zero. Readings outside
// From..To are left out.
type Chart struct {
	Title  string   // accessible name, e.g. "Blood pressure"
	Unit   string   // e.g. "mmHg", "mmol/mol"
	Series []Series // usually 1; 2 for blood pressure; a legend is drawn for 2 or more
	Bands  []Band   // optional shaded ranges
	Goal   *float64 // optional goal, drawn as a labelled dashed line

	Width, Height int // viewBox size; default 640×240

	From, To time.Time // optional x range

	// Location is the time zone of the date labels; default UTC.
	Location *time.Location
	// ID prefixes the ids that aria-labelledby points at. By default it is
	// derived from the chart's content; set it when the same chart can appear
	// twice on one page.
	ID string
}

// Limits that keep the SVG small whatever the data.
const (
	// maxDrawn is the most points drawn, over all series: beyond it each
	// series is thinned to the lowest and highest reading per time bucket.
	maxDrawn = 500
	// maxValue bounds the readings taken as measurements.
	maxValue = 1e12
)

// Layout, in viewBox units.
const (
	marginLeft   = 52
	marginRight  = 16
	marginTop    = 28 // room for the unit and the legend
	marginBottom = 28 // room for the date labels
	defaultW     = 640
	defaultH     = 240
)

// halo outlines a label in white so it stays legible over lines and shading.
const halo = ` stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`

// seriesStyle gives each series a colour, a marker shape and a dash, so they
// differ for people who cannot tell the colours apart and on grey printers.
type seriesStyle struct {
	colour string
	marker string // "circle", "square", "triangle"
	dash   string // stroke-dasharray; "" for solid
}

var styles = []seriesStyle{
	{"#005eb8", "circle", ""},         // NHS blue
	{"#7c2855", "square", "6 4"},      // NHS dark pink
	{"#007f3b", "triangle", "2 3"},    // NHS green
	{"#212b32", "circle", "10 3 2 3"}, // NHS black
}

// SVG renders the chart as inline SVG markup, every piece of text in it
// escaped. A chart with no valid reading renders as a small SVG saying
// "No readings", so the page keeps its shape and screen readers hear why.
func (c Chart) SVG() template.HTML {
	return template.HTML(c.render())
}

// prepared holds the cleaned-up data, computed once before drawing.
type prepared struct {
	series []Series // valid, sorted, in range; not thinned
	tmin   float64  // x range, Unix seconds
	tmax   float64
	vmin   float64 // y range after rounding to ticks
	vmax   float64
	yticks []float64
	ydec   int // decimals of the y tick labels
	bands  []Band
	goal   *float64
	loc    *time.Location
}

func (c Chart) prepare() (prepared, bool) {
	p := prepared{loc: cmp.Or(c.Location, time.UTC)}
	from, to := c.From, c.To
	n := 0
	for _, s := range c.Series {
		var pts []Point
		for _, pt := range s.Points {
			if !finite(pt.V) || math.Abs(pt.V) > maxValue {
				continue
			}
			if (!from.IsZero() && pt.T.Before(from)) || (!to.IsZero() && pt.T.After(to)) {
				continue
			}
			pts = append(pts, pt)
		}
		slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
		n += len(pts)
		p.series = append(p.series, Series{Name: s.Name, Points: pts})
	}
	if n == 0 {
		return p, false
	}

	// x range.
	first, last := time.Time{}, time.Time{}
	for _, s := range p.series {
		if len(s.Points) == 0 {
			continue
		}
		if first.IsZero() || s.Points[0].T.Before(first) {
			first = s.Points[0].T
		}
		if last.IsZero() || s.Points[len(s.Points)-1].T.After(last) {
			last = s.Points[len(s.Points)-1].T
		}
	}
	if !from.IsZero() {
		first = from
	}
	if !to.IsZero() {
		last = to
	}
	p.tmin, p.tmax = unix(first), unix(last)
	if p.tmax-p.tmin < 1 {
		// One moment: centre it in a week so the date ticks make sense.
		p.tmin, p.tmax = unix(first.AddDate(0, 0, -3)), unix(last.AddDate(0, 0, 3))
	}

	// y range.
	lo, hi := math.Inf(1), math.Inf(-1)
	widen := func(v float64) {
		lo, hi = min(lo, v), max(hi, v)
	}
	for _, s := range p.series {
		for _, pt := range s.Points {
			widen(pt.V)
		}
	}
	if c.Goal != nil && finite(*c.Goal) && math.Abs(*c.Goal) <= maxValue {
		g := *c.Goal
		p.goal = &g
		widen(g)
	}
	for _, b := range c.Bands {
		if math.IsNaN(b.Lo) || math.IsNaN(b.Hi) {
			continue
		}
		if b.Lo > b.Hi {
			b.Lo, b.Hi = b.Hi, b.Lo
		}
		// An edge beyond any measurement is an open end.
		if b.Lo < -maxValue {
			b.Lo = math.Inf(-1)
		}
		if b.Hi > maxValue {
			b.Hi = math.Inf(1)
		}
		if finite(b.Lo) {
			widen(b.Lo)
		}
		if finite(b.Hi) {
			widen(b.Hi)
		}
		p.bands = append(p.bands, b)
	}
	if hi-lo < max(math.Abs(hi), math.Abs(lo), 1)*1e-9 {
		// Flat: pad so the line sits mid-chart rather than on an edge.
		pad := math.Abs(hi) * 0.1
		if pad == 0 {
			pad = 1
		}
		lo, hi = lo-pad, hi+pad
	}
	// The finest 1-2-5 step that needs at most six intervals.
	step := niceStep((hi - lo) / 6)
	for i := 0; i < 64 && math.Ceil(hi/step)-math.Floor(lo/step) > 6; i++ {
		step = niceStep(step * 1.5)
	}
	p.vmin = math.Floor(lo/step) * step
	p.vmax = math.Ceil(hi/step) * step
	for i := 0; i <= 20; i++ {
		v := p.vmin + float64(i)*step
		if v > p.vmax+step/2 {
			break
		}
		p.yticks = append(p.yticks, v)
	}
	for p.ydec < 12 {
		scaled := step * math.Pow(10, float64(p.ydec))
		if math.Abs(scaled-math.Round(scaled)) < 1e-6*scaled {
			break
		}
		p.ydec++
	}
	return p, true
}

// niceStep rounds a raw tick interval up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	exp := math.Floor(math.Log10(raw))
	base := math.Pow(10, exp)
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*base*(1+1e-9) {
			return m * base
		}
	}
	return 10 * base
}

func (c Chart) render() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = defaultW
	}
	if h == 0 {
		h = defaultH
	}
	w, h = min(max(w, 240), 4000), min(max(h, 120), 2000)

	id := c.id()
	title := cmp.Or(strings.TrimSpace(c.Title), "Chart")
	p, ok := c.prepare()

	var b strings.Builder
	if !ok {
		h = 60
	}
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + itoa(w) + ` ` + itoa(h) +
		`" width="` + itoa(w) + `" height="` + itoa(h) + `" role="img" aria-labelledby="` +
		id + `-title ` + id + `-desc" class="app-chart__svg">` + "\n")
	b.WriteString(`<title id="` + id + `-title">` + esc(title) + "</title>\n")
	if !ok {
		b.WriteString(`<desc id="` + id + `-desc">No readings.</desc>` + "\n")
		b.WriteString(`<text x="` + itoa(w/2) + `" y="35" text-anchor="middle" font-size="16" fill="#4c6272">No readings</text>` + "\n")
		b.WriteString("</svg>")
		return b.String()
	}
	b.WriteString(`<desc id="` + id + `-desc">` + esc(c.describe(p)) + "</desc>\n")

	x0, x1 := float64(marginLeft), float64(w-marginRight)
	y0, y1 := float64(marginTop), float64(h-marginBottom)
	// Readings are inset from the axis so end markers clear the labels.
	const inset = 8
	xpos := func(t time.Time) float64 {
		return x0 + inset + (unix(t)-p.tmin)/(p.tmax-p.tmin)*(x1-x0-2*inset)
	}
	ypos := func(v float64) float64 {
		v = min(max(v, p.vmin), p.vmax)
		return y1 - (v-p.vmin)/(p.vmax-p.vmin)*(y1-y0)
	}

	// Bands under everything else.
	for _, band := range p.bands {
		top, bot := ypos(band.Hi), ypos(band.Lo)
		if bot-top <= 0 {
			continue
		}
		b.WriteString(`<rect x="` + f1(x0) + `" y="` + f1(top) + `" width="` + f1(x1-x0) + `" height="` + f1(bot-top) +
			`" fill="#007f3b" fill-opacity="0.12"/>` + "\n")
		if band.Label != "" && bot-top >= 14 {
			b.WriteString(`<text x="` + f1(x1-4) + `" y="` + f1(top+12) + `" font-size="11" fill="#212b32" text-anchor="end"` + halo + `>` + esc(band.Label) + "</text>\n")
		}
	}

	// Y grid and labels.
	b.WriteString(`<g font-size="12" fill="#4c6272" text-anchor="end">` + "\n")
	for _, v := range p.yticks {
		y := f1(ypos(v))
		b.WriteString(`<line x1="` + f1(x0) + `" x2="` + f1(x1) + `" y1="` + y + `" y2="` + y + `" stroke="#d8dde0" stroke-width="1"/>` + "\n")
		b.WriteString(`<text x="` + f1(x0-6) + `" y="` + f1(ypos(v)+4) + `">` + esc(num(v, p.ydec)) + "</text>\n")
	}
	b.WriteString("</g>\n")
	b.WriteString(`<text x="4" y="14" font-size="12" fill="#4c6272">` + esc(c.Unit) + "</text>\n")

	// X axis and date labels.
	b.WriteString(`<line x1="` + f1(x0) + `" x2="` + f1(x1) + `" y1="` + f1(y1) + `" y2="` + f1(y1) + `" stroke="#4c6272" stroke-width="1"/>` + "\n")
	b.WriteString(`<g font-size="12" fill="#4c6272" text-anchor="middle">` + "\n")
	for _, tk := range xTicks(p.tmin, p.tmax, p.loc, max(2, (w-marginLeft-marginRight)/90)) {
		x := xpos(tk.t)
		b.WriteString(`<line x1="` + f1(x) + `" x2="` + f1(x) + `" y1="` + f1(y1) + `" y2="` + f1(y1+4) + `" stroke="#4c6272" stroke-width="1"/>` + "\n")
		b.WriteString(`<text x="` + f1(x) + `" y="` + f1(y1+18) + `">` + esc(tk.label) + "</text>\n")
	}
	b.WriteString("</g>\n")

	// Goal.
	if p.goal != nil {
		y := ypos(*p.goal)
		b.WriteString(`<line x1="` + f1(x0) + `" x2="` + f1(x1) + `" y1="` + f1(y) + `" y2="` + f1(y) +
			`" stroke="#212b32" stroke-width="1.5" stroke-dasharray="8 4"/>` + "\n")
		label := "Goal " + strings.TrimSpace(value(*p.goal)+" "+c.Unit)
		ly := y - 4
		if ly < y0+10 {
			ly = y + 14
		}
		b.WriteString(`<text x="` + f1(x0+inset) + `" y="` + f1(ly) + `" font-size="12" fill="#212b32"` + halo + `>` + esc(label) + "</text>\n")
	}

	// Series.
	budget := maxDrawn / max(1, len(p.series))
	for i, s := range p.series {
		st := styles[i%len(styles)]
		pts := thin(s.Points, budget)
		if len(pts) >= 2 {
			var coords strings.Builder
			for j, pt := range pts {
				if j > 0 {
					coords.WriteByte(' ')
				}
				coords.WriteString(f1(xpos(pt.T)) + "," + f1(ypos(pt.V)))
			}
			b.WriteString(`<polyline points="` + coords.String() + `" fill="none" stroke="` + st.colour + `" stroke-width="2"`)
			if st.dash != "" {
				b.WriteString(` stroke-dasharray="` + st.dash + `"`)
			}
			b.WriteString("/>\n")
		}
		b.WriteString(`<g fill="` + st.colour + `">` + "\n")
		for _, pt := range pts {
			tip := strings.TrimSpace(s.Name+" "+value(pt.V)+" "+c.Unit) + ", " + when(pt.T, p.loc)
			b.WriteString(marker(st.marker, xpos(pt.T), ypos(pt.V), 4, "<title>"+esc(tip)+"</title>") + "\n")
		}
		b.WriteString("</g>\n")
	}

	// Legend, for more than one series.
	if len(p.series) > 1 {
		x := x0 + 80
		for i, s := range p.series {
			st := styles[i%len(styles)]
			b.WriteString(`<line x1="` + f1(x) + `" x2="` + f1(x+24) + `" y1="10" y2="10" stroke="` + st.colour + `" stroke-width="2"`)
			if st.dash != "" {
				b.WriteString(` stroke-dasharray="` + st.dash + `"`)
			}
			b.WriteString("/>\n")
			b.WriteString(`<g fill="` + st.colour + `">` + marker(st.marker, x+12, 10, 4, "") + "</g>\n")
			name := cmp.Or(s.Name, "Series "+itoa(i+1))
			b.WriteString(`<text x="` + f1(x+30) + `" y="14" font-size="12" fill="#212b32">` + esc(name) + "</text>\n")
			x += 40 + 7*float64(len([]rune(name)))
		}
	}
	b.WriteString("</svg>")
	return b.String()
}

func marker(shape string, x, y, r float64, inner string) string {
	var open string
	switch shape {
	case "square":
		open = `<rect x="` + f1(x-r) + `" y="` + f1(y-r) + `" width="` + f1(2*r) + `" height="` + f1(2*r) + `"`
	case "triangle":
		open = `<polygon points="` + f1(x) + "," + f1(y-r-1) + " " + f1(x-r-1) + "," + f1(y+r) + " " + f1(x+r+1) + "," + f1(y+r) + `"`
	default:
		open = `<circle cx="` + f1(x) + `" cy="` + f1(y) + `" r="` + f1(r) + `"`
	}
	if inner == "" {
		return open + "/>"
	}
	end := map[string]string{"square": "</rect>", "triangle": "</polygon>"}[shape]
	return open + ">" + inner + cmp.Or(end, "</circle>")
}

// thin keeps at most budget points of a sorted series: the first, the last,
// and the lowest and highest in each of equal-count buckets between, so the
// drawn line keeps every peak and trough that matters to a reader.
func thin(pts []Point, budget int) []Point {
	budget = max(budget, 4)
	if len(pts) <= budget {
		return pts
	}
	inner := pts[1 : len(pts)-1]
	buckets := (budget - 2) / 2
	out := []Point{pts[0]}
	for k := range buckets {
		lo, hi := k*len(inner)/buckets, (k+1)*len(inner)/buckets
		if lo >= hi {
			continue
		}
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if inner[i].V < inner[imin].V {
				imin = i
			}
			if inner[i].V > inner[imax].V {
				imax = i
			}
		}
		out = append(out, inner[min(imin, imax)])
		if imin != imax {
			out = append(out, inner[max(imin, imax)])
		}
	}
	return append(out, pts[len(pts)-1])
}

// describe is the text a screen reader gives for the chart.
func (c Chart) describe(p prepared) string {
	var parts []string
	for i, s := range p.series {
		var d string
		name := s.Name
		if name == "" && len(p.series) > 1 {
			name = "Series " + itoa(i+1)
		}
		pts := s.Points
		switch len(pts) {
		case 0:
			d = "no readings."
		case 1:
			d = "1 reading, " + withUnit(pts[0].V, c.Unit) + " on " + when(pts[0].T, p.loc) + "."
		default:
			lo, hi := pts[0].V, pts[0].V
			for _, pt := range pts {
				lo, hi = min(lo, pt.V), max(hi, pt.V)
			}
			last := pts[len(pts)-1]
			d = itoa(len(pts)) + " readings from " + day(pts[0].T, p.loc) + " to " + day(last.T, p.loc) +
				". Latest " + withUnit(last.V, c.Unit) + " on " + when(last.T, p.loc) +
				". Lowest " + value(lo) + ", highest " + withUnit(hi, c.Unit) + "."
		}
		if name != "" {
			d = name + ": " + d
		}
		parts = append(parts, d)
	}
	if p.goal != nil {
		parts = append(parts, "Goal "+withUnit(*p.goal, c.Unit)+".")
	}
	for _, b := range p.bands {
		label := cmp.Or(b.Label, "Range")
		switch {
		case finite(b.Lo) && finite(b.Hi):
			parts = append(parts, "Shaded: "+label+", "+value(b.Lo)+" to "+withUnit(b.Hi, c.Unit)+".")
		case finite(b.Lo):
			parts = append(parts, "Shaded: "+label+", "+withUnit(b.Lo, c.Unit)+" or more.")
		case finite(b.Hi):
			parts = append(parts, "Shaded: "+label+", "+withUnit(b.Hi, c.Unit)+" or less.")
		}
	}
	return strings.Join(parts, " ")
}

// id is a token safe in an attribute and an IDREF list.
func (c Chart) id() string {
	if c.ID != "" {
		var b strings.Builder
		for _, r := range c.ID {
			if r < 0x80 && (r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
				b.WriteRune(r)
			} else {
				b.WriteByte('-')
			}
		}
		s := b.String()
		if s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
			s = "chart-" + s
		}
		return s
	}
	h := sha256.New()
	h.Write([]byte(c.Title + "\x00" + c.Unit + "\x00"))
	var buf [16]byte
	for _, s := range c.Series {
		h.Write([]byte(s.Name + "\x00"))
		for _, pt := range s.Points {
			binary.BigEndian.PutUint64(buf[:8], uint64(pt.T.UnixNano()))
			binary.BigEndian.PutUint64(buf[8:], math.Float64bits(pt.V))
			h.Write(buf[:])
		}
	}
	return "chart-" + hex.EncodeToString(h.Sum(nil)[:5])
}

type tick struct {
	t     time.Time
	label string
}

// tickStep is one candidate spacing of date ticks.
type tickStep struct {
	hours, days, months int
	layout              string
	approx              float64 // seconds, to count ticks
}

var tickSteps = func() []tickStep {
	const hour, day = 3600.0, 86400.0
	const month = 30.44 * day
	s := []tickStep{
		{hours: 1, layout: "2 Jan 15:04", approx: hour},
		{hours: 3, layout: "2 Jan 15:04", approx: 3 * hour},
		{hours: 6, layout: "2 Jan 15:04", approx: 6 * hour},
		{hours: 12, layout: "2 Jan 15:04", approx: 12 * hour},
		{days: 1, layout: "2 Jan", approx: day},
		{days: 2, layout: "2 Jan", approx: 2 * day},
		{days: 7, layout: "2 Jan", approx: 7 * day},
		{days: 14, layout: "2 Jan", approx: 14 * day},
		{months: 1, layout: "Jan 2006", approx: month},
		{months: 2, layout: "Jan 2006", approx: 2 * month},
		{months: 3, layout: "Jan 2006", approx: 3 * month},
		{months: 6, layout: "Jan 2006", approx: 6 * month},
	}
	for _, y := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000} {
		s = append(s, tickStep{months: 12 * y, layout: "2006", approx: float64(y) * 12 * month})
	}
	return s
}()

// xTicks picks the finest spacing that gives at most maxTicks labels, and
// places ticks on whole hours, days, months or years.
func xTicks(tmin, tmax float64, loc *time.Location, maxTicks int) []tick {
	span := tmax - tmin
	st := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s.approx <= float64(maxTicks) {
			st = s
			break
		}
	}
	from := fromUnix(tmin).In(loc)
	y, m, d := from.Date()
	var t time.Time
	switch {
	case st.hours > 0:
		t = time.Date(y, m, d, from.Hour()/st.hours*st.hours, 0, 0, 0, loc)
	case st.days > 0:
		t = time.Date(y, m, d, 0, 0, 0, 0, loc)
	case st.months < 12:
		t = time.Date(y, time.Month((int(m)-1)/st.months*st.months+1), 1, 0, 0, 0, 0, loc)
	default:
		n := st.months / 12
		t = time.Date(floorDiv(y, n)*n, 1, 1, 0, 0, 0, 0, loc)
	}
	var out []tick
	for range 64 {
		u := unix(t)
		if u > tmax {
			break
		}
		if u >= tmin {
			out = append(out, tick{t, t.Format(st.layout)})
		}
		switch {
		case st.hours > 0:
			t = t.Add(time.Duration(st.hours) * time.Hour)
		case st.days > 0:
			t = t.AddDate(0, 0, st.days)
		default:
			t = t.AddDate(0, st.months, 0)
		}
	}
	if len(out) == 0 {
		out = append(out, tick{from, from.Format(st.layout)})
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func unix(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

func fromUnix(u float64) time.Time {
	s := math.Floor(u)
	return time.Unix(int64(s), int64((u-s)*1e9)).UTC()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func itoa(i int) string { return strconv.Itoa(i) }

// f1 formats a coordinate: one decimal is finer than a screen pixel at the
// default size, and keeps the markup short and stable.
func f1(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "-0.0" {
		return "0.0"
	}
	return s
}

// num formats a tick label with a fixed number of decimals.
func num(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Trim(s, "-0.") == "" {
		return strings.TrimPrefix(s, "-")
	}
	return s
}

// value formats a reading as a person would write it: up to two decimals,
// no trailing zeros.
func value(v float64) string {
	return num(math.Round(v*100)/100, -1)
}

func withUnit(v float64, unit string) string {
	return strings.TrimSpace(value(v) + " " + unit)
}

// day is a date as written in the UK: "5 Mar 2024".
func day(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 Jan 2006") }

// when adds the time of day when the reading has one.
func when(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2 Jan 2006")
	}
	return t.Format("2 Jan 2006 15:04")
}

// esc escapes text for an XML or HTML text node or quoted attribute, and
// replaces what XML cannot hold (control characters, invalid UTF-8) with
// U+FFFD, so the output always parses.
func esc(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (0xD800 <= r && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
