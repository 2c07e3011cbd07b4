package recordview

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture resources: two organisations (a GP and a hospital), their
// Patients, and a practitioner with a role at the GP.
const (
	fixGP      = `{"resourceType":"Organization","id":"gp","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"C88001"}],"name":"Darnall Practice","type":[{"text":"GP practice"}]}`
	fixHosp    = `{"resourceType":"Organization","id":"rhq","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"RHQ"}],"name":"Sheffield Teaching Hospitals","type":[{"text":"NHS trust (acute)"}]}`
	drWho      = `{"resourceType":"Practitioner","id":"dr","name":[{"prefix":["Dr"],"given":["Ann"],"family":"Hayes"}]}`
	drRole     = `{"resourceType":"PractitionerRole","id":"dr-gp","practitioner":{"reference":"Practitioner/dr"},"organization":{"reference":"Organization/gp"}}`
	patGP      = `{"resourceType":"Patient","id":"p1","meta":{"tag":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","code":"C88001"}]},"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"use":"official","given":["Jane","Ann"],"family":"Smith","prefix":["Mrs"]}],"gender":"female","birthDate":"2024-06-10","generalPractitioner":[{"reference":"Organization/gp"},{"reference":"Practitioner/dr"}],"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland","code":"Z","display":"Not stated"}]}}]}`
	patHosp    = `{"resourceType":"Patient","id":"p2","meta":{"source":"https://fhir.nhs.uk/Id/ods-organization-code|RHQ"},"identifier":[{"system":"https://sharedcare.example/Id/RHQ/mrn","value":"R123"}],"name":[{"given":["Jane"],"family":"Smyth"}],"address":[{"line":["1 High St"],"city":"Sheffield","postalCode":"S1 1AA"}],"telecom":[{"system":"phone","value":"0114 496 0000"}],"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory","valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland","code":"A","display":"White - British"}]}}],"contact":[{"name":{"given":["Tom"],"family":"Smith"},"relationship":[{"text":"Husband"}],"telecom":[{"system":"phone","value":"07700 900000"}]}]}`
	tagGP      = `"meta":{"tag":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","code":"C88001"}]}`
	tagHosp    = `"meta":{"tag":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","code":"RHQ"}]}`
	amlodipine = `"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"319283006","display":"Amlodipine 5mg tablets"}]}`
)

