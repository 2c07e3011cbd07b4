package clinician

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/web"
)

func TestParseDOB(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"31/3/1950", "1950-03-31"},
		{"1950-03-31", "1950-03-31"},
		{"03/04/2001", "2001-04-03"},
		{"3 March 1950", "1950-03-03"},
		{"31/2/1950", ""},
		{"1850-01-01", ""},
		{"2999-01-01", ""},
		{"yesterday", ""},
	} {
		got, err := parseDOB(c.in)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("parseDOB(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestAgeText(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ birth, want string }{
		{"1953-06-20", "73 years"},
		{"1953-11-23", "72 years"},
		{"2025-05-01", "18 months"},
		{"2026-11-01", "3 weeks"},
		{"2026", ""},
	} {
		if got := ageText(c.birth, now); got != c.want {
			t.Errorf("ageText(%s) = %q, want %q", c.birth, got, c.want)
		}
	}
}

// TestPeopleOf: a person held by several organisations is one row, opened
// at the record naming their GP practice; markers for the deceased and
// restricted; merged-away records left out.
func TestPeopleOf(t *testing.T) {
	raw := []string{
		`{"resourceType":"Patient","id":"hosp","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1950-01-02","gender":"female"}`,
		`{"resourceType":"Patient","id":"gp","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"use":"official","family":"Smith","given":["Ann"]}],"birthDate":"1950-01-02","generalPractitioner":[{"reference":"Organization/o1"}]}`,
		`{"resourceType":"Organization","id":"o1","name":"Rotherham Road Surgery"}`,
		`{"resourceType":"Patient","id":"dead","name":[{"family":"<script>"}],"deceasedDateTime":"2020-05-01"}`,
		`{"resourceType":"Patient","id":"old","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765870"}],"link":[{"other":{"reference":"Patient/gp"},"type":"replaced-by"}]}`,
	}
	b := &web.Bundle{}
	for _, r := range raw {
		b.Entries = append(b.Entries, json.RawMessage(r))
	}
	rows, _ := peopleOf(b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	ann := rows[0]
	if ann.ID != "gp" || ann.Practice != "Rotherham Road Surgery" || ann.Sources != 2 || !ann.Restricted || ann.NHS != "943 476 5919" || ann.Age != "75 years" {
		t.Errorf("Ann: %+v", ann)
	}
	if d := rows[1]; !d.Deceased || d.DeceasedOn != "1 May 2020" || d.Age != "" || d.Name != "<SCRIPT>" {
		t.Errorf("the deceased person: %+v", d)
	}
}
