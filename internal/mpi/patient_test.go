package mpi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sharedcare/sharedcare/internal/synth"
)

func TestFromPatient(t *testing.T) {
	// A Patient as internal/synth writes one, plus a maiden name.
	const js = `{"resourceType":"Patient","id":"p1","meta":{"source":"https://fhir.nhs.uk/Id/ods-organization-code|C88922"},
	"identifier":[{"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
	"valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"01","display":"Number present and verified"}]}}],
	"system":"https://fhir.nhs.uk/Id/nhs-number","value":"999 612 1828"},
	{"system":"https://sharedcare.example/Id/C88922/patient-number","value":"9161768"}],
	"active":true,
	"name":[{"use":"official","family":"Jessop","given":["Roy","David"],"prefix":["Mr"]},{"use":"maiden","family":"Hobson","given":["Roy"]}],
	"telecom":[{"system":"phone","value":"0114 496 0438","use":"home"},{"system":"email","value":"roy@example.org"}],
	"gender":"male","birthDate":"1953-06-20","deceasedDateTime":"2024-01-02T10:00:00Z",
	"address":[{"use":"old","line":["1 Old Road"],"postalCode":"S1 1AA"},{"use":"home","line":["129 Moor Lane"],"city":"Sheffield","postalCode":"S7 0SB"}],
	"link":[{"other":{"reference":"Patient/p0"},"type":"replaced-by"}]}`
	got, err := FromPatient([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		ID: "p1", Source: "C88922",
		Identifiers: []Identifier{
			{System: NHSNumberSystem, Value: "9996121828", NHS: true, Verification: Verified},
			{System: "https://sharedcare.example/Id/C88922/patient-number", Value: "9161768"},
		},
		Family: "Jessop", PreviousFamily: []string{"Hobson"}, Given: []string{"Roy", "David"},
		BirthDate: Date{1953, 6, 20}, DeathDate: Date{2024, 1, 2}, Sex: Male,
		Postcode: "S7 0SB", AddressLine: "129 Moor Lane", Phones: []string{"0114 496 0438"},
		Email: "roy@example.org", ReplacedBy: "p0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromPatient (-want +got):\n%s", diff)
	}
	if n, v := got.NHS(); n != 9996121828 || v != Verified {
		t.Errorf("NHS() = %v, %v", n, v)
	}
}

func TestFromPatientErrors(t *testing.T) {
	for _, js := range []string{`{"resourceType":"Observation"}`, `[]`, `{"resourceType":"Patient","name":"x"}`, `not json`} {
		if _, err := FromPatient([]byte(js)); err == nil {
			t.Errorf("FromPatient(%s) accepted", js)
		}
	}
	// Bad values are dropped, not fatal.
	r, err := FromPatient([]byte(`{"resourceType":"Patient","birthDate":"1953-02-30","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"123"}]}`))
	if err != nil || !r.BirthDate.IsZero() || r.Identifiers[0].NHS {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
		err  bool
	}{
		{in: "1953", want: Date{Year: 1953}},
		{in: "1953-06", want: Date{Year: 1953, Month: 6}},
		{in: "1953-06-20", want: Date{1953, 6, 20}},
		{in: "2024-02-29", want: Date{2024, 2, 29}},
		{in: "1953-06-20T10:00:00+01:00", want: Date{1953, 6, 20}},
		{in: "2023-02-29", err: true},
		{in: "1953-13", err: true},
		{in: "1953/06/20", err: true},
		{in: "53-06-20", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && len(tt.in) <= 10 && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// Every Patient the synthetic generator writes reads, with the person's
// NHS number found in each that carries one.
func TestFromPatientSynth(t *testing.T) {
	g, err := synth.New(synth.Config{Seed: 7, Patients: 12})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = g.People(context.Background(), 1, func(p synth.Person) error {
		for _, b := range p.Bundles {
			for _, pat := range patientsIn(t, b.JSON) {
				r, err := FromPatient(pat)
				if err != nil {
					t.Fatal(err)
				}
				n++
				if r.Source != b.Source {
					t.Errorf("source %q, bundle from %q", r.Source, b.Source)
				}
				if r.Family == "" || len(r.Given) == 0 || r.BirthDate.Day == 0 || r.Sex == SexUnknown || r.Postcode == "" {
					t.Errorf("incomplete record %+v", r)
				}
				if nhs, _ := r.NHS(); nhs != 0 && nhs.String() != p.NHSNumber {
					t.Errorf("NHS number %v, person has %s", nhs, p.NHSNumber)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 24 {
		t.Errorf("only %d patients read", n)
	}
}

// patientsIn returns the Patient resources of a transaction Bundle.
func patientsIn(t testing.TB, bundle []byte) []json.RawMessage {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, e := range b.Entry {
		var h struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &h) == nil && h.ResourceType == "Patient" {
			out = append(out, e.Resource)
		}
	}
	return out
}

func FuzzFromPatient(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"a","name":[{"family":"Smith","given":["Jo"]}],"birthDate":"1990-01-02","address":[{"postalCode":"S7 0SB","line":["1 A Rd"]}]}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"text":"Jo Smith"}],"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"text":"   "}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := FromPatient(data)
		if err != nil {
			return
		}
		// Whatever was read can be prepared and scored against itself.
		s := DefaultModel().Score(r, r)
		if s.Weight < 0 {
			t.Fatalf("a record disagrees with itself: %v", s)
		}
	})
}
