package index

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

func decode(t testing.TB, s string) fhir.Object {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func us(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

const observation = `{"resourceType":"Observation","id":"o1","status":"final",
 "identifier":[{"system":"https://example.nhs.uk/obs","value":"42","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"FILL"}]}}],
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body Wéight"}],"text":"Weight"},
 "subject":{"reference":"Patient/p1"},
 "performer":[{"reference":"Practitioner/dr1"},{"reference":"Patient/p2"},{"identifier":{"system":"https://fhir.nhs.uk/Id/sds","value":"G123"}}],
 "encounter":{"reference":"http://other.example/fhir/Encounter/e9/_history/3"},
 "effectivePeriod":{"start":"2024-03-01T10:00:00Z"},
 "valueQuantity":{"value":72.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},
 "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`

func has[T comparable](t *testing.T, what string, rows []T, want ...T) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(rows, w) {
			t.Errorf("%s: missing %+v in\n%+v", what, w, rows)
		}
	}
}

func TestObservation(t *testing.T) {
	ix, pk := Compute(decode(t, observation), "o1", All)
	if pk != "p1" {
		t.Errorf("patient key %q, want p1", pk)
	}
	has(t, "tokens", ix.Tokens,
		store.Token{Param: "code", System: "http://loinc.org", Code: "29463-7", Display: "body weight"},
		store.Token{Param: "code", Display: "weight"},
		store.Token{Param: "category", System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs"},
		store.Token{Param: "identifier", System: "https://example.nhs.uk/obs", Code: "42"},
		store.Token{Param: "identifier:of-type", System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "FILL|42"},
		store.Token{Param: "status", Code: "final"},
		store.Token{Param: "component-code", System: "http://loinc.org", Code: "8480-6"},
	)
	has(t, "references", ix.References,
		store.Reference{Param: "subject", Type: "Patient", ID: "p1"},
		store.Reference{Param: "patient", Type: "Patient", ID: "p1"},
		store.Reference{Param: "performer", Type: "Practitioner", ID: "dr1"},
		store.Reference{Param: "performer", IDSystem: "https://fhir.nhs.uk/Id/sds", IDValue: "G123"},
		store.Reference{Param: "encounter", Type: "Encounter", ID: "e9", Version: "3", URL: "http://other.example/fhir/Encounter/e9/_history/3"},
	)
	has(t, "dates", ix.Dates, store.Date{Param: "date", Low: us("2024-03-01T10:00:00Z"), High: math.MaxInt64})
	has(t, "quantities", ix.Quantities,
		store.Quantity{Param: "value-quantity", Value: 72.5, Low: 72.495, High: 72.505, System: UCUM, Code: "kg", CanonValue: 72500, CanonCode: "g"},
		store.Quantity{Param: "component-value-quantity", Value: 120, Low: 119.5, High: 120.5, System: UCUM, Code: "mm[Hg]", CanonValue: 120 * 133.322387415, CanonCode: "Pa"},
	)
	has(t, "composites", ix.Composites,
		store.Composite{Param: "code-value-quantity", C1: "http://loinc.org|29463-7", C2: "72.5|http://unitsofmeasure.org|kg"},
		store.Composite{Param: "component-code-value-quantity", C1: "http://loinc.org|8480-6", C2: "120|http://unitsofmeasure.org|mm[Hg]"},
		store.Composite{Param: "combo-code-value-quantity", C1: "http://loinc.org|8480-6", C2: "120|http://unitsofmeasure.org|mm[Hg]"},
	)
	// The component's code and value stay together: no cross tuples.
	if slices.Contains(ix.Composites, store.Composite{Param: "component-code-value-quantity", C1: "http://loinc.org|29463-7", C2: "120|http://unitsofmeasure.org|mm[Hg]"}) {
		t.Error("composite tuple across elements")
	}
	if want := []store.Compartment{{Param: "subject", Patient: "p1"}, {Param: "performer", Patient: "p2"}}; !slices.Equal(ix.Compartments, want) {
		t.Errorf("compartments %+v, want %+v", ix.Compartments, want)
	}
}

func TestPatient(t *testing.T) {
	m := decode(t, `{"resourceType":"Patient","id":"p1","active":true,"gender":"female","birthDate":"1974-12",
	 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
	 "name":[{"use":"official","family":"Chalmers","given":["Peter","James"],"prefix":["Mr."]},{"text":"Jim Élodie"}],
	 "telecom":[{"system":"phone","value":"(03) 5555 6473"},{"system":"email","value":"jim@example.org"}],
	 "address":[{"line":["534 Erewhon St"],"city":"PleasantVille","district":"Rainbow","state":"Vic","postalCode":"3999","country":"AU"}],
	 "link":[{"other":{"reference":"Patient/p0"},"type":"seealso"}],
	 "generalPractitioner":[{"reference":"Organization/org1"}]}`)
	ix, pk := Compute(m, "p1", All)
	if pk != "p1" {
		t.Errorf("patient key %q", pk)
	}
	has(t, "tokens", ix.Tokens,
		store.Token{Param: "identifier", System: "https://fhir.nhs.uk/Id/nhs-number", Code: "9000000009"},
		store.Token{Param: "gender", Code: "female"},
		store.Token{Param: "active", Code: "true"},
		// "deceased.exists() and deceased != false": false for the living.
		store.Token{Param: "deceased", Code: "false"},
		store.Token{Param: "telecom", System: "phone", Code: "(03) 5555 6473"},
		store.Token{Param: "email", System: "email", Code: "jim@example.org"},
		store.Token{Param: "phone", System: "phone", Code: "(03) 5555 6473"},
	)
	has(t, "strings", ix.Strings,
		store.String{Param: "family", Norm: "chalmers", Exact: "Chalmers"},
		store.String{Param: "given", Norm: "james", Exact: "James"},
		store.String{Param: "name", Norm: "mr.", Exact: "Mr."},
		store.String{Param: "name", Norm: "jim elodie", Exact: "Jim Élodie"},
		store.String{Param: "address", Norm: "534 erewhon st", Exact: "534 Erewhon St"},
		store.String{Param: "address-city", Norm: "pleasantville", Exact: "PleasantVille"},
		store.String{Param: "address-postalcode", Norm: "3999", Exact: "3999"},
		store.String{Param: "phonetic", Norm: "chalmers", Exact: "Chalmers"},
	)
	has(t, "dates", ix.Dates, store.Date{Param: "birthdate", Low: us("1974-12-01T00:00:00Z"), High: us("1975-01-01T00:00:00Z") - 1})
	has(t, "references", ix.References,
		store.Reference{Param: "general-practitioner", Type: "Organization", ID: "org1"},
		store.Reference{Param: "link", Type: "Patient", ID: "p0"})
	if want := []store.Compartment{{Param: "_id", Patient: "p1"}, {Param: "link", Patient: "p0"}}; !slices.Equal(ix.Compartments, want) {
		t.Errorf("compartments %+v, want %+v", ix.Compartments, want)
	}
}

func TestMedicationRequestAndEncounter(t *testing.T) {
	mr := decode(t, `{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order",
	 "medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"322236009"}]},
	 "subject":{"reference":"Patient/p1"},"authoredOn":"2024-02-03T04:05:06.789+01:00",
	 "requester":{"reference":"Practitioner/dr1"},
	 "dosageInstruction":[{"timing":{"event":["2024-02-04"]}}],
	 "dispenseRequest":{"validityPeriod":{"start":"2024-02-03","end":"2024-03-03"}}}`)
	ix, pk := Compute(mr, "m1", All)
	if pk != "p1" {
		t.Errorf("patient key %q", pk)
	}
	has(t, "tokens", ix.Tokens,
		store.Token{Param: "code", System: "http://snomed.info/sct", Code: "322236009"},
		store.Token{Param: "intent", Code: "order"})
	has(t, "dates", ix.Dates,
		store.Date{Param: "authoredon", Low: us("2024-02-03T03:05:06.789Z"), High: us("2024-02-03T03:05:06.789Z") + 999},
		store.Date{Param: "date", Low: us("2024-02-04T00:00:00Z"), High: us("2024-02-05T00:00:00Z") - 1})
	has(t, "references", ix.References, store.Reference{Param: "requester", Type: "Practitioner", ID: "dr1"})

	enc := decode(t, `{"resourceType":"Encounter","id":"e1","status":"finished",
	 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
	 "subject":{"reference":"Patient/p1"},
	 "participant":[{"individual":{"reference":"Practitioner/dr1"}}],
	 "period":{"start":"2024-01-01T09:00:00Z","end":"2024-01-01T09:30:00Z"},
	 "length":{"value":30,"unit":"min","system":"http://unitsofmeasure.org","code":"min"}}`)
	ix, pk = Compute(enc, "e1", All)
	if pk != "p1" {
		t.Errorf("patient key %q", pk)
	}
	has(t, "tokens", ix.Tokens, store.Token{Param: "class", System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "AMB"})
	has(t, "dates", ix.Dates, store.Date{Param: "date", Low: us("2024-01-01T09:00:00Z"), High: us("2024-01-01T09:30:01Z") - 1})
	has(t, "references", ix.References,
		store.Reference{Param: "participant", Type: "Practitioner", ID: "dr1"},
		store.Reference{Param: "practitioner", Type: "Practitioner", ID: "dr1"})
	has(t, "quantities", ix.Quantities, store.Quantity{Param: "length", Value: 30, Low: 29.5, High: 30.5, System: UCUM, Code: "min", CanonValue: 1800, CanonCode: "s"})
}

func TestUriNumberCanonical(t *testing.T) {
	vs := decode(t, `{"resourceType":"ValueSet","url":"http://example.org/vs","version":"1.0","status":"active","name":"Ex",
	 "compose":{"include":[{"system":"http://loinc.org","valueSet":["http://example.org/other|2.0"]}]}}`)
	ix, pk := Compute(vs, "v1", All)
	if pk != "" || len(ix.Compartments) != 0 {
		t.Errorf("a ValueSet belongs to nobody: %q %+v", pk, ix.Compartments)
	}
	has(t, "uris", ix.URIs, store.URI{Param: "url", URI: "http://example.org/vs"}, store.URI{Param: "reference", URI: "http://loinc.org"})
	has(t, "strings", ix.Strings, store.String{Param: "name", Norm: "ex", Exact: "Ex"})
	ra := decode(t, `{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/p3"},
	 "prediction":[{"probabilityDecimal":0.25}]}`)
	ix, pk = Compute(ra, "r1", All)
	if pk != "p3" {
		t.Errorf("patient key %q", pk)
	}
	has(t, "numbers", ix.Numbers, store.Number{Param: "probability", Value: 0.25, Low: 0.245, High: 0.255})
	ins := decode(t, `{"resourceType":"InsurancePlan","name":"Gold","alias":["Au"]}`)
	ix, _ = Compute(ins, "i1", All)
	has(t, "strings", ix.Strings, store.String{Param: "name", Norm: "gold", Exact: "Gold"}, store.String{Param: "name", Norm: "au", Exact: "Au"})
}

func TestDateRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		exact  bool
		lo, hi string
	}{
		{"2024", false, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"2024-02", false, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-02-29", false, "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-02-29T23:00:00+02:00", false, "2024-02-29T21:00:00Z", "2024-02-29T21:00:01Z"},
		{"2024-02-29T23:00:00.5Z", false, "2024-02-29T23:00:00.5Z", "2024-02-29T23:00:00.6Z"},
		{"2024-02-29T23:00:00.123Z", true, "2024-02-29T23:00:00.123Z", ""},
	} {
		lo, hi, ok := DateRange(tc.in, tc.exact)
		if !ok {
			t.Errorf("%s: not parsed", tc.in)
			continue
		}
		wantHi := us(tc.lo)
		if tc.hi != "" {
			wantHi = us(tc.hi) - 1
		}
		if lo != us(tc.lo) || hi != wantHi {
			t.Errorf("%s: %d..%d, want %d..%d", tc.in, lo, hi, us(tc.lo), wantHi)
		}
	}
	for _, bad := range []string{"", "20", "2024-13", "yesterday"} {
		if _, _, ok := DateRange(bad, false); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBounded(t *testing.T) {
	list := func(n int, f func(i int) string) string {
		var out []string
		for i := range n {
			out = append(out, f(i))
		}
		return strings.Join(out, ",")
	}
	identifiers := func(n int) string {
		return list(n, func(i int) string { return `{"system":"s","value":"v` + strconv.Itoa(i) + `"}` })
	}
	tests := []struct {
		name string
		res  string
		// rows of Param identifier, and in all (with the Patient's own
		// compartment, its _content and deceased=false)
		identifiers, rows int
		dropped           bool
	}{
		{
			name: "duplicate values give one row",
			res: `{"resourceType":"Patient","identifier":[` +
				list(3000, func(i int) string { return `{"system":"s","value":"` + string(rune('a'+i%26)) + `"}` }) + `]}`,
			identifiers: 26, rows: 26 + 3,
		},
		{
			name:        "one parameter's rows are capped",
			res:         `{"resourceType":"Patient","identifier":[` + identifiers(3000) + `]}`,
			identifiers: MaxParamRows, rows: MaxParamRows + 3, dropped: true,
		},
		{
			name: "a resource's rows are capped",
			res: `{"resourceType":"Patient","identifier":[` + identifiers(900) + `],"name":[` +
				list(900, func(i int) string { return `{"family":"f` + strconv.Itoa(i) + `"}` }) + `]}`,
			identifiers: 900, rows: MaxRows, dropped: true,
		},
		{
			name:        "over-long values are not indexed",
			res:         `{"resourceType":"Patient","identifier":[{"system":"s","value":"` + strings.Repeat("y", MaxTokenLen+1) + `"}]}`,
			identifiers: 0, rows: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := Dropped()
			ix, _ := Compute(decode(t, tc.res), "p", All)
			if n := ix.Rows(); n != tc.rows {
				t.Errorf("%d rows, want %d", n, tc.rows)
			}
			n := 0
			for _, tk := range ix.Tokens {
				if tk.Param == "identifier" {
					n++
				}
			}
			if n != tc.identifiers {
				t.Errorf("%d identifier rows, want %d", n, tc.identifiers)
			}
			if got := Dropped() > before; got != tc.dropped {
				t.Errorf("dropped rows counted: %v, want %v", got, tc.dropped)
			}
		})
	}
}

// TestSynthea extracts every resource of a Synthea set.
func TestSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	all := syntheaResources(t, "hiv-r4.tar.gz", math.MaxInt)
	errs0 := EvalErrors()
	start := time.Now()
	var resources, rows, noKey int
	perType := map[string][2]int{}
	for _, m := range all {
		id, _ := m["id"].(string)
		ix, pk := Compute(m, id, All)
		rt, _ := m["resourceType"].(string)
		resources++
		rows += ix.Rows()
		c := perType[rt]
		perType[rt] = [2]int{c[0] + 1, c[1] + ix.Rows()}
		if pk == "" && rt != "Organization" && rt != "Practitioner" && rt != "Location" && rt != "PractitionerRole" && rt != "Medication" {
			noKey++
		}
	}
	el := time.Since(start)
	t.Logf("%d resources, %d rows (%.1f per resource), %.0f resources/s on one core, %d expression errors, %d without a patient key",
		resources, rows, float64(rows)/float64(resources), float64(resources)/el.Seconds(), EvalErrors()-errs0, noKey)
	for rt, c := range perType {
		t.Logf("  %-24s %6d resources %6.1f rows each", rt, c[0], float64(c[1])/float64(c[0]))
	}
	if n := EvalErrors() - errs0; n > 0 {
		t.Errorf("%d search parameter expressions failed", n)
	}
}

