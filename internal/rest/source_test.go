package rest_test

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/record"
)

// odsTags returns the ODS codes among a resource's meta.tag.
func odsTags(res map[string]any) []string {
	var out []string
	tags, _ := get(res, "meta", "tag").([]any)
	for _, t := range tags {
		if str(t, "system") == record.ODSSystem {
			out = append(out, str(t, "code"))
		}
	}
	return out
}

// TestSourceAttribution checks that every write records the organisation
// that contributed it, that what a request names wins over what the
// resource claims, and that both are searchable.
func TestSourceAttribution(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		claim := `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},
			"meta":{"source":"https://fhir.nhs.uk/Id/ods-organization-code|RHQ","tag":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","code":"XYZ"},{"system":"http://example.org/t","code":"keep"}]}}`
		tests := []struct {
			name       string
			header     string
			body       string
			wantSource string
			wantTags   []string
		}{
			{"header wins over the resource's claims", "rhq01", claim, record.ODSSystem + "|RHQ01", []string{"RHQ01"}},
			{"no header: an ODS meta.source is taken at its word", "", claim, record.ODSSystem + "|RHQ", []string{"RHQ"}},
			{"no header and no claim: unattributed", "", `{"resourceType":"Observation","status":"final","code":{"text":"pulse"}}`, "", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := c.with(t)
				var hs []string
				if tc.header != "" {
					hs = []string{"X-Source-Organization", tc.header}
				}
				r := c.must(201, "POST", "/Observation", tc.body, hs...)
				if got := str(r.Body, "meta", "source"); got != tc.wantSource {
					t.Errorf("meta.source = %q, want %q", got, tc.wantSource)
				}
				if got := odsTags(r.Body); len(got) != len(tc.wantTags) || len(got) > 0 && got[0] != tc.wantTags[0] {
					t.Errorf("ODS tags = %v, want %v", got, tc.wantTags)
				}
				if tc.body == claim {
					if n := len(get(r.Body, "meta", "tag").([]any)); n != 2 {
						t.Errorf("other tags not kept: %d tags", n)
					}
				}
			})
		}
		// A transaction is attributed entry by entry.
		bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:0a6b6a55-8f55-4a1e-9c0e-2f1f6a1b0001","resource":{"resourceType":"Patient","name":[{"family":"Attrib"}]},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"urn:uuid:0a6b6a55-8f55-4a1e-9c0e-2f1f6a1b0001"}},"request":{"method":"POST","url":"Observation"}}]}`
		c.must(200, "POST", "", bundle, "X-Source-Organization", "B86001")
		r := c.must(200, "GET", "/Observation?_tag="+record.ODSSystem+"|B86001", "")
		if n := len(get(r.Body, "entry").([]any)); n != 1 {
			t.Errorf("_tag search found %d Observations from B86001, want 1", n)
		}
		r = c.must(200, "GET", "/Patient?_source="+record.ODSSystem+"|B86001", "")
		if n, _ := get(r.Body, "entry").([]any); len(n) != 1 {
			t.Errorf("_source search found %d Patients from B86001, want 1", len(n))
		}
		r = c.must(200, "GET", "/Observation?_tag="+record.ODSSystem+"|RHQ01", "")
		if n := len(get(r.Body, "entry").([]any)); n != 1 {
			t.Errorf("_tag search found %d Observations from RHQ01, want 1", n)
		}
		// A malformed organisation code is a client error, written nowhere.
		c.outcome(c.do("POST", "/Observation", claim, "X-Source-Organization", "not an ods code"), 400)
		c.outcome(c.do("POST", "/Observation", claim, "X-Source-Organization", "R!"), 400)
	})
}
