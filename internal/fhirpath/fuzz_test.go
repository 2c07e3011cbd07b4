package fhirpath

import (
	"testing"
	"time"
)

// FuzzCompile: compiling and evaluating any expression on a sample Patient
// must never panic and must finish quickly (evaluation is bounded).
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"Patient.name.given", "name.where(use = 'official').family", "birthDate < today()",
		"Observation.subject.where(resolve() is Patient)", "(1|2).repeat($this + 1)",
		"descendants().ofType(Reference)", "extension('http://x').value.as(Quantity) > 3 'mg'",
		"iif(active, 'a', 'b') & %resource.id", "@2014-01-01T08.highBoundary(17)",
		"'abc'.replaceMatches('(b)', '$1$1').matches('a.*c')", "1.5 'cm' * 2 'm' / 3 '[in_i]'",
		"name.select(given.join(',')).aggregate($total + $this, '')", "(1.2 / 1.8).round(2) ~ 0.67",
		"telecom.sort(-rank).value.first()", "children().skip(1).count() div 0",
		"%`vs-x` | %ucum | %sct", "Patient.`name`[0].given.substring(1, 2).upper()",
	} {
		f.Add(s)
	}
	pat := decode(f, samplePatient)
	f.Fuzz(func(t *testing.T, s string) {
		x, err := Compile(s)
		if err != nil {
			return
		}
		start := time.Now()
		for _, opts := range []Options{{}, {Strict: true, LenientChoice: true}} {
			if _, err := x.EvaluateOptions(pat, map[string]any{"v": "x"}, opts); IsKind(err, "internal") {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q took %v", s, d)
		}
	})
}
