package index

import (
	"regexp"
	"slices"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

func TestGenerationShape(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9]+\.(all|conditional)\.[0-9a-f]{12}$`)
	tests := []struct {
		name string
		gen  string
	}{
		{"all", Generation(All)},
		{"conditional", Generation(Conditional)},
		{"Observation all", TypeGeneration(All, "Observation")},
		{"Patient conditional", TypeGeneration(Conditional, "Patient")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !shape.MatchString(tc.gen) {
				t.Errorf("generation %q is not version.scope.hash", tc.gen)
			}
		})
	}
	if g := TypeGeneration(All, "NotAType"); g != "" {
		t.Errorf("generation of an unknown type: %q", g)
	}
	if n, want := len(Generations(All)), len(fhirdef.ResourceTypes()); n != want {
		t.Errorf("%d generations for %d resource types", n, want)
	}
}

// TestGenerationChanges checks the generation follows what decides the
// rows, and nothing else.
func TestGenerationChanges(t *testing.T) {
	byURL := fhirdef.R4Params()
	gen := func(scope Scope, rt string, params []fhirdef.SearchParameter, compart []string, ps *fhirdef.Params) string {
		g, _ := typeGeneration(scope, rt, params, compart, ps)
		return g
	}
	const rt = "Observation"
	params := fhirdef.SearchParams(rt)
	compart := fhirdef.PatientCompartmentParams(rt)
	base := gen(All, rt, params, compart, byURL)
	if base != TypeGeneration(All, rt) {
		t.Fatalf("typeGeneration %q differs from TypeGeneration %q", base, TypeGeneration(All, rt))
	}
	custom := fhirdef.SearchParameter{Code: "x-weight", Type: "quantity", Expression: "Observation.value.ofType(Quantity)"}
	changedExpr := slices.Clone(params)
	for i := range changedExpr {
		if changedExpr[i].Code == "code" {
			changedExpr[i].Expression += ".coding"
		}
	}
	reversed := slices.Clone(params)
	slices.Reverse(reversed)
	withoutStatus := slices.DeleteFunc(slices.Clone(params), func(p fhirdef.SearchParameter) bool { return p.Code == "status" })
	tests := []struct {
		name    string
		scope   Scope
		rt      string
		params  []fhirdef.SearchParameter
		compart []string
		same    bool
	}{
		{"same definitions in another order", All, rt, reversed, compart, true},
		{"a custom parameter added", All, rt, append(slices.Clone(params), custom), compart, false},
		{"a parameter removed", All, rt, withoutStatus, compart, false},
		{"an expression changed", All, rt, changedExpr, compart, false},
		{"compartment order changed", All, rt, params, []string{compart[len(compart)-1], compart[0]}, false},
		{"other scope", Conditional, rt, params, compart, false},
		{"other type", All, "Specimen", params, compart, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := gen(tc.scope, tc.rt, tc.params, tc.compart, byURL)
			if (g == base) != tc.same {
				t.Errorf("generation %q vs %q: same=%v, want %v", g, base, g == base, tc.same)
			}
		})
	}
	// Under Conditional only identifier and compartment parameters count:
	// a non-compartment parameter changing leaves it alone.
	cbase := gen(Conditional, rt, params, compart, byURL)
	if g := gen(Conditional, rt, changedExpr, compart, byURL); g != cbase {
		t.Errorf("conditional generation moved with the code parameter: %q vs %q", g, cbase)
	}
	if g := gen(Conditional, rt, withoutStatus, compart, byURL); g != cbase {
		t.Errorf("conditional generation moved with the status parameter: %q vs %q", g, cbase)
	}
}
