package recordview

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// synthPerson returns person i's resources as $everything would give them:
// every organisation's resources about the person, each tagged with its
// source organisation as the store tags it, plus the reference resources
// (Organization, Location, Practitioner, PractitionerRole) they refer to,
// directly or through one another. It also returns the GP's Patient id.
func synthPerson(t testing.TB, g *synth.Generator, ref map[string]json.RawMessage, i int) ([]json.RawMessage, string) {
	t.Helper()
	p := g.Person(i)
	var out []json.RawMessage
	patientID := ""
	want := map[string]bool{}
	for _, b := range p.Bundles {
		for _, raw := range bundleEntries(t, b.JSON) {
			raw = tagSource(t, raw)
			var h struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			json.Unmarshal(raw, &h)
			if h.ResourceType == "Patient" && patientID == "" {
				patientID = h.ID
			}
			collectRefs(raw, want)
			out = append(out, raw)
		}
	}
	// Reference resources refer to one another (a role to its practitioner
	// and organisation, a location to its organisation): follow them.
	seen := map[string]bool{}
	for len(want) > 0 {
		next := map[string]bool{}
		for r := range want {
			if seen[r] {
				continue
			}
			seen[r] = true
			if raw, ok := ref[r]; ok {
				out = append(out, raw)
				collectRefs(raw, next)
			}
		}
		want = next
	}
	// PractitionerRoles name practitioners, not the other way round:
	// include each referenced practitioner's roles, as $everything does.
	for k, raw := range ref {
		if strings.HasPrefix(k, "PractitionerRole/") && !seen[k] {
			var pr struct {
				Practitioner struct{ Reference string } `json:"practitioner"`
			}
			json.Unmarshal(raw, &pr)
			if seen[pr.Practitioner.Reference] {
				seen[k] = true
				out = append(out, raw)
			}
		}
	}
	return out, patientID
}

func bundleEntries(t testing.TB, b []byte) []json.RawMessage {
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	out := make([]json.RawMessage, 0, len(bundle.Entry))
	for _, e := range bundle.Entry {
		out = append(out, e.Resource)
	}
	return out
}

// referenceIndex maps "Type/id" to each reference resource.
func referenceIndex(t testing.TB, g *synth.Generator) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for _, raw := range bundleEntries(t, g.Reference()) {
		var h struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		json.Unmarshal(raw, &h)
		m[h.ResourceType+"/"+h.ID] = raw
	}
	return m
}

// tagSource adds the meta.tag the store adds from meta.source.
func tagSource(t testing.TB, raw json.RawMessage) json.RawMessage {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	meta, _ := m["meta"].(map[string]any)
	if src, _ := meta["source"].(string); strings.HasPrefix(src, sysODS+"|") {
		tags, _ := meta["tag"].([]any)
		meta["tag"] = append(tags, map[string]any{"system": sysODS, "code": src[len(sysODS)+1:]})
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func collectRefs(raw json.RawMessage, into map[string]bool) {
	var v any
	json.Unmarshal(raw, &v)
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "reference" {
					into[s] = true
				} else {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}
