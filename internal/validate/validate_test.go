package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	m, err := fhir.DecodeResource([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

const validPatient = `{
  "resourceType": "Patient",
  "id": "pat-1.a",
  "meta": {"versionId": "1", "lastUpdated": "2024-01-02T03:04:05.678Z", "tag": [{"system": "http://example.org/tags", "code": "demo"}]},
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter Chalmers</div>"},
  "extension": [
    {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension": [
      {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3", "display": "White"}},
      {"url": "text", "valueString": "White"}
    ]},
    {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"}
  ],
  "identifier": [{"use": "usual", "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345", "period": {"start": "2001-05-06"}}],
  "active": true,
  "name": [
    {"use": "official", "family": "Chalmers", "given": ["Peter", "James"], "_given": [null, {"extension": [{"url": "http://example.org/initial", "valueBoolean": true}]}]},
    {"use": "usual", "given": ["Jim"]},
    {"given": [null, "B"], "_given": [{"id": "g1", "extension": [{"url": "http://example.org/x", "valueString": "A"}]}, null]}
  ],
  "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1}],
  "gender": "male",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "deceasedBoolean": false,
  "address": [{"use": "home", "line": ["534 Erewhon St"], "city": "PleasantVille", "postalCode": "3999", "period": {"start": "1974-12-25"}}],
  "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]},
  "multipleBirthInteger": 1,
  "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}], "name": {"family": "du Marché", "_family": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix", "valueString": "VV"}]}}, "gender": "female"}],
  "communication": [{"language": {"text": "English"}, "preferred": true}],
  "managingOrganization": {"reference": "Organization/1"}
}`

const validObservation = `{
  "resourceType": "Observation",
  "id": "obs1",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"}], "text": "Body Height"},
  "subject": {"reference": "urn:uuid:4e5e3c55-0000-4000-8000-000000000001"},
  "effectiveDateTime": "2019-05-24T07:44:29-04:00",
  "issued": "2019-05-24T07:44:29.452-04:00",
  "valueQuantity": {"value": 1.50, "unit": "m", "system": "http://unitsofmeasure.org", "code": "m", "comparator": "<"},
  "referenceRange": [{"low": {"value": 1.2e0}, "high": {"value": -0.5}}],
  "component": [{"code": {"text": "x"}, "valueSampledData": {"origin": {"value": 0}, "period": 10, "dimensions": 1, "data": "1 2 3"}}]
}`

const validBundle = `{
  "resourceType": "Bundle",
  "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:4e5e3c55-0000-4000-8000-000000000001",
     "resource": {"resourceType": "Patient", "name": [{"family": "Doe"}]},
     "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=http://x|1"}},
    {"fullUrl": "urn:uuid:4e5e3c55-0000-4000-8000-000000000002",
     "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                  "subject": {"reference": "urn:uuid:4e5e3c55-0000-4000-8000-000000000001"}, "valueString": "ok"},
     "request": {"method": "PUT", "url": "Observation/2"}},
    {"request": {"method": "DELETE", "url": "Observation/3"}}
  ]
}`

const validQuestionnaire = `{
  "resourceType": "Questionnaire", "status": "active",
  "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "string", "item": [{"linkId": "1.1.1", "type": "boolean"}]}]}]
}`

const validContained = `{
  "resourceType": "MedicationRequest", "status": "active", "intent": "order",
  "contained": [{"resourceType": "Medication", "id": "med1", "code": {"text": "aspirin"}}],
  "medicationReference": {"reference": "#med1"},
  "subject": {"reference": "Patient/1"},
  "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "boundsDuration": {"value": 7, "unit": "d"}}},
     "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg"}}]}]
}`

func TestValidResources(t *testing.T) {
	for name, s := range map[string]string{
		"patient": validPatient, "observation": validObservation, "bundle": validBundle,
		"questionnaire": validQuestionnaire, "contained": validContained,
		"minimal":    `{"resourceType": "Basic", "code": {"text": "x"}}`,
		"binary":     `{"resourceType": "Binary", "contentType": "text/plain", "data": "aGVsbG8="}`,
		"parameters": `{"resourceType": "Parameters", "parameter": [{"name": "r", "resource": {"resourceType": "Patient"}}, {"name": "p", "part": [{"name": "v", "valueInteger": -2147483648}]}]}`,
		"outcome":    `{"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": {"status": "201", "outcome": {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}}}]}`,
		"onlyExt":    `{"resourceType": "Patient", "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}}`,
		"leapDay":    `{"resourceType": "Patient", "birthDate": "2000-02-29"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if is := Resource(decode(t, s)); len(is) != 0 {
				t.Errorf("unexpected issues: %v", is)
			}
		})
	}
}

// TestRules checks each rule with the issue it gives: code and expression.
func TestRules(t *testing.T) {
	type want struct{ code, expr string }
	cases := []struct {
		name string
		json string
		want []want
	}{
		// resource type
		{"unknownType", `{"resourceType": "Patientx"}`, []want{{"invalid", "resourceType"}}},
		{"abstractType", `{"resourceType": "DomainResource"}`, []want{{"invalid", "resourceType"}}},
		{"r4bType", `{"resourceType": "SubscriptionStatus"}`, []want{{"invalid", "resourceType"}}},
		// unknown elements
		{"unknownTop", `{"resourceType": "Patient", "foo": 1}`, []want{{"structure", "Patient.foo"}}},
		{"unknownNested", `{"resourceType": "Patient", "name": [{"given": ["a"]}, {"givenx": ["b"]}]}`, []want{{"structure", "Patient.name[1].givenx"}}},
		{"unknownBackbone", `{"resourceType": "Patient", "contact": [{"foo": true}]}`, []want{{"structure", "Patient.contact[0].foo"}}},
		{"unknownContentRef", `{"resourceType": "Questionnaire", "status": "active", "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "2", "type": "string", "bar": 1}]}]}`,
			[]want{{"structure", "Questionnaire.item[0].item[0].bar"}}},
		{"unknownInDatatype", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1, "units": "m"}}`,
			[]want{{"structure", "Observation.valueQuantity.units"}}},
		{"resourceTypeNested", `{"resourceType": "Patient", "name": [{"resourceType": "HumanName"}]}`, []want{{"structure", "Patient.name[0].resourceType"}}},
		{"baseChoiceName", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "value": 1}`, []want{{"structure", "Observation.value"}}},
		{"literalChoiceName", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "value[x]": 1}`, []want{{"structure", "Observation.value[x]"}}},
		// choice types
		{"choiceNotAllowed", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueMoney": {"value": 1}}`, []want{{"structure", "Observation.valueMoney"}}},
		{"twoChoices", `{"resourceType": "Patient", "deceasedBoolean": true, "deceasedDateTime": "2020"}`, []want{{"structure", "Patient.deceased"}}},
		{"choiceWithExtOfOther", `{"resourceType": "Patient", "deceasedBoolean": true, "_deceasedDateTime": {"extension": [{"url": "http://x", "valueString": "y"}]}}`, []want{{"structure", "Patient.deceased"}}},
		// primitive JSON types
		{"stringNotString", `{"resourceType": "Patient", "name": [{"family": 12}]}`, []want{{"value", "Patient.name[0].family"}}},
		{"booleanAsString", `{"resourceType": "Patient", "active": "true"}`, []want{{"value", "Patient.active"}}},
		{"decimalAsString", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "1.5"}}`,
			[]want{{"value", "Observation.valueQuantity.value"}}},
		{"integerFraction", `{"resourceType": "Patient", "multipleBirthInteger": 1.5}`, []want{{"value", "Patient.multipleBirthInteger"}}},
		{"integerExponent", `{"resourceType": "Patient", "multipleBirthInteger": 1e2}`, []want{{"value", "Patient.multipleBirthInteger"}}},
		{"integerOverflow", `{"resourceType": "Patient", "multipleBirthInteger": 2147483648}`, []want{{"value", "Patient.multipleBirthInteger"}}},
		{"positiveIntZero", `{"resourceType": "Patient", "telecom": [{"rank": 0}]}`, []want{{"value", "Patient.telecom[0].rank"}}},
		{"unsignedIntNegative", `{"resourceType": "Attachment", "size": -1}`, []want{{"invalid", "resourceType"}}},
		{"unsignedIntNeg", `{"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"size": -1}}]}`,
			[]want{{"value", "DocumentReference.content[0].attachment.size"}}},
		{"integerInExtension", `{"resourceType": "Patient", "extension": [{"url": "http://x", "valueInteger": "3"}]}`, []want{{"value", "Patient.extension[0].valueInteger"}}},
		// formats
		{"badDate", `{"resourceType": "Patient", "birthDate": "1974-13-01"}`, []want{{"value", "Patient.birthDate"}}},
		{"noSuchDay", `{"resourceType": "Patient", "birthDate": "2023-02-29"}`, []want{{"value", "Patient.birthDate"}}},
		{"badDateTime", `{"resourceType": "Patient", "deceasedDateTime": "2020-01-01T10:00"}`, []want{{"value", "Patient.deceasedDateTime"}}},
		{"badInstant", `{"resourceType": "Patient", "meta": {"lastUpdated": "2020-01-01"}}`, []want{{"value", "Patient.meta.lastUpdated"}}},
		{"badTime", `{"resourceType": "Patient", "extension": [{"url": "http://x", "valueTime": "24:00:00"}]}`, []want{{"value", "Patient.extension[0].valueTime"}}},
		{"badCode", `{"resourceType": "Patient", "communication": [{"language": {"coding": [{"code": " en"}]}}]}`, []want{{"value", "Patient.communication[0].language.coding[0].code"}}},
		{"badUri", `{"resourceType": "Patient", "identifier": [{"system": "http://a b"}]}`, []want{{"value", "Patient.identifier[0].system"}}},
		{"badOid", `{"resourceType": "Patient", "extension": [{"url": "http://x", "valueOid": "1.2.3"}]}`, []want{{"value", "Patient.extension[0].valueOid"}}},
		{"badUuid", `{"resourceType": "Patient", "extension": [{"url": "http://x", "valueUuid": "urn:uuid:ABC"}]}`, []want{{"value", "Patient.extension[0].valueUuid"}}},
		{"badBase64", `{"resourceType": "Binary", "contentType": "text/plain", "data": "abc"}`, []want{{"value", "Binary.data"}}},
		{"badId", `{"resourceType": "Patient", "id": "a_b"}`, []want{{"value", "Patient.id"}}},
		{"longId", `{"resourceType": "Patient", "id": "` + strings.Repeat("a", 65) + `"}`, []want{{"value", "Patient.id"}}},
		{"badContainedId", `{"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "#x"}]}`, []want{{"value", "Patient.contained[0].id"}}},
		{"formFeed", `{"resourceType": "Patient", "name": [{"text": "a\fb"}]}`, []want{{"value", "Patient.name[0].text"}}},
		// null and empty
		{"null", `{"resourceType": "Patient", "birthDate": null}`, []want{{"structure", "Patient.birthDate"}}},
		{"nullInArray", `{"resourceType": "Patient", "name": [{"given": ["a", null]}]}`, []want{{"structure", "Patient.name[0].given[1]"}}},
		{"nullObjectInArray", `{"resourceType": "Patient", "name": [null]}`, []want{{"structure", "Patient.name[0]"}}},
		{"emptyString", `{"resourceType": "Patient", "name": [{"family": ""}]}`, []want{{"value", "Patient.name[0].family"}}},
		{"emptyObject", `{"resourceType": "Patient", "maritalStatus": {}}`, []want{{"structure", "Patient.maritalStatus"}}},
		{"emptyArray", `{"resourceType": "Patient", "name": []}`, []want{{"structure", "Patient.name"}}},
		{"onlyId", `{"resourceType": "Patient", "maritalStatus": {"id": "x"}}`, []want{{"structure", "Patient.maritalStatus"}}},
		// primitive extensions
		{"extNotObject", `{"resourceType": "Patient", "birthDate": "2000", "_birthDate": "x"}`, []want{{"structure", "Patient.birthDate"}}},
		{"extEmpty", `{"resourceType": "Patient", "birthDate": "2000", "_birthDate": {}}`, []want{{"structure", "Patient.birthDate"}}},
		{"extUnknownKey", `{"resourceType": "Patient", "birthDate": "2000", "_birthDate": {"value": "2000"}}`, []want{{"structure", "Patient.birthDate.value"}}},
		{"extNoExtNoValue", `{"resourceType": "Patient", "_birthDate": {"id": "a"}}`, []want{{"structure", "Patient.birthDate"}}},
		{"extOnComplex", `{"resourceType": "Patient", "_maritalStatus": {"id": "a"}}`, []want{{"structure", "Patient._maritalStatus"}}},
		{"extUnknown", `{"resourceType": "Patient", "_foo": {"id": "a"}}`, []want{{"structure", "Patient._foo"}}},
		{"extArrayNotArray", `{"resourceType": "Patient", "name": [{"given": ["a"], "_given": {"id": "x"}}]}`, []want{{"structure", "Patient.name[0].given"}}},
		{"extArrayMisaligned", `{"resourceType": "Patient", "name": [{"given": ["a", "b"], "_given": [{"id": "x", "extension": [{"url": "http://x", "valueString": "y"}]}]}]}`,
			[]want{{"structure", "Patient.name[0].given"}}},
		{"extArrayBothNull", `{"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [{"extension": [{"url": "http://x", "valueString": "y"}]}, null]}]}`,
			[]want{{"structure", "Patient.name[0].given[1]"}, {"structure", "Patient.name[0].given[1]"}}},
		{"extArrayItemNotObject", `{"resourceType": "Patient", "name": [{"given": ["a"], "_given": [3]}]}`, []want{{"structure", "Patient.name[0].given[0]"}}},
		{"extExtensionNoUrl", `{"resourceType": "Patient", "birthDate": "2000", "_birthDate": {"extension": [{"valueString": "x"}]}}`,
			[]want{{"required", "Patient.birthDate.extension[0].url"}}},
		{"divExtension", `{"resourceType": "Patient", "text": {"status": "generated", "div": "<div/>", "_div": {"extension": [{"url": "http://x", "valueString": "y"}]}}}`,
			[]want{{"structure", "Patient.text.div.extension"}}},
		// cardinality
		{"singleAsArray", `{"resourceType": "Patient", "gender": ["male"]}`, []want{{"structure", "Patient.gender"}}},
		{"arrayAsSingle", `{"resourceType": "Patient", "name": {"family": "x"}}`, []want{{"structure", "Patient.name"}}},
		{"primArrayAsSingle", `{"resourceType": "Patient", "name": [{"given": "x"}]}`, []want{{"structure", "Patient.name[0].given"}}},
		{"required", `{"resourceType": "Observation", "code": {"text": "x"}}`, []want{{"required", "Observation.status"}}},
		{"requiredViaExt", `{"resourceType": "Observation", "_status": {"extension": [{"url": "http://x", "valueString": "y"}]}, "code": {"text": "x"}}`, nil},
		{"requiredBackbone", `{"resourceType": "Patient", "link": [{"type": "seealso"}]}`, []want{{"required", "Patient.link[0].other"}}},
		{"requiredChoice", `{"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "Patient/1"}}`,
			[]want{{"required", "MedicationRequest.medication"}}},
		{"requiredInDatatype", `{"resourceType": "Patient", "text": {"status": "generated"}}`, []want{{"required", "Patient.text.div"}}},
		// bindings
		{"gender", `{"resourceType": "Patient", "gender": "M"}`, []want{{"code-invalid", "Patient.gender"}}},
		{"obsStatus", `{"resourceType": "Observation", "status": "done", "code": {"text": "x"}}`, []want{{"code-invalid", "Observation.status"}}},
		{"comparator", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1, "comparator": "~"}}`,
			[]want{{"code-invalid", "Observation.valueQuantity.comparator"}}},
		{"method", `{"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "FETCH", "url": "x"}}]}`,
			[]want{{"code-invalid", "Bundle.entry[0].request.method"}}},
		// extensions
		{"extensionNoUrl", `{"resourceType": "Patient", "extension": [{"valueString": "x"}]}`, []want{{"required", "Patient.extension[0].url"}}},
		{"extensionUrlNotString", `{"resourceType": "Patient", "modifierExtension": [{"url": 1, "valueString": "x"}]}`, []want{{"value", "Patient.modifierExtension[0].url"}}},
		{"extensionBoth", `{"resourceType": "Patient", "extension": [{"url": "http://x", "valueString": "x", "extension": [{"url": "y", "valueString": "z"}]}]}`,
			[]want{{"invariant", "Patient.extension[0]"}}},
		{"extensionNeither", `{"resourceType": "Patient", "extension": [{"url": "http://x"}]}`, []want{{"invariant", "Patient.extension[0]"}}},
		{"extensionNotObject", `{"resourceType": "Patient", "extension": ["x"]}`, []want{{"structure", "Patient.extension[0]"}}},
		// nested resources
		{"containedUnknown", `{"resourceType": "Patient", "contained": [{"resourceType": "Nope"}]}`, []want{{"invalid", "Patient.contained[0]"}}},
		{"containedNoType", `{"resourceType": "Patient", "contained": [{"id": "x"}]}`, []want{{"required", "Patient.contained[0]"}}},
		{"containedBadElement", `{"resourceType": "Patient", "contained": [{"resourceType": "Organization", "nam": "x"}]}`, []want{{"structure", "Patient.contained[0].nam"}}},
		{"bundleEntry", `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}, {"resource": {"resourceType": "Observation", "code": {"text": "x"}}}]}`,
			[]want{{"required", "Bundle.entry[1].resource.status"}}},
		{"bundleEntryNotObject", `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": "Patient/1"}]}`, []want{{"structure", "Bundle.entry[0].resource"}}},
		{"outcomeInvalid", `{"resourceType": "Bundle", "type": "batch-response", "entry": [{"response": {"status": "200", "outcome": {"resourceType": "OperationOutcome"}}}]}`,
			[]want{{"required", "Bundle.entry[0].response.outcome.issue"}}},
		{"parametersResource", `{"resourceType": "Parameters", "parameter": [{"name": "x", "resource": {"resourceType": "Patient", "x": 1}}]}`,
			[]want{{"structure", "Parameters.parameter[0].resource.x"}}},
		{"nestedBundle", `{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "gender": "x"}}]}}]}`,
			[]want{{"code-invalid", "Bundle.entry[0].resource.entry[0].resource.gender"}}},
		// shapes
		{"objectForPrimitive", `{"resourceType": "Patient", "birthDate": {"value": "2000"}}`, []want{{"value", "Patient.birthDate"}}},
		{"primitiveForObject", `{"resourceType": "Patient", "maritalStatus": "M"}`, []want{{"structure", "Patient.maritalStatus"}}},
		{"arrayOfArrays", `{"resourceType": "Patient", "name": [[{"family": "x"}]]}`, []want{{"structure", "Patient.name[0]"}}},
		{"missingResourceType", `{"resourceType": "", "id": "x"}`, []want{{"required", "resourceType"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			// DecodeResource refuses an empty resourceType; decode by hand.
			dec := json.NewDecoder(strings.NewReader(tc.json))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			got := Resource(m)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d issues, want %d:\n%s", len(got), len(tc.want), show(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Severity != "error" || g.Code != w.code || len(g.Expression) != 1 || g.Expression[0] != w.expr || g.Diagnostics == "" {
					t.Errorf("issue %d = %s, want %s at %s", i, show(got[i:i+1]), w.code, w.expr)
				}
			}
		})
	}
}

