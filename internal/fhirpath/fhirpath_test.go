package fhirpath

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

func evalStrings(t *testing.T, res any, expr string, opts Options) []string {
	t.Helper()
	x, err := Compile(expr)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	out, err := x.EvaluateOptions(res, nil, opts)
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", expr, err)
	}
	var s []string
	for _, v := range out {
		s = append(s, v.Type()+":"+v.String())
	}
	return s
}

func TestSearchStyleExpressions(t *testing.T) {
	pat := decode(t, samplePatient)
	obs := decode(t, sampleObservation)
	var resolved []string
	resolver := func(ref string) any {
		resolved = append(resolved, ref)
		if ref == "Practitioner/gp1" {
			return map[string]any{"resourceType": "Practitioner", "id": "gp1"}
		}
		return nil
	}
	tests := []struct {
		res  any
		expr string
		opts Options
		want string
	}{
		{obs, "Observation.subject.where(resolve() is Patient)", Options{}, `Reference:{"reference":"Patient/p1"}`},
		{obs, "Observation.performer.where(resolve() is Patient)", Options{}, `Reference:{"reference":"Patient/p1"}`},
		{obs, "Observation.performer.where(resolve() is Practitioner)", Options{Resolver: resolver}, `Reference:{"reference":"Practitioner/gp1"}`},
		{obs, "Observation.subject.resolve().id", Options{}, "id:p1"},
		{obs, "(Observation.value as Quantity).value", Options{}, "decimal:72.50"},
		{obs, "Observation.value.ofType(Quantity).code", Options{}, "code:kg"},
		{obs, "Observation.value.ofType(string)", Options{}, ""},
		{obs, "Observation.component.value.ofType(string)", Options{}, "string:n/a"},
		{obs, "Observation.effective.ofType(Period).start", Options{}, "dateTime:2024-03-01T09:00:00Z"},
		{obs, "Observation.value > 70 'kg'", Options{}, "Boolean:true"},
		{obs, "Observation.value = 72500 'g'", Options{}, "Boolean:true"},
		{obs, "Observation.component.where(code.coding.code = '8480-6').value < 16 'kPa'", Options{}, "Boolean:true"},
		{obs, "Observation.code.coding.where(system = %loinc).code", Options{}, "code:29463-7"},
		{obs, "Observation.issued > @2024-03-01T09:59:59Z", Options{}, "Boolean:true"},
		{pat, "Patient.name.given", Options{}, "string:Jane|string:|string:Ann|string:Janey"},
		{pat, "Patient.name.given.where(hasValue().not()).extension('http://example.org/ext/missing').value", Options{}, "code:unknown"},
		{pat, "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", Options{}, "dateTime:1980-02-29T10:15:00+00:00"},
		{pat, "Patient.extension('http://example.org/ext/weight').value.value", Options{}, "decimal:1.50"},
		{pat, "Patient.extension.where(url = 'http://example.org/ext/ethnicity').value.coding.code", Options{}, "code:A"},
		{pat, "Patient.identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number').value", Options{}, "string:9000000009"},
		{pat, "Patient.deceased.exists() and Patient.deceased != true", Options{}, "Boolean:true"},
		{pat, "Patient.generalPractitioner.where(resolve() is Organization).display", Options{}, "string:Surgery"},
		{pat, "Patient.managingOrganization.resolve().is(Organization)", Options{}, "Boolean:true"},
		{pat, "Patient.link.other.resolve().name.family", Options{}, "string:Who"},
		{pat, "Patient.address.line | Patient.address.city", Options{}, "string:1 High St|string:Flat 2|string:Leeds"},
		{pat, "Patient.address.period.start + 1 month", Options{}, "DateTime:2010-02"},
		{pat, "Patient.birthDate + 1 year", Options{}, "Date:1981-02-28"},
		{pat, "Patient.meta.lastUpdated", Options{}, "instant:2024-01-02T03:04:05.678Z"},
		{pat, "Patient.telecom.where(system='email').value.lower().endsWith('example.org')", Options{}, "Boolean:true"},
		{pat, "%resource.id & '-' & %context.gender", Options{}, "String:p1-female"},
		{pat, "Patient.is(DomainResource) and Patient.is(Resource)", Options{}, "Boolean:true"},
		{pat, "descendants().ofType(Reference).count()", Options{}, "Integer:4"},
		{pat, "1.50 + 0.5", Options{}, "Decimal:2.00"},
		{pat, "(Patient.name as HumanName).use", Options{}, "code:official|code:nickname"},
		{pat, "Patient.name.where(use = 'official').given.first() | Patient.gender", Options{}, "string:Jane|code:female"},
		{pat, "Patient.telecom.value.select($this & '@' & $index.toString())", Options{}, "String:0123@0|String:jane@example.org@1"},
		{pat, "0.1 + 0.2 = 0.3", Options{}, "Boolean:true"},
		{pat, "(10 / 4) * 4 = 10", Options{}, "Boolean:true"},
	}
	for _, tc := range tests {
		resolved = nil
		got := strings.Join(evalStrings(t, tc.res, tc.expr, tc.opts), "|")
		if got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}
}

