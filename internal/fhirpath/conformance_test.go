package fhirpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The official FHIRPath suite for R4, kept outside the repository (see
// shared/conformance/README.md).
const conformanceDir = "../../../shared/conformance/fhirpath"

type xmlSuite struct {
	Groups []struct {
		Name  string    `xml:"name,attr"`
		Tests []xmlTest `xml:"test"`
	} `xml:"group"`
}

type xmlTest struct {
	Name      string `xml:"name,attr"`
	Input     string `xml:"inputfile,attr"`
	Predicate string `xml:"predicate,attr"`
	Mode      string `xml:"mode,attr"`
	Expr      struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
		Mode    string `xml:"mode,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"output"`
}

// loadSkips reads testdata/skip.txt: one test name per line followed by the
// reason; '#' starts a comment.
func loadSkips(t *testing.T) map[string]string {
	f, err := os.Open("testdata/skip.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skips := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		skips[name] = strings.TrimSpace(reason)
	}
	return skips
}

func loadInput(t *testing.T, name string, cache map[string]any) any {
	if name == "" {
		return nil
	}
	if v, ok := cache[name]; ok {
		return v
	}
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".xml"), ".json")
	data, err := os.ReadFile(filepath.Join(conformanceDir, "input-json", base+".json"))
	if err != nil {
		t.Fatalf("input %s: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("input %s: %v", name, err)
	}
	cache[name] = v
	return v
}

// typeName is the type name the suite's outputs use.
func typeName(v Value) string {
	if v.Namespace() == "System" {
		switch v.Type() {
		case TDateTime:
			return "dateTime"
		case TQuantity:
			return "Quantity"
		}
		return strings.ToLower(v.Type()[:1]) + v.Type()[1:]
	}
	return v.Type()
}

func outputMatches(v Value, typ, text string) bool {
	if typ != "" && typeName(v) != typ {
		return false
	}
	s, ok := v.toSystem()
	if !ok {
		return false
	}
	switch x := s.raw.(type) {
	case Decimal:
		d, ok := ParseDecimal(text)
		if typ == "" {
			return x.String() == text
		}
		return ok && d.Cmp(x) == 0
	case DateTime:
		text = strings.TrimPrefix(text, "@")
		if x.Kind == KindTime {
			text = strings.TrimPrefix(text, "T")
		}
		return x.String() == text
	}
	return s.String() == text
}

func runConformance(t *testing.T, tc xmlTest, cache map[string]any) (ok bool, detail string) {
	defer func() {
		if r := recover(); r != nil {
			ok, detail = false, fmt.Sprintf("panic: %v", r)
		}
	}()
	res := loadInput(t, tc.Input, cache)
	opts := Options{Strict: tc.Mode == "strict" || tc.Expr.Mode == "strict"}
	expr, err := Compile(tc.Expr.Text)
	var out []Value
	if err == nil {
		if tc.Predicate == "true" {
			var b bool
			b, err = expr.EvaluateBool(res, nil, opts)
			out = boolC(b)
		} else {
			out, err = expr.EvaluateOptions(res, nil, opts)
		}
	}
	if tc.Expr.Invalid != "" {
		if err == nil {
			return false, fmt.Sprintf("expected a %s error, got %v", tc.Expr.Invalid, out)
		}
		return true, ""
	}
	if err != nil {
		return false, "error: " + err.Error()
	}
	var got []string
	for _, v := range out {
		got = append(got, typeName(v)+":"+v.String())
	}
	if len(out) != len(tc.Outputs) {
		return false, fmt.Sprintf("got %v, want %d outputs", got, len(tc.Outputs))
	}
	for i, o := range tc.Outputs {
		if !outputMatches(out[i], o.Type, strings.TrimSpace(o.Text)) {
			return false, fmt.Sprintf("got %v, want %s:%s at %d", got, o.Type, o.Text, i)
		}
	}
	return true, ""
}

func TestConformance(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(conformanceDir, "tests-fhir-r4.xml"))
	if err != nil {
		t.Skipf("FHIRPath conformance suite not found at %s (see shared/conformance/README.md): %v", conformanceDir, err)
	}
	var suite xmlSuite
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	skips := loadSkips(t)
	cache := map[string]any{}
	total, passed, failed, skipped := 0, 0, 0, 0
	seen := map[string]bool{}
	var nowFailing []string
	for _, g := range suite.Groups {
		for _, tc := range g.Tests {
			total++
			seen[tc.Name] = true
			ok, detail := runConformance(t, tc, cache)
			reason, skip := skips[tc.Name]
			if !ok {
				nowFailing = append(nowFailing, tc.Name)
			}
			switch {
			case skip && ok:
				skipped++
				t.Errorf("%s passes but is in testdata/skip.txt (%s): remove it", tc.Name, reason)
			case skip:
				skipped++
			case ok:
				passed++
			default:
				failed++
				t.Errorf("FAIL %s [%s]: %s\n\t%s", tc.Name, g.Name, detail, strings.TrimSpace(tc.Expr.Text))
			}
		}
	}
	for name := range skips {
		if !seen[name] {
			t.Errorf("testdata/skip.txt names %s, which is not in the suite", name)
		}
	}
	if os.Getenv("FHIRPATH_LIST_FAILING") != "" {
		sort.Strings(nowFailing)
		for _, n := range nowFailing {
			fmt.Println("FAILING", n)
		}
	}
	t.Logf("fhirpath conformance: %d passed, %d failed, %d skipped of %d", passed, failed, skipped, total)
}