func show(is []fhir.Issue) string {
	var b strings.Builder
	for _, i := range is {
		fmt.Fprintf(&b, "  %s %s %v: %s\n", i.Severity, i.Code, i.Expression, i.Diagnostics)
	}
	return b.String()
}

func TestNotAnObject(t *testing.T) {
	if is := Resource(nil); len(is) != 1 || is[0].Code != "invalid" {
		t.Errorf("nil: %v", is)
	}
}

func TestGoValues(t *testing.T) {
	// Maps built by hand, with Go numbers and odd types, never panic.
	m := map[string]any{
		"resourceType":         "Patient",
		"multipleBirthInteger": 2,
		"name":                 []any{map[string]any{"family": "x", "given": []string{"a"}}},
		"telecom":              []any{map[string]any{"rank": 1.5}},
		"active":               struct{}{},
	}
	got := Resource(m)
	want := []string{"Patient.active", "Patient.name[0].given", "Patient.telecom[0].rank"}
	if len(got) != len(want) {
		t.Fatalf("got %s", show(got))
	}
	for i, w := range want {
		if got[i].Expression[0] != w {
			t.Errorf("issue %d at %v, want %s", i, got[i].Expression, w)
		}
	}
}

func TestMaxIssues(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"resourceType": "Patient", "name": [`)
	for i := range 500 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"x": 1}`)
	}
	b.WriteString(`]}`)
	m := decode(t, b.String())
	if got := Resource(m); len(got) != DefaultMaxIssues+1 || got[len(got)-1].Code != "too-costly" {
		t.Errorf("got %d issues, last %v", len(got), got[len(got)-1])
	}
	if got := (Options{MaxIssues: 3}).Resource(m); len(got) != 4 {
		t.Errorf("got %d issues", len(got))
	}
}

