package fhirdef

import (
	"slices"
	"strings"
	"testing"
)

func TestParamsWith(t *testing.T) {
	r4 := R4Params()
	family, _ := r4.SearchParam("Patient", "family")
	tests := []struct {
		name     string
		custom   []SearchParameter
		added    map[string][]string // code -> types it must be found on
		rejected []string            // reasons, in part
	}{
		{"one type", []SearchParameter{{Code: "colour", URL: "u1", Base: []string{"Patient"}, Type: "token", Expression: "Patient.x"}},
			map[string][]string{"colour": {"Patient"}}, nil},
		{"every resource", []SearchParameter{{Code: "x-source-org", URL: "u2", Base: []string{"Resource"}, Type: "uri", Expression: "Resource.meta.source"}},
			map[string][]string{"x-source-org": {"Patient", "Observation", "Bundle", "Binary"}}, nil},
		{"domain resources only", []SearchParameter{{Code: "x-ext", URL: "u3", Base: []string{"DomainResource"}, Type: "uri", Expression: "DomainResource.extension.url"}},
			map[string][]string{"x-ext": {"Patient", "Observation"}}, nil},
		{"R4's code on the type", []SearchParameter{{Code: "family", URL: "u4", Base: []string{"Patient"}, Type: "string", Expression: "Patient.name.family"}},
			nil, []string{`Patient already has a search parameter "family"`}},
		{"R4's own definition again", []SearchParameter{family}, nil, nil},
		{"R4's url, another code", []SearchParameter{{Code: "fam", URL: family.URL, Base: []string{"Patient"}, Type: "string", Expression: "Patient.name.family"}},
			nil, []string{"already has the url"}},
		{"two customs, same code: the first wins", []SearchParameter{
			{Code: "colour", URL: "u5", Base: []string{"Patient"}, Type: "token", Expression: "Patient.x"},
			{Code: "colour", URL: "u6", Base: []string{"Patient", "Person"}, Type: "token", Expression: "Patient.y"}},
			map[string][]string{"colour": {"Patient"}}, []string{`Patient already has a search parameter "colour"`}},
		{"no resource type", []SearchParameter{{Code: "x", URL: "u7", Base: []string{"Quantity"}, Type: "token", Expression: "Quantity.code"}},
			nil, []string{"names no resource type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, rej := r4.With(tc.custom)
			for code, types := range tc.added {
				for _, rt := range types {
					sp, ok := ps.SearchParam(rt, code)
					if !ok || !sp.Custom {
						t.Errorf("%s not found on %s", code, rt)
					}
				}
				if !slices.ContainsFunc(ps.All(), func(sp SearchParameter) bool { return sp.Code == code && sp.Custom }) {
					t.Errorf("All() lacks %s", code)
				}
			}
			if len(rej) != len(tc.rejected) {
				t.Fatalf("rejected %+v, want %d", rej, len(tc.rejected))
			}
			for i, want := range tc.rejected {
				if !strings.Contains(rej[i].Reason, want) {
					t.Errorf("reason %q, want it to say %q", rej[i].Reason, want)
				}
			}
			// R4's set is untouched, and sorted lists stay sorted.
			if _, ok := r4.SearchParam("Patient", "colour"); ok {
				t.Fatal("With changed R4's set")
			}
			if l := ps.SearchParams("Patient"); !slices.IsSortedFunc(l, func(a, b SearchParameter) int { return strings.Compare(a.Code, b.Code) }) {
				t.Error("Patient's parameters are not sorted")
			}
		})
	}
	if _, ok := r4.SearchParam("Observation", "x-source-org"); ok {
		t.Fatal("With changed R4's set")
	}
}

func TestErrata(t *testing.T) {
	sp, ok := SearchParam("Observation", "code-value-date")
	if !ok || len(sp.Components) != 2 || sp.Components[1].Expression != "value.ofType(dateTime) | value.ofType(Period)" {
		t.Fatalf("code-value-date: %+v", sp)
	}
	if len(errata) != 1 {
		t.Fatalf("every erratum needs a test here")
	}
}
