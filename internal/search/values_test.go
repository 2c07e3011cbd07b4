package search

import (
	"testing"
)

func TestNumber(t *testing.T) {
	runValueCases(t, []valueCase{
		{"RiskAssessment", "probability=100", "", []Value{{Raw: "100", Prefix: Eq, Number: num("100", "99.5", "100.5")}}},
		{"RiskAssessment", "probability=100.00", "", []Value{{Raw: "100.00", Prefix: Eq, Number: num("100.00", "99.995", "100.005")}}},
		{"RiskAssessment", "probability=1e2", "", []Value{{Raw: "1e2", Prefix: Eq, Number: num("100", "50", "150")}}},
		{"RiskAssessment", "probability=1.5E-2", "", []Value{{Raw: "1.5E-2", Prefix: Eq, Number: num("0.015", "0.0145", "0.0155")}}},
		{"RiskAssessment", "probability=gt0.8", "", []Value{{Raw: "gt0.8", Prefix: Gt, Number: num("0.8", "0.75", "0.85")}}},
		{"RiskAssessment", "probability=-5", "", []Value{{Raw: "-5", Prefix: Eq, Number: num("-5", "-5.5", "-4.5")}}},
		{"RiskAssessment", "probability=0", "", []Value{{Raw: "0", Prefix: Eq, Number: num("0", "-0.5", "0.5")}}},
		{"RiskAssessment", "probability=ap10,le-0.05", "", []Value{
			{Raw: "ap10", Prefix: Ap, Number: num("10", "9.5", "10.5")},
			{Raw: "le-0.05", Prefix: Le, Number: num("-0.05", "-0.055", "-0.045")},
		}},
		{"RiskAssessment", "probability:missing=true", ModMissing, []Value{{Raw: "true", Missing: ptr(true)}}},
	})
}

func TestDate(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Patient", "birthdate=2024", "", []Value{{Raw: "2024", Prefix: Eq, Date: date(Year, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")}}},
		{"Patient", "birthdate=2024-02", "", []Value{{Raw: "2024-02", Prefix: Eq, Date: date(Month, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")}}},
		{"Patient", "birthdate=le2024-12-31", "", []Value{{Raw: "le2024-12-31", Prefix: Le, Date: date(Day, "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z")}}},
		{"Patient", "birthdate=2024-02-29", "", []Value{{Raw: "2024-02-29", Prefix: Eq, Date: date(Day, "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z")}}},
		{"Patient", "birthdate=sa2024-03-10T10:20", "", []Value{{Raw: "sa2024-03-10T10:20", Prefix: Sa, Date: date(Minute, "2024-03-10T10:20:00Z", "2024-03-10T10:21:00Z")}}},
		{"Observation", "date=2024-03-10T10:20:30Z", "", []Value{{Raw: "2024-03-10T10:20:30Z", Prefix: Eq,
			Date: &Date{Precision: Second, Zoned: true, Low: ts("2024-03-10T10:20:30Z"), High: ts("2024-03-10T10:20:31Z")}}}},
		{"Observation", "date=eb2024-03-10T10:20:30.25%2B02:00", "", []Value{{Raw: "eb2024-03-10T10:20:30.25+02:00", Prefix: Eb,
			Date: &Date{Precision: Fraction, Digits: 2, Zoned: true, Low: ts("2024-03-10T08:20:30.25Z"), High: ts("2024-03-10T08:20:30.26Z")}}}},
		// an unencoded '+' arrives as a space
		{"Observation", "date=2024-03-10T10:20:30+02:00", "", []Value{{Raw: "2024-03-10T10:20:30+02:00", Prefix: Eq,
			Date: &Date{Precision: Second, Zoned: true, Low: ts("2024-03-10T08:20:30Z"), High: ts("2024-03-10T08:20:31Z")}}}},
		{"Observation", "date=2024-03-10T10:20:30-05:30", "", []Value{{Raw: "2024-03-10T10:20:30-05:30", Prefix: Eq,
			Date: &Date{Precision: Second, Zoned: true, Low: ts("2024-03-10T15:50:30Z"), High: ts("2024-03-10T15:50:31Z")}}}},
		{"Patient", "_lastUpdated=gt2024-01-01,lt2023", "", []Value{
			{Raw: "gt2024-01-01", Prefix: Gt, Date: date(Day, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")},
			{Raw: "lt2023", Prefix: Lt, Date: date(Year, "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z")},
		}},
		{"Patient", "birthdate:missing=false", ModMissing, []Value{{Raw: "false", Missing: ptr(false)}}},
	})
}

func TestDateLocation(t *testing.T) {
	loc, err := timeLoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	q := mustParse(t, "Patient", "birthdate=2024-07-01", Options{Location: loc})
	got := q.Clauses[0].Values[0].Date
	want := date(Day, "2024-06-30T22:00:00Z", "2024-07-01T22:00:00Z")
	if !got.Low.Equal(want.Low) || !got.High.Equal(want.High) {
		t.Errorf("got [%v, %v), want [%v, %v)", got.Low, got.High, want.Low, want.High)
	}
}

func TestQuantity(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg", "", []Value{{Raw: "5.4|http://unitsofmeasure.org|mg", Prefix: Eq,
			Quantity: &Quantity{Number: *num("5.4", "5.35", "5.45"), System: "http://unitsofmeasure.org", Code: "mg"}}}},
		{"Observation", "value-quantity=gt5.4||mg", "", []Value{{Raw: "gt5.4||mg", Prefix: Gt,
			Quantity: &Quantity{Number: *num("5.4", "5.35", "5.45"), Code: "mg"}}}},
		{"Observation", "value-quantity=le100", "", []Value{{Raw: "le100", Prefix: Le, Quantity: &Quantity{Number: *num("100", "99.5", "100.5")}}}},
		{"Observation", `value-quantity=1|http://x|a\|b`, "", []Value{{Raw: `1|http://x|a\|b`, Prefix: Eq,
			Quantity: &Quantity{Number: *num("1", "0.5", "1.5"), System: "http://x", Code: "a|b"}}}},
	})
}

