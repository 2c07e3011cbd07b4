package index

import (
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

func TestCheckParam(t *testing.T) {
	r4 := fhirdef.R4Params()
	ok := fhirdef.SearchParameter{Code: "colour", Base: []string{"Patient"}, Type: "token", Expression: "Patient.extension.where(url='x').value"}
	with := func(f func(*fhirdef.SearchParameter)) fhirdef.SearchParameter { sp := ok; f(&sp); return sp }
	tests := []struct {
		name string
		sp   fhirdef.SearchParameter
		want string // "" for none
	}{
		{"fine", ok, ""},
		{"two types", with(func(sp *fhirdef.SearchParameter) {
			sp.Base, sp.Expression = []string{"Patient", "Person"}, "Patient.gender | Person.gender"
		}), ""},
		{"special", with(func(sp *fhirdef.SearchParameter) { sp.Type = "special" }), "special"},
		{"unknown type", with(func(sp *fhirdef.SearchParameter) { sp.Type = "text" }), "not a search parameter type"},
		{"no expression", with(func(sp *fhirdef.SearchParameter) { sp.Expression = "" }), "expression is needed"},
		{"syntax", with(func(sp *fhirdef.SearchParameter) { sp.Expression = "Patient.name.where(" }), "does not compile"},
		{"wrong type", with(func(sp *fhirdef.SearchParameter) { sp.Expression = "Observation.code" }), "selects nothing from Patient"},
		{"one of two types missed", with(func(sp *fhirdef.SearchParameter) {
			sp.Base, sp.Expression = []string{"Patient", "Person"}, "Patient.gender"
		}), "selects nothing from Person"},
		{"composite of unknown parts", with(func(sp *fhirdef.SearchParameter) {
			sp.Type, sp.Expression = "composite", "Patient.name"
			sp.Components = []fhirdef.SearchParamComponent{{Definition: "http://x/a", Expression: "family"}, {Definition: "http://x/b", Expression: "given"}}
		}), "not a search parameter this server knows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckParam(tc.sp, r4)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestDefinitionsCustom checks a custom parameter is extracted, changes
// only its own types' generations, and that Serves tells which parameters
// rows built before it still answer.
func TestDefinitionsCustom(t *testing.T) {
	sp := fhirdef.SearchParameter{Code: "colour", URL: "http://example.org/colour", Base: []string{"Patient"}, Type: "token",
		Expression: "Patient.extension.where(url='http://example.org/colour').value"}
	ps, rej := fhirdef.R4Params().With([]fhirdef.SearchParameter{sp})
	if len(rej) > 0 {
		t.Fatal(rej)
	}
	d := New(ps)
	m := fhir.Object{"resourceType": "Patient", "name": []any{map[string]any{"family": "Ash"}},
		"extension": []any{map[string]any{"url": "http://example.org/colour", "valueCode": "blue"}}}
	ix, _ := d.Compute(m, "p1", All)
	found := false
	for _, tk := range ix.Tokens {
		if tk.Param == "colour" && tk.Code == "blue" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no colour token in %+v", ix.Tokens)
	}
	if r4ix, _ := Compute(m, "p1", All); len(r4ix.Tokens) >= len(ix.Tokens) {
		t.Fatalf("R4's definitions index the custom parameter too")
	}
	r4g, g := Generations(All), d.Generations(All)
	for rt := range r4g {
		if (r4g[rt] != g[rt]) != (rt == "Patient") {
			t.Errorf("%s: generation %s vs R4's %s", rt, g[rt], r4g[rt])
		}
	}
	built := r4g["Patient"]
	if !d.Serves(All, "Patient", built, []string{"family", "birthdate", "_id", "_text"}) {
		t.Error("rows built at R4's generation do not serve family and birthdate")
	}
	if d.Serves(All, "Patient", built, []string{"family", "colour"}) {
		t.Error("rows built at R4's generation serve the new parameter")
	}
	if d.Serves(All, "Patient", "", []string{"family"}) || d.Serves(All, "Patient", "2.all.unknown", []string{"family"}) {
		t.Error("an unknown generation serves something")
	}
}

// TestCodeValueDate checks the composite over a dateTime value gives rows
// (R4 publishes it with System's DateTime; fhirdef's errata mend it).
func TestCodeValueDate(t *testing.T) {
	m := fhir.Object{"resourceType": "Observation", "status": "final",
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "21612-7"}}},
		"valueDateTime": "2024-05-01"}
	ix, _ := Compute(m, "o1", All)
	n := 0
	for _, c := range ix.Composites {
		if c.Param == "code-value-date" {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no code-value-date rows in %+v", ix.Composites)
	}
}
