package person

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/store"
)

// TestPersonRoundTrip checks that what compose writes into a person,
// decodePerson reads back: the state the index is rebuilt from at start.
func TestPersonRoundTrip(t *testing.T) {
	older := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srcs := []*store.Resource{
		{Type: "Patient", ID: "gp", LastUpdated: older, Body: []byte(`{"resourceType":"Patient","id":"gp",
			"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],
			"name":[{"family":"Smith","given":["Jane"]}],"birthDate":"1970-03-04","gender":"female"}`)},
		{Type: "Patient", ID: "hosp", LastUpdated: older.Add(time.Hour), Body: []byte(`{"resourceType":"Patient","id":"hosp",
			"identifier":[{"system":"urn:mrn","value":"M1"},{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],
			"name":[{"family":"SMITH","given":["Jane"]}],"address":[{"postalCode":"LS1 4AP"}]}`)},
	}
	tests := []struct {
		name string
		doc  personDoc
	}{
		{"linked", personDoc{ID: "p1", Links: []link{
			{Source: "gp", Decision: "new-person", At: "2026-01-01T00:00:00Z"},
			{Source: "hosp", Decision: "auto-link", Score: 41.25, Probability: 0.999, Grade: "certain", Reasons: "family name: exact (+8.8)", At: "2026-01-01T01:00:00Z"},
		}}},
		{"survivor", personDoc{ID: "p2", Links: []link{{Source: "gp", Decision: "merged"}}, Replaces: []string{"p3", "p4"}}},
		{"merged away", personDoc{ID: "p3", MergedInto: "p2", Moved: []string{"hosp"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var use []*store.Resource
			for _, l := range tc.doc.Links {
				for _, r := range srcs {
					if r.ID == l.Source {
						use = append(use, r)
					}
				}
			}
			body, err := compose(tc.doc, use)
			if err != nil {
				t.Fatal(err)
			}
			if !IsPerson(body) {
				t.Error("a composed person is not tagged as one")
			}
			got, err := decodePerson(body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.doc, got, cmp.AllowUnexported(personDoc{}, link{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	// Demographics come from the most recent source with each field, and
	// say so; identifiers are the union; former ones stay as old.
	body, err := compose(personDoc{ID: "p", Links: []link{{Source: "gp"}, {Source: "hosp"}},
		Former: []any{map[string]any{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}}}, srcs)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name       []struct{ Family string }
		BirthDate  string
		Identifier []struct{ System, Value, Use string }
		Extension  []struct {
			URL       string
			Extension []struct {
				URL            string
				ValueString    string
				ValueReference struct{ Reference string }
			}
		}
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name[0].Family != "SMITH" || p.BirthDate != "1970-03-04" {
		t.Errorf("name from %q, birth date %q: want the newer source's name and the only birth date", p.Name[0].Family, p.BirthDate)
	}
	if len(p.Identifier) != 3 || p.Identifier[2].Use != "old" || p.Identifier[2].Value != "9990000018" {
		t.Errorf("identifiers %+v: want the two current, then the former as old", p.Identifier)
	}
	sources := map[string]string{}
	for _, e := range p.Extension {
		if e.URL == FieldSourceExtension {
			sources[e.Extension[0].ValueString] = e.Extension[1].ValueReference.Reference
		}
	}
	if sources["name"] != "Patient/hosp" || sources["birthDate"] != "Patient/gp" {
		t.Errorf("field sources %v", sources)
	}
}