func TestToken(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Patient", "gender=male", "", []Value{{Raw: "male", Token: &Token{Code: "male"}}}},
		{"Patient", "identifier=http://acme.org|123", "", []Value{{Raw: "http://acme.org|123", Token: &Token{System: "http://acme.org", Code: "123", HasSystem: true}}}},
		{"Patient", "identifier=|123", "", []Value{{Raw: "|123", Token: &Token{Code: "123", HasSystem: true}}}},
		{"Patient", "identifier=http://acme.org|", "", []Value{{Raw: "http://acme.org|", Token: &Token{System: "http://acme.org", HasSystem: true}}}},
		{"Patient", `identifier=a\|b,c\,d,e\\f`, "", []Value{
			{Raw: `a\|b`, Token: &Token{Code: "a|b"}},
			{Raw: `c\,d`, Token: &Token{Code: "c,d"}},
			{Raw: `e\\f`, Token: &Token{Code: `e\f`}},
		}},
		{"Patient", "gender:not=male", ModNot, []Value{{Raw: "male", Token: &Token{Code: "male"}}}},
		{"Observation", "code:text=Blood Pressure", ModText, []Value{{Raw: "Blood Pressure", Str: str("Blood Pressure", "blood pressure")}}},
		{"Observation", "code:in=http://acme.org/vs", ModIn, []Value{{Raw: "http://acme.org/vs", URI: "http://acme.org/vs"}}},
		{"Observation", "code:not-in=http://acme.org/vs", ModNotIn, []Value{{Raw: "http://acme.org/vs", URI: "http://acme.org/vs"}}},
		{"Observation", "code:below=http://snomed.info/sct|235862008", ModBelow, []Value{{Raw: "http://snomed.info/sct|235862008",
			Token: &Token{System: "http://snomed.info/sct", Code: "235862008", HasSystem: true}}}},
		{"Observation", "code:above=http://snomed.info/sct|235862008", ModAbove, []Value{{Raw: "http://snomed.info/sct|235862008",
			Token: &Token{System: "http://snomed.info/sct", Code: "235862008", HasSystem: true}}}},
		{"Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053", ModOfType, []Value{{
			Raw:   "http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053",
			Token: &Token{System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "MR", HasSystem: true, Value: "446053"}}}},
		{"Patient", "_id=abc,def", "", []Value{{Raw: "abc", Token: &Token{Code: "abc"}}, {Raw: "def", Token: &Token{Code: "def"}}}},
		{"Patient", "_tag=http://acme.org/tags|vip", "", []Value{{Raw: "http://acme.org/tags|vip", Token: &Token{System: "http://acme.org/tags", Code: "vip", HasSystem: true}}}},
		{"Patient", "_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", "", []Value{{Raw: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R",
			Token: &Token{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R", HasSystem: true}}}},
		{"Patient", "gender:missing=true", ModMissing, []Value{{Raw: "true", Missing: ptr(true)}}},
	})
}

func TestString(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Patient", "name=Élodie", "", []Value{{Raw: "Élodie", Str: str("Élodie", "elodie")}}},
		{"Patient", "family:exact=MÜLLER", ModExact, []Value{{Raw: "MÜLLER", Str: str("MÜLLER", "muller")}}},
		{"Patient", "given:contains=zoë,ANDRÉ", ModContains, []Value{
			{Raw: "zoë", Str: str("zoë", "zoe")},
			{Raw: "ANDRÉ", Str: str("ANDRÉ", "andre")},
		}},
		// decomposed input normalises the same as precomposed
		{"Patient", "name=Jose\u0301", "", []Value{{Raw: "Jose\u0301", Str: str("Jose\u0301", "jose")}}},
		{"Patient", `address=1\,2 Main St`, "", []Value{{Raw: `1\,2 Main St`, Str: str("1,2 Main St", "1,2 main st")}}},
		{"Patient", "_text=Diabetes", "", []Value{{Raw: "Diabetes", Str: str("Diabetes", "diabetes")}}},
		{"Patient", "_content=Ǆ", "", []Value{{Raw: "Ǆ", Str: str("Ǆ", "dz")}}},
		{"Patient", "name:missing=true", ModMissing, []Value{{Raw: "true", Missing: ptr(true)}}},
	})
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Élodie": "elodie", "ÅNGSTRÖM": "angstrom", "straße": "straße", "ﬁle": "file", "Ça": "ca", "": "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURI(t *testing.T) {
	runValueCases(t, []valueCase{
		{"ValueSet", "url=http://acme.org/fhir/ValueSet/123", "", []Value{{Raw: "http://acme.org/fhir/ValueSet/123", URI: "http://acme.org/fhir/ValueSet/123"}}},
		{"ValueSet", "url:below=http://acme.org/fhir/", ModBelow, []Value{{Raw: "http://acme.org/fhir/", URI: "http://acme.org/fhir/"}}},
		{"ValueSet", "url:above=http://acme.org/fhir/ValueSet/123/_history/5", ModAbove, []Value{{Raw: "http://acme.org/fhir/ValueSet/123/_history/5", URI: "http://acme.org/fhir/ValueSet/123/_history/5"}}},
		{"Patient", "_profile=http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient", "", []Value{{
			Raw: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient", URI: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"}}},
		{"Patient", "_source=urn:uuid:1234", "", []Value{{Raw: "urn:uuid:1234", URI: "urn:uuid:1234"}}},
		{"ValueSet", "url:missing=false", ModMissing, []Value{{Raw: "false", Missing: ptr(false)}}},
	})
}

func TestReference(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Observation", "subject=Patient/123", "", []Value{{Raw: "Patient/123", Reference: &Reference{Type: "Patient", ID: "123"}}}},
		{"Observation", "subject=123", "", []Value{{Raw: "123", Reference: &Reference{ID: "123"}}}},
		{"Observation", "subject=Patient/123/_history/2", "", []Value{{Raw: "Patient/123/_history/2", Reference: &Reference{Type: "Patient", ID: "123", Version: "2"}}}},
		{"Observation", "subject=http://other.org/fhir/Patient/123", "", []Value{{Raw: "http://other.org/fhir/Patient/123", Reference: &Reference{URL: "http://other.org/fhir/Patient/123"}}}},
		{"QuestionnaireResponse", "questionnaire=http://acme.org/Questionnaire/q|1.0", "", []Value{{Raw: "http://acme.org/Questionnaire/q|1.0",
			Reference: &Reference{URL: "http://acme.org/Questionnaire/q", Version: "1.0"}}}},
		{"Observation", "subject:Patient=123,Patient/456", ModType, []Value{
			{Raw: "123", Reference: &Reference{Type: "Patient", ID: "123"}},
			{Raw: "Patient/456", Reference: &Reference{Type: "Patient", ID: "456"}},
		}},
		{"Observation", "subject:identifier=http://acme.org/mrn|12345", ModIdentifier, []Value{{Raw: "http://acme.org/mrn|12345",
			Token: &Token{System: "http://acme.org/mrn", Code: "12345", HasSystem: true}}}},
		{"Observation", "subject:missing=true", ModMissing, []Value{{Raw: "true", Missing: ptr(true)}}},
		{"Patient", "_list=42,$current-problems", "", []Value{
			{Raw: "42", Reference: &Reference{Type: "List", ID: "42"}},
			{Raw: "$current-problems", Reference: &Reference{Type: "List", ID: "$current-problems"}},
		}},
	})
	q := mustParse(t, "Observation", "subject:Patient=1", Options{})
	if q.Clauses[0].TargetType != "Patient" {
		t.Errorf("TargetType %q, want Patient", q.Clauses[0].TargetType)
	}
}