func build(t *testing.T, extra ...string) *Record {
	t.Helper()
	var rs []json.RawMessage
	for _, s := range append([]string{fixGP, fixHosp, drWho, drRole, patGP, patHosp}, extra...) {
		rs = append(rs, json.RawMessage(s))
	}
	rec, err := Build(rs, "p1", now)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestPerson(t *testing.T) {
	P := build(t).Person
	gp := Source{"C88001", "Darnall Practice"}
	hosp := Source{"RHQ", "Sheffield Teaching Hospitals"}
	for _, c := range []struct {
		name string
		got  Fact
		want Fact
	}{
		{"name from the opened Patient", P.Name, Fact{"Jane Ann SMITH", gp}},
		{"NHS number 3-3-4", P.NHSNumber, Fact{"943 476 5919", gp}},
		{"birth date", P.BirthDate, Fact{"10 Jun 2024", gp}},
		{"address falls back to the hospital", P.Address, Fact{"1 High St, Sheffield, S1 1AA", hosp}},
		{"a stated ethnicity beats not stated", P.Ethnicity, Fact{"White - British", hosp}},
		{"registered practice", P.GPPractice, Fact{"Darnall Practice", gp}},
		{"usual GP", P.UsualGP, Fact{"Dr Ann Hayes", gp}},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if P.AgeText != "20 months" || P.GPPracticeODS != "C88001" {
		t.Errorf("age %q, practice ODS %q", P.AgeText, P.GPPracticeODS)
	}
	if len(P.Patients) != 2 || !P.Patients[0].Opened || P.Patients[1].Ref != "Patient/p2" {
		t.Errorf("patients %+v", P.Patients)
	}
	if len(P.Identifiers) != 1 || P.Identifiers[0].Kind != "mrn" || P.Identifiers[0].Source != hosp {
		t.Errorf("identifiers %+v", P.Identifiers)
	}
	if len(P.Contacts) != 1 || P.Contacts[0].Relationship != "Husband" || P.Contacts[0].Phone != "07700 900000" {
		t.Errorf("contacts %+v", P.Contacts)
	}
}

func TestMedicationsMergeAcrossSources(t *testing.T) {
	rec := build(t,
		`{"resourceType":"MedicationRequest","id":"m1",`+tagGP+`,"status":"active","intent":"order",`+amlodipine+`,"authoredOn":"2025-01-10","requester":{"reference":"Practitioner/dr"},"dosageInstruction":[{"text":"1 tablet once a day"}]}`,
		`{"resourceType":"MedicationStatement","id":"m2",`+tagHosp+`,"status":"active",`+amlodipine+`,"effectiveDateTime":"2025-06-01T10:00:00Z","dosage":[{"text":"one daily"}]}`,
		`{"resourceType":"MedicationRequest","id":"m3",`+tagGP+`,"status":"completed","intent":"order","medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"39732411000001106"}]},"authoredOn":"2024-02"}`,
	)
	if len(rec.Medications) != 2 {
		t.Fatalf("want 2 medications, got %+v", rec.Medications)
	}
	cur, past := rec.Medications[0], rec.Medications[1]
	if !cur.Current || cur.Title != "Amlodipine 5mg tablets" || len(cur.Sources) != 2 || len(cur.Refs) != 2 {
		t.Errorf("current: %+v", cur)
	}
	if cur.Dose != "one daily" || cur.DateText != "1 Jun 2025" || cur.FirstText != "10 Jan 2025" {
		t.Errorf("the latest copy is displayed, the first date kept: %+v", cur)
	}
	if past.Current || past.Title != "39732411000001106" || past.DateText != "Feb 2024" {
		t.Errorf("past, no display, month precision: %+v", past)
	}
	// Prescriber comes through the practitioner's role.
	rec = build(t, `{"resourceType":"MedicationRequest","id":"m1",`+tagGP+`,"status":"active","intent":"order",`+amlodipine+`,"requester":{"reference":"Practitioner/dr"}}`)
	if m := rec.Medications[0]; m.Prescriber != "Dr Ann Hayes" || m.PrescriberOrg != "Darnall Practice" {
		t.Errorf("prescriber %q of %q", m.Prescriber, m.PrescriberOrg)
	}
}

func TestProblems(t *testing.T) {
	cond := func(id, tag, code, status, onset string) string {
		return `{"resourceType":"Condition","id":"` + id + `",` + tag + `,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"` + status + `"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"` + code + `","display":"D` + code + `"}]},"onsetDateTime":"` + onset + `"}`
	}
	rec := build(t,
		cond("c1", tagGP, "38341003", "active", "2010"),
		cond("c2", tagHosp, "38341003", "active", "2010-05-01"),
		cond("c3", tagGP, "35489007", "resolved", "2020-01-01"),
		cond("c4", tagGP, "44054006", "active", "2015-03-03"),
	)
	var got []string
	for _, p := range rec.Problems {
		got = append(got, p.Code[len(sysSNOMED)+1:]+map[bool]string{true: "+", false: "-"}[p.Active]+itoa(len(p.Sources)))
	}
	if want := "44054006+1 38341003+2 35489007-1"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want active by onset desc, then resolved: %s", got, want)
	}
}

func TestResultsAndTrends(t *testing.T) {
	bp := func(id, tag, when string, sys, dia int) string {
		return `{"resourceType":"Observation","id":"` + id + `",` + tag + `,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure"}]},"effectiveDateTime":"` + when + `","component":[` +
			`{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":` + itoa(sys) + `,"unit":"mmHg"}},` +
			`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":` + itoa(dia) + `,"unit":"mmHg"}}]}`
	}
	rec := build(t,
		bp("b1", tagGP, "2025-01-01T10:00:00Z", 150, 95),
		bp("b2", tagGP, "2025-06-01T10:00:00Z", 138, 85),
		bp("b3", tagHosp, "2025-06-01T10:00:00Z", 138, 85), // the same reading, sent twice
		`{"resourceType":"Observation","id":"h1",`+tagGP+`,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"59261-8","display":"HbA1c"}]},"effectiveDateTime":"2025-02-01","valueQuantity":{"value":52,"unit":"mmol/mol"},"referenceRange":[{"low":{"value":20},"high":{"value":41}}]}`,
		`{"resourceType":"Observation","id":"h2",`+tagGP+`,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"59261-8","display":"HbA1c"}]},"effectiveDateTime":"2024-02-01","valueQuantity":{"value":40,"unit":"mmol/mol"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}`,
	)
	if len(rec.Trends) != 2 || rec.Trends[0].Key != "bp" || rec.Trends[1].Key != "hba1c" {
		t.Fatalf("trends %+v", rec.Trends)
	}
	b := rec.Trends[0]
	if len(b.Series) != 2 || b.Names[0] != "Systolic" || len(b.Series[0]) != 2 || b.Series[0][0].V != 150 || b.Series[1][1].V != 85 || b.Latest != "138/85 mmHg" {
		t.Errorf("bp trend %+v", b)
	}
	var hb ResultGroup
	for _, g := range rec.Results {
		if g.Key == sysLOINC+"|59261-8" {
			hb = g
		}
	}
	if len(hb.Results) != 2 || hb.Results[0].Flag != "H" || !hb.Results[0].FlagDerived || hb.Results[0].Range != "20–41 mmol/mol" || hb.Results[1].Abnormal {
		t.Errorf("hba1c %+v", hb)
	}
}

func TestDocumentsAndTimeline(t *testing.T) {
	text := "Discharge summary\nAll well."
	rec := build(t,
		`{"resourceType":"Encounter","id":"e1",`+tagHosp+`,"status":"finished","class":{"code":"IMP"},"identifier":[{"system":"v","value":"1"}],"type":[{"text":"Emergency admission"}],"period":{"start":"2025-05-01T10:00:00Z","end":"2025-05-04"},"serviceProvider":{"reference":"Organization/rhq"}}`,
		`{"resourceType":"Encounter","id":"e1b",`+tagHosp+`,"status":"finished","class":{"code":"IMP"},"identifier":[{"system":"v","value":"1"}],"period":{"start":"2025-05-01T10:00:00Z"}}`,
		`{"resourceType":"Encounter","id":"e2",`+tagGP+`,"status":"finished","class":{"code":"AMB"},"period":{"start":"2025-07-01T10:00:00Z"},"serviceProvider":{"reference":"Organization/gp"}}`,
		`{"resourceType":"DocumentReference","id":"d1",`+tagHosp+`,"status":"current","type":{"text":"Discharge summary"},"date":"2025-05-04T12:00:00Z","custodian":{"reference":"Organization/rhq"},"content":[{"attachment":{"contentType":"text/plain; charset=utf-8","data":"`+base64.StdEncoding.EncodeToString([]byte(text))+`"}}]}`,
		`{"resourceType":"DocumentReference","id":"d2",`+tagHosp+`,"status":"current","type":{"text":"Letter"},"date":"2025-05-05","content":[{"attachment":{"contentType":"text/html","data":"PGI+aGk8L2I+","url":"https://example.org/l"}}]}`,
	)
	if len(rec.Documents) != 2 {
		t.Fatalf("documents %+v", rec.Documents)
	}
	if d := rec.Documents[1]; d.Text != text || d.Custodian.ODS != "RHQ" {
		t.Errorf("text document %+v", d)
	}
	if d := rec.Documents[0]; d.Text != "" || d.URL != "https://example.org/l" {
		t.Errorf("HTML is not interpreted: %+v", d)
	}
	var kinds []string
	for _, e := range rec.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if want := "gp document document admission"; strings.Join(kinds, " ") != want {
		t.Errorf("timeline %v, want %s", kinds, want)
	}
	if adm := rec.Timeline[3]; len(adm.Refs) != 2 || adm.EndText != "4 May 2025" || adm.Org.Name != "Sheffield Teaching Hospitals" {
		t.Errorf("admission merged by identifier: %+v", adm)
	}
}

func TestLabelsAndProvenance(t *testing.T) {
	rec := build(t,
		`{"resourceType":"Condition","id":"s",`+`"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"code":{"text":"Sensitive"}}`,
		`{"resourceType":"Observation","id":"pe","status":"final","code":{"text":"Home BP"},"valueString":"ok","performer":[{"reference":"Patient/p1"}],"meta":{"tag":[{"system":"https://sharedcare.example/CodeSystem/patient-view","code":"withhold"}]}}`,
		`{"resourceType":"AllergyIntolerance","id":"a1",`+tagGP+`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},"criticality":"high","reaction":[{"manifestation":[{"text":"Rash"}],"severity":"moderate"}]}`,
		`{"resourceType":"AllergyIntolerance","id":"a2",`+tagHosp+`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007"}]}}`,
		`{"resourceType":"Flag","id":"f1","status":"active","code":{"text":"At risk for falls"},"period":{"start":"2025"}}`,
		`{"resourceType":"Flag","id":"f2","status":"active","code":{"text":"Ended"},"period":{"end":"2025"}}`,
		`{"resourceType":"CarePlan","id":"cp","status":"active","category":[{"coding":[{"system":"http://snomed.info/sct","code":"1382601000000107","display":"ReSPECT form"}]}],"title":"ReSPECT"}`,
		`{"resourceType":"Consent","id":"k","status":"active","category":[{"coding":[{"system":"https://fhir.nhs.uk/ndop-categories-1","code":"NDOP","display":"National Data Opt-out"}]}],"dateTime":"2024-01-01","provision":{"type":"deny"}}`,
	)
	if len(rec.Problems) != 1 || !rec.Problems[0].Sealed {
		t.Errorf("sealed %+v", rec.Problems)
	}
	if r := rec.Results[0].Results[0]; !r.PatientEntered || !r.Withheld {
		t.Errorf("patient entered, withheld: %+v", r)
	}
	if rec.Allergy.Text != "Penicillin" || len(rec.Allergies[0].Sources) != 2 || rec.Allergies[0].Severity != "moderate" {
		t.Errorf("allergies %+v %+v", rec.Allergy, rec.Allergies)
	}
	if len(rec.Alerts) != 1 || rec.Alerts[0].DateText != "2025" {
		t.Errorf("alerts %+v", rec.Alerts)
	}
	if len(rec.CarePlans) != 1 || !rec.CarePlans[0].Prominent || rec.CarePlans[0].Kind != "respect" {
		t.Errorf("care plans %+v", rec.CarePlans)
	}
	if !rec.Consents.NDOP || len(rec.Consents.OptOuts) != 1 || len(rec.Consents.Items) != 1 {
		t.Errorf("consents %+v", rec.Consents)
	}
	nka := build(t, `{"resourceType":"AllergyIntolerance","id":"n",`+tagGP+`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"716186003"}]}}`)
	if nka.Allergy.Text != "No known allergies" || build(t).Allergy.Text != "No allergies recorded" {
		t.Errorf("banner %q", nka.Allergy.Text)
	}
}

func TestMalformedSkipped(t *testing.T) {
	rec := build(t,
		`not json`,
		`{"resourceType":"Condition","id":"x","code":"a string"}`,
		`{"resourceType":"Observation","id":"y","status":"final","code":{"text":"ok"},"valueQuantity":{"value":"NaN"}}`,
		`[]`,
		`{"resourceType":"Immunization","id":"i","status":"completed","vaccineCode":{"coding":[{"code":"x"}]},"occurrenceDateTime":"2024-13-45"}`,
	)
	// Not JSON objects: skipped. A code of the wrong shape leaves the
	// Condition without a title, so it is left out too.
	if rec.Skipped != 2 || len(rec.Problems) != 0 {
		t.Errorf("skipped %d, want 2; problems %+v", rec.Skipped, rec.Problems)
	}
	if len(rec.Immunisations) != 1 || rec.Immunisations[0].Title != "x" || rec.Immunisations[0].DateText != "" {
		t.Errorf("an unreadable date leaves the item undated: %+v", rec.Immunisations)
	}
}

func TestDates(t *testing.T) {
	for in, want := range map[string]string{
		"2024": "2024", "2024-03": "Mar 2024", "2024-03-12": "12 Mar 2024",
		"2024-03-12T23:30:00+01:00": "12 Mar 2024", "2024-03-12T10:30Z": "12 Mar 2024", "24": "", "": "",
	} {
		if got := parseDate(in).text(); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":1}}]}`))
	f.Add([]byte(`{"resourceType":"DocumentReference","id":"d","content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}`))
	f.Add([]byte(`{"resourceType":"Patient","id":"p1","birthDate":"2025","name":[{}],"address":{"line":["x"]}}`))
	f.Add([]byte(`{"resourceType":"Encounter","id":"e","class":{"code":"IMP"},"location":[{"location":{"reference":"Location/l"}}],"serviceType":[]}`))
	f.Add([]byte(`{"resourceType":"Consent","id":"c","status":"active","category":[{"coding":[{"system":"http://snomed.info/sct","code":"416409005"}]}],"provision":{"type":"deny","provision":[{"type":"permit","purpose":[{"code":"ETREAT"}]}]}}`))
	base := []json.RawMessage{json.RawMessage(fixGP), json.RawMessage(drWho), json.RawMessage(drRole), json.RawMessage(patGP)}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := append(append([]json.RawMessage{}, base...), json.RawMessage(data), json.RawMessage(data))
		if _, err := Build(rs, "p1", now); err != nil {
			t.Fatal(err)
		}
	})
}
