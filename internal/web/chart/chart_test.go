package chart

import (
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr(v float64) *float64 { return &v }

func goldenCharts() map[string]Chart {
	bpDates := []time.Time{date(2024, 1, 9), date(2024, 2, 14), date(2024, 3, 20), date(2024, 5, 2), date(2024, 6, 30), date(2024, 9, 11)}
	sys := []float64{152, 148, 141, 139, 133, 128}
	dia := []float64{95, 92, 90, 86, 84, 80}
	var s1, s2 []Point
	for i, t := range bpDates {
		s1 = append(s1, Point{t, sys[i]})
		s2 = append(s2, Point{t, dia[i]})
	}
	return map[string]Chart{
		"bp": {
			Title:  "Blood pressure",
			Unit:   "mmHg",
			Series: []Series{{Name: "Systolic", Points: s1}, {Name: "Diastolic", Points: s2}},
			Bands:  []Band{{Lo: 90, Hi: 140, Label: "Target systolic"}},
		},
		"hba1c-goal": {
			Title: "HbA1c",
			Unit:  "mmol/mol",
			Series: []Series{{Points: []Point{
				// Unsorted on purpose.
				{date(2023, 4, 3), 58}, {date(2021, 3, 1), 71}, {date(2022, 3, 15), 64},
				{date(2021, 9, 20), 67}, {date(2022, 10, 1), 61}, {date(2023, 11, 6), 52},
				{date(2024, 5, 13), 49.5},
			}}},
			Goal: ptr(48),
		},
		"single": {
			Title:  "Weight",
			Unit:   "kg",
			Series: []Series{{Points: []Point{{time.Date(2024, 3, 12, 10, 30, 0, 0, time.UTC), 82.4}}}},
		},
		"empty": {
			Title:  "eGFR",
			Unit:   "mL/min/1.73m2",
			Series: []Series{{Points: []Point{{date(2024, 1, 1), math.NaN()}}}},
		},
		"flat": {
			Title: "NEWS2",
			Unit:  "score",
			Series: []Series{{Points: []Point{
				{time.Date(2024, 3, 12, 8, 0, 0, 0, time.UTC), 2},
				{time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC), 2},
				{time.Date(2024, 3, 12, 20, 0, 0, 0, time.UTC), 2},
				{time.Date(2024, 3, 13, 2, 0, 0, 0, time.UTC), 2},
			}}},
		},
		"escaping": {
			Title: `<script>alert("x")</script> & 'peak' flow`,
			Unit:  `L/min<b>`,
			Series: []Series{
				{Name: "</title><script>1</script>", Points: []Point{{date(2024, 1, 1), 400}, {date(2024, 2, 1), 420}}},
				{Name: "a\x00b\xffc", Points: []Point{{date(2024, 1, 1), 380}}},
			},
			Bands: []Band{{Lo: 350, Hi: math.Inf(1), Label: `"><script>`}},
			ID:    `x" onload="alert(1)`,
		},
		"egfr-decades": {
			Title: "eGFR",
			Unit:  "mL/min/1.73m2",
			Series: []Series{{Points: []Point{
				{date(1988, 6, 1), 96}, {date(1999, 2, 1), 88}, {date(2010, 7, 1), 71},
				{date(2019, 1, 1), 58}, {date(2024, 8, 1), 47},
			}}},
			Bands: []Band{{Lo: 60, Hi: math.Inf(1), Label: "Normal"}},
		},
	}
}