func TestComposite(t *testing.T) {
	runValueCases(t, []valueCase{
		{"Observation", "code-value-quantity=http://loinc.org|8480-6$gt150|http://unitsofmeasure.org|mm[Hg]", "", []Value{{
			Raw: "http://loinc.org|8480-6$gt150|http://unitsofmeasure.org|mm[Hg]",
			Composite: []Value{
				{Raw: "http://loinc.org|8480-6", Token: &Token{System: "http://loinc.org", Code: "8480-6", HasSystem: true}},
				{Raw: "gt150|http://unitsofmeasure.org|mm[Hg]", Prefix: Gt, Quantity: &Quantity{Number: *num("150", "149.5", "150.5"), System: "http://unitsofmeasure.org", Code: "mm[Hg]"}},
			},
		}}},
		{"Observation", `code-value-string=1234$a\$b`, "", []Value{{
			Raw: `1234$a\$b`,
			Composite: []Value{
				{Raw: "1234", Token: &Token{Code: "1234"}},
				{Raw: `a\$b`, Str: str("a$b", "a$b")},
			},
		}}},
		{"Observation", "code-value-date=1234$ge2024", "", []Value{{
			Raw: "1234$ge2024",
			Composite: []Value{
				{Raw: "1234", Token: &Token{Code: "1234"}},
				{Raw: "ge2024", Prefix: Ge, Date: date(Year, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")},
			},
		}}},
	})
}
