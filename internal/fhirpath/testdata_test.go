package fhirpath

import (
	"bytes"
	"encoding/json"
	"testing"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

const samplePatient = `{
  "resourceType": "Patient", "id": "p1",
  "meta": {"versionId": "2", "lastUpdated": "2024-01-02T03:04:05.678Z", "profile": ["http://example.org/p"]},
  "extension": [{"url": "http://example.org/ext/ethnicity", "valueCodeableConcept": {"coding": [{"system": "http://example.org/cs", "code": "A"}]}},
                {"url": "http://example.org/ext/weight", "valueQuantity": {"value": 1.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}],
  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}, {"system": "urn:oid:1.2.3", "value": "MRN-1"}],
  "active": true,
  "name": [{"use": "official", "family": "Smith", "given": ["Jane", null, "Ann"], "_given": [null, {"extension": [{"url": "http://example.org/ext/missing", "valueCode": "unknown"}]}, null]},
           {"use": "nickname", "given": ["Janey"]}],
  "telecom": [{"system": "phone", "value": "0123", "use": "home"}, {"system": "email", "value": "jane@example.org"}],
  "gender": "female",
  "birthDate": "1980-02-29",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1980-02-29T10:15:00+00:00"}]},
  "deceasedBoolean": false,
  "address": [{"line": ["1 High St", "Flat 2"], "city": "Leeds", "postalCode": "LS1 1AA", "period": {"start": "2010-01"}}],
  "generalPractitioner": [{"reference": "Practitioner/gp1"}, {"reference": "Organization/org1", "display": "Surgery"}],
  "managingOrganization": {"reference": "https://example.org/fhir/Organization/org1/_history/3"},
  "contained": [{"resourceType": "Practitioner", "id": "c1", "name": [{"family": "Who"}]}],
  "link": [{"other": {"reference": "#c1"}, "type": "seealso"}]
}`

const sampleObservation = `{
  "resourceType": "Observation", "id": "o1", "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}], "text": "Weight"},
  "subject": {"reference": "Patient/p1"},
  "performer": [{"reference": "Practitioner/gp1"}, {"reference": "Patient/p1"}, {"reference": "RelatedPerson/r1"}],
  "encounter": {"reference": "Encounter/e1"},
  "effectivePeriod": {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T09:30:00Z"},
  "issued": "2024-03-01T10:00:00.123Z",
  "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
  "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueString": "n/a"}]
}`
