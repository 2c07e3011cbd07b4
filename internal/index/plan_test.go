package index

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

func TestForType(t *testing.T) {
	k := func(steps ...string) keyPath {
		var kp keyPath
		for _, s := range steps {
			kp = append(kp, strings.Split(s, ","))
		}
		return kp
	}
	valueNames := "valueQuantity,valueCodeableConcept,valueString,valueBoolean,valueInteger,valueRange,valueRatio,valueSampledData,valueTime,valueDateTime,valuePeriod"
	tests := []struct {
		expr, rt string
		want     []partSrc
	}{
		{"Resource.meta.tag", "Observation", []partSrc{{src: "Resource.meta.tag", keys: []keyPath{k("meta", "tag")}}}},
		{"Observation.code | Observation.component.code", "Observation", []partSrc{
			{src: "Observation.code", keys: []keyPath{k("code")}},
			{src: "Observation.component.code", keys: []keyPath{k("component", "code")}}}},
		{"Patient.name | Practitioner.name", "Practitioner", []partSrc{{src: "Practitioner.name", keys: []keyPath{k("name")}}}},
		{"(Observation.value.ofType(Quantity)) | (Observation.value.ofType(SampledData))", "Observation", []partSrc{
			{src: "(Observation.value.ofType(Quantity))", keys: []keyPath{k("valueQuantity")}},
			{src: "(Observation.value.ofType(SampledData))", keys: []keyPath{k("valueSampledData")}}}},
		{"(Observation.value as CodeableConcept).text", "Observation", []partSrc{
			{src: "(Observation.value as CodeableConcept).text", keys: []keyPath{k("valueCodeableConcept")}}}},
		{"Observation.value.ofType(DateTime)", "Observation", []partSrc{{src: "Observation.value.ofType(DateTime)", keys: []keyPath{k("valueDateTime")}}}},
		// Age derives from Quantity, so ofType(Quantity) keeps onsetAge.
		{"Condition.onset.ofType(Quantity)", "Condition", []partSrc{{src: "Condition.onset.ofType(Quantity)", keys: []keyPath{k("onsetAge")}}}},
		{"Observation.subject.where(resolve() is Patient)", "Observation", []partSrc{{src: "Observation.subject.where(resolve() is Patient)", keys: []keyPath{k("subject")}}}},
		{"Claim.item.detail.subDetail.udi", "Claim", []partSrc{{src: "Claim.item.detail.subDetail.udi", keys: []keyPath{k("item", "detail", "subDetail")}}}},
		// What can make a value of nothing is always evaluated.
		{"Patient.deceased.exists() and Patient.deceased != false", "Patient", []partSrc{
			{src: "Patient.deceased.exists() and Patient.deceased != false"}}},
		{"Observation.value.exists()", "Observation", []partSrc{{src: "Observation.value.exists()"}}},
		{"Observation.component.code.count()", "Observation", []partSrc{{src: "Observation.component.code.count()"}}},
		{"Observation.value.where(true)", "Observation", []partSrc{{src: "Observation.value.where(true)", keys: []keyPath{k(valueNames)}}}},
		// Relative paths, the resource itself, and what cannot be read.
		{"name | alias", "InsurancePlan", []partSrc{{src: "name", keys: []keyPath{k("name")}}, {src: "alias", keys: []keyPath{k("alias")}}}},
		{"Observation | Observation.component", "Observation", []partSrc{
			{src: "Observation", self: true}, {src: "Observation.component", keys: []keyPath{k("component")}}}},
		{"extension('http://x').value", "Patient", []partSrc{{src: "extension('http://x').value"}}},
		{"Patient.nosuch", "Patient", []partSrc{{src: "Patient.nosuch"}}},
		{"Patient.name", "Observation", nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got := forType(tc.expr, tc.rt)
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(partSrc{})); d != "" {
				t.Errorf("forType(%q, %s) (-want +got):\n%s", tc.expr, tc.rt, d)
			}
		})
	}
}

func TestComponentKeys(t *testing.T) {
	for _, tc := range []struct {
		rt, code string
		want     []keyPath
	}{
		{"Observation", "code-value-quantity", []keyPath{{{"valueQuantity"}}}},
		{"Observation", "code-value-date", []keyPath{{{"valueDateTime"}}, {{"valuePeriod"}}}},
		{"Observation", "combo-code-value-concept", []keyPath{{{"valueCodeableConcept"}}}},
	} {
		var p *param
		for _, q := range R4().plansFor(tc.rt) {
			if q.code == tc.code {
				p = q
			}
		}
		if p == nil {
			t.Fatalf("%s: no plan", tc.code)
		}
		if d := cmp.Diff(tc.want, p.parts[0].keys); d != "" {
			t.Errorf("%s keys (-want +got):\n%s", tc.code, d)
		}
	}
}

// TestKeysLoseNothing: skipping the parts whose keys a resource lacks must
// give exactly the rows of evaluating every part.
func TestKeysLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var all []fhir.Object
	examples, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "conformance", "fhirpath", "input-json", "*.json"))
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, decode(t, string(b)))
	}
	all = append(all, decode(t, observation))
	all = append(all, syntheaResources(t, "gsd-r4.tar.gz", 40)...)
	for _, m := range all {
		id, _ := m["id"].(string)
		fast, pk1 := R4().compute(m, id, All, true)
		full, pk2 := R4().compute(m, id, All, false)
		if pk1 != pk2 || !reflect.DeepEqual(fast, full) {
			t.Errorf("%s/%s: keys change the rows (-all +keyed):\n%s", m["resourceType"], id, cmp.Diff(full, fast))
		}
	}
}