func TestChoiceJSONNameIsAnError(t *testing.T) {
	obs := decode(t, sampleObservation)
	x := MustCompile("Observation.valueQuantity.value")
	if _, err := x.Evaluate(obs, nil); err == nil || !IsKind(err, "semantic") {
		t.Fatalf("want a semantic error, got %v", err)
	}
	out, err := x.EvaluateOptions(obs, nil, Options{LenientChoice: true})
	if err != nil || len(out) != 1 {
		t.Fatalf("lenient: %v %v", out, err)
	}
}

func TestEnvironment(t *testing.T) {
	x := MustCompile("%a + %b = 3 and %name = 'x' and %res.id = 'p1'")
	ok, err := x.EvaluateBool(nil, map[string]any{"a": 1, "b": int64(2), "name": "x", "res": decode(t, samplePatient)}, Options{})
	if err != nil || !ok {
		t.Fatalf("got %v %v", ok, err)
	}
	if _, err := MustCompile("%undefined").Evaluate(nil, nil); err == nil {
		t.Fatal("undefined variable: want an error")
	}
}

func TestCompileErrors(t *testing.T) {
	for _, s := range []string{"", "name.", "name.foo(", "'abc", "1 +", "name.nosuchfunction()", "where()", "(1", "@2020-13-01", "a ! b"} {
		if _, err := Compile(s); err == nil {
			t.Errorf("Compile(%q): want an error", s)
		}
	}
}

// Every R4 search parameter expression compiles and runs on a minimal
// resource of each of its base types.
func TestSearchParameterExpressions(t *testing.T) {
	n := 0
	for _, p := range fhirdef.AllSearchParams() {
		if p.Expression == "" {
			continue
		}
		x, err := Compile(p.Expression)
		if err != nil {
			t.Errorf("%s (%s): %v", p.Code, p.Expression, err)
			continue
		}
		for _, b := range p.Base {
			if !fhirdef.IsResourceType(b) {
				continue
			}
			if _, err := x.Evaluate(map[string]any{"resourceType": b, "id": "x"}, nil); err != nil {
				t.Errorf("%s on %s (%s): %v", p.Code, b, p.Expression, err)
			}
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d search parameter evaluations", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	x := MustCompile("Observation.subject.where(resolve() is Patient) | Observation.value.ofType(Quantity)")
	obs := decode(t, sampleObservation)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				out, err := x.Evaluate(obs, nil)
				if err != nil || len(out) != 2 {
					t.Errorf("got %v %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRunawayExpressionsStop(t *testing.T) {
	pat := decode(t, samplePatient)
	for _, s := range []string{
		"(1|2).repeat($this + 1)",
		"'ab'.repeat($this & $this)",
		"(1|2|3|4|5|6|7|8|9|10).select((1|2|3|4|5|6|7|8|9|10).select((1|2|3|4|5|6|7|8|9|10).select((1|2|3|4|5|6|7|8|9|10).select((1|2|3|4|5|6|7|8|9|10).select(1|2|3|4|5|6|7|8|9|10)))))",
		strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300),
	} {
		x, err := Compile(s)
		if err != nil {
			continue
		}
		start := time.Now()
		_, err = x.Evaluate(pat, nil)
		t.Logf("%.40s: %v in %v", s, err, time.Since(start))
		if err == nil {
			t.Errorf("%.60s: want a limit error", s)
		}
	}
}