// TestResourceParams: the parameters every resource has. _id and
// _lastUpdated are answered from the resource table, so have no rows.
func TestResourceParams(t *testing.T) {
	m := decode(t, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},
	 "meta":{"versionId":"2","lastUpdated":"2024-01-01T00:00:00Z","source":"http://example.org/feed#1",
	  "profile":["http://example.org/StructureDefinition/obs|1.0"],
	  "tag":[{"system":"http://example.org/tags","code":"t1"}],
	  "security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}`)
	ix, _ := Compute(m, "o1", All)
	tests := []struct {
		param string
		rows  int
	}{
		{"_id", 0},
		{"_lastUpdated", 0},
		{"_profile", 1},
		{"_tag", 1},
		{"_security", 1},
		{"_source", 1},
	}
	for _, tc := range tests {
		n := 0
		for _, r := range ix.Tokens {
			n += btoi(r.Param == tc.param)
		}
		for _, r := range ix.Dates {
			n += btoi(r.Param == tc.param)
		}
		for _, r := range ix.URIs {
			n += btoi(r.Param == tc.param)
		}
		for _, r := range ix.References {
			n += btoi(r.Param == tc.param)
		}
		if n != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.param, n, tc.rows)
		}
	}
	has(t, "tokens", ix.Tokens,
		store.Token{Param: "_tag", System: "http://example.org/tags", Code: "t1"},
		store.Token{Param: "_security", System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R"})
	has(t, "uris", ix.URIs,
		store.URI{Param: "_source", URI: "http://example.org/feed#1"},
		store.URI{Param: "_profile", URI: "http://example.org/StructureDefinition/obs|1.0"})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		in                    string
		typ, id, version, url string
	}{
		{"Patient/p1", "Patient", "p1", "", ""},
		{"Patient/p1/_history/3", "Patient", "p1", "3", ""},
		{"http://other.example/fhir/Encounter/e9/_history/3", "Encounter", "e9", "3", "http://other.example/fhir/Encounter/e9/_history/3"},
		{"http://other.example/fhir/Encounter/e9", "Encounter", "e9", "", "http://other.example/fhir/Encounter/e9"},
		{"http://example.org/StructureDefinition/p|1.0", "StructureDefinition", "p", "1.0", "http://example.org/StructureDefinition/p"},
		{"urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7", "", "", "", "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7"},
		{"#contained", "", "", "", ""},
		{"", "", "", "", ""},
		{"Patient/", "", "", "", ""},
		{"p1", "", "", "", ""},
		{"Nope/p1", "", "", "", ""},
		{"_history/3", "", "", "", ""},
		{"a/Patient/p1", "Patient", "p1", "", ""},
		{"Patient/p1/_history/", "Patient", "p1", "", ""},
	}
	for _, tc := range tests {
		typ, id, version, url := ParseReference(tc.in)
		if typ != tc.typ || id != tc.id || version != tc.version || url != tc.url {
			t.Errorf("ParseReference(%q) = %q %q %q %q, want %q %q %q %q", tc.in, typ, id, version, url, tc.typ, tc.id, tc.version, tc.url)
		}
	}
}