func TestGolden(t *testing.T) {
	for name, c := range goldenCharts() {
		t.Run(name, func(t *testing.T) {
			got := string(c.SVG())
			checkXML(t, got)
			file := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(file, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("%s differs from the output; run go test -update and review the diff", file)
			}
			if again := string(c.SVG()); again != got {
				t.Errorf("output not deterministic")
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	got := string(goldenCharts()["escaping"].SVG())
	for _, bad := range []string{"<script", "<b>", `" onload=`, "\x00", "\xff"} {
		if strings.Contains(got, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	if !strings.Contains(got, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("title not escaped as text")
	}
}

func TestDescription(t *testing.T) {
	c := goldenCharts()["hba1c-goal"]
	p, ok := c.prepare()
	if !ok {
		t.Fatal("no data")
	}
	want := "7 readings from 1 Mar 2021 to 13 May 2024. Latest 49.5 mmol/mol on 13 May 2024. " +
		"Lowest 49.5, highest 71 mmol/mol. Goal 48 mmol/mol."
	if got := c.describe(p); got != want {
		t.Errorf("describe =\n%q\nwant\n%q", got, want)
	}
}

func TestThinning(t *testing.T) {
	start := date(2020, 1, 1)
	var pts []Point
	for i := range 10000 {
		v := 100 + 10*math.Sin(float64(i)/50)
		switch i {
		case 1234:
			v = -50
		case 7777:
			v = 500
		}
		pts = append(pts, Point{start.Add(time.Duration(i) * time.Hour), v})
	}
	c := Chart{Title: "Glucose", Unit: "mmol/L", Series: []Series{{Name: "Glucose", Points: pts}}}
	got := string(c.SVG())
	checkXML(t, got)
	if n := strings.Count(got, "<circle"); n > maxDrawn || n < maxDrawn/2 {
		t.Errorf("%d markers drawn, want at most %d and not too few", n, maxDrawn)
	}
	for _, v := range []string{"Glucose -50 mmol/L", "Glucose 500 mmol/L"} {
		if !strings.Contains(got, v) {
			t.Errorf("extreme reading %q thinned away", v)
		}
	}
	if len(got) > 100_000 {
		t.Errorf("SVG is %d bytes", len(got))
	}
	thinned := thin(pts, 500)
	if thinned[0] != pts[0] || thinned[len(thinned)-1] != pts[len(pts)-1] {
		t.Errorf("first or last reading not kept")
	}
	for i := 1; i < len(thinned); i++ {
		if !thinned[i].T.After(thinned[i-1].T) {
			t.Fatalf("thinned points out of order at %d", i)
		}
	}
}

func TestYTicks(t *testing.T) {
	tests := []struct {
		values     []float64
		lo, hi     float64
		wantLabels []string
	}{
		{[]float64{48, 48}, 42, 54, nil},
		{[]float64{0.5, 1.4}, 0.4, 1.4, []string{"0.4", "0.6", "0.8", "1.0", "1.2", "1.4"}},
		{[]float64{0, 0}, -1, 1, nil},
		{[]float64{-3, 12}, -5, 15, []string{"-5", "0", "5", "10", "15"}},
	}
	for _, tt := range tests {
		var pts []Point
		for i, v := range tt.values {
			pts = append(pts, Point{date(2024, 1, 1+i), v})
		}
		p, ok := Chart{Series: []Series{{Points: pts}}}.prepare()
		if !ok {
			t.Fatal("no data")
		}
		if math.Abs(p.vmin-tt.lo) > 1e-9 || math.Abs(p.vmax-tt.hi) > 1e-9 {
			t.Errorf("%v: y range %v..%v, want %v..%v", tt.values, p.vmin, p.vmax, tt.lo, tt.hi)
		}
		if tt.wantLabels != nil {
			var labels []string
			for _, v := range p.yticks {
				labels = append(labels, num(v, p.ydec))
			}
			if strings.Join(labels, " ") != strings.Join(tt.wantLabels, " ") {
				t.Errorf("%v: labels %v, want %v", tt.values, labels, tt.wantLabels)
			}
		}
	}
}

func TestXTicks(t *testing.T) {
	tests := []struct {
		from, to time.Time
		want     string
	}{
		{date(2024, 3, 1), date(2024, 3, 20), "1 Mar|8 Mar|15 Mar"},
		{date(2023, 1, 15), date(2024, 6, 1), "Apr 2023|Jul 2023|Oct 2023|Jan 2024|Apr 2024"},
		{date(1988, 6, 1), date(2024, 8, 1), "1990|2000|2010|2020"},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range xTicks(unix(tt.from), unix(tt.to), time.UTC, 6) {
			labels = append(labels, tk.label)
		}
		if got := strings.Join(labels, "|"); got != tt.want {
			t.Errorf("%s..%s: %s, want %s", tt.from.Format(time.DateOnly), tt.to.Format(time.DateOnly), got, tt.want)
		}
	}
}

// checkXML fails unless s is one well-formed XML element.
func checkXML(t testing.TB, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name.Local != "svg" {
					t.Fatalf("root element %q", tok.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(tok)) != "" {
				t.Fatalf("text outside the root: %q", tok)
			}
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at end", roots, depth)
	}
}

func FuzzChart(f *testing.F) {
	f.Add("Blood pressure", "mmHg", "Systolic", int64(1700000000), int64(86400), 120.0, 5.5, 3, 48.0, 90.0, 140.0)
	f.Add("<script>", "&", "\x00\xff", int64(-62135596800), int64(1), 0.0, 0.0, 1, math.NaN(), math.Inf(-1), math.Inf(1))
	f.Add("", "", "", int64(0), int64(0), 1e300, -1e300, 1000, 1e-300, 5.0, -5.0)
	f.Fuzz(func(t *testing.T, title, unit, name string, t0, dt int64, v0, dv float64, n int, goal, lo, hi float64) {
		n = min(max(n, 0), 3000)
		var pts []Point
		v := v0
		for i := range n {
			// Scramble order and values deterministically from the inputs.
			ts := t0 + int64((i*7919)%max(n, 1))*dt
			pts = append(pts, Point{time.Unix(ts, 0), v})
			v = v*0.9 + dv*float64(i%5-2)
		}
		c := Chart{
			Title:  title,
			Unit:   unit,
			Series: []Series{{Name: name, Points: pts}, {Name: unit, Points: pts[:len(pts)/2]}},
			Bands:  []Band{{Lo: lo, Hi: hi, Label: name}},
			Goal:   &goal,
			ID:     name,
		}
		checkXML(t, string(c.SVG()))
	})
}