func TestDeepNesting(t *testing.T) {
	// A map nested far deeper than any decoder would allow.
	item := map[string]any{"linkId": "x", "type": "group"}
	root := item
	for range 10000 {
		next := map[string]any{"linkId": "x", "type": "group"}
		item["item"] = []any{next}
		item = next
	}
	m := map[string]any{"resourceType": "Questionnaire", "status": "active", "item": []any{root}}
	got := Resource(m)
	if len(got) != 1 || got[0].Code != "too-costly" {
		t.Errorf("got %s", show(got))
	}
}

func TestError(t *testing.T) {
	if Error("create", nil) != nil {
		t.Error("error without issues")
	}
	err := Error("create", Resource(decode(t, `{"resourceType": "Patient", "gender": "M"}`)))
	if !fhir.Is(err, fhir.Invalid) {
		t.Fatalf("err = %v", err)
	}
	oo := fhir.Outcome(err)
	if len(oo.Issue) != 2 || oo.Issue[1].Code != "code-invalid" || oo.Issue[1].Expression[0] != "Patient.gender" {
		t.Errorf("outcome = %+v", oo)
	}
}

func FuzzResource(f *testing.F) {
	for _, s := range []string{validPatient, validObservation, validBundle, validQuestionnaire, validContained,
		`{"resourceType": "Patient", "name": [{"given": [null], "_given": [null]}]}`,
		`{"resourceType": "Patient", "_given": [1], "deceasedBoolean": true, "_deceasedDateTime": {}}`,
		`{"resourceType": "Parameters", "parameter": [{"name": "x", "part": [{"name": "y", "resource": {"resourceType": "Bundle"}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := fhir.DecodeResource(data)
		if err != nil {
			return
		}
		for _, is := range Resource(m) {
			if is.Severity != "error" || is.Code == "" || is.Diagnostics == "" {
				t.Fatalf("malformed issue %+v", is)
			}
		}
	})
}

func BenchmarkResource(b *testing.B) {
	cases := []struct{ name, json string }{{"patient", validPatient}, {"observation", validObservation}}
	for _, name := range []string{"synthea-patient", "synthea-eob"} {
		data, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		cases = append(cases, struct{ name, json string }{name, string(data)})
	}
	for _, c := range cases {
		m := decode(b, c.json)
		b.Run(fmt.Sprintf("%s-%dB", c.name, len(c.json)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if is := Resource(m); len(is) != 0 {
					b.Fatal(is)
				}
			}
		})
	}
}

var formatTypes = []string{"string", "markdown", "uri", "url", "canonical", "code", "id", "date", "dateTime", "instant", "decimal", "integer",
	"positiveInt", "unsignedInt", "time", "oid", "uuid", "base64Binary", "boolean"}

// FuzzFormats checks the hand-written format matchers against the regexes
// of the definitions.
func FuzzFormats(f *testing.F) {
	for _, s := range []string{"", "a", " a", "a  b", "a b", "a\fb", "a\tb", "2020", "2020-01", "2020-01-31", "0000", "2020-00",
		"2020-01-01T00:00:00Z", "2020-01-01T23:59:60.123+14:00", "2020-01-01T10:00:00+14:01", "2020-01-01T10:00:00-13:59",
		"2020-01-01T10:00", "1.50", "-0", "01", "1e5", "1.e5", "-1.5E-10", "abc-1.2", "\xff", "x\x0b", "12:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return // the matchers loop the same way over longer strings; regexes over megabytes only slow the fuzzer
		}
		for _, name := range formatTypes {
			td := fhirdef.Type(name)
			want := td.Pattern().MatchString(s)
			if got := matchFormat(td, s); got != want {
				t.Fatalf("%s %q: matchFormat %v, regex %v", name, s, got, want)
			}
		}
	})
}
