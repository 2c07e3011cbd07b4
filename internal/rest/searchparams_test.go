package rest_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// colourExt is the extension the custom parameters of these tests index.
const colourExt = "http://example.org/fhir/StructureDefinition/favourite-colour"

func colourPatient(id, family, colour string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":%q}],"birthDate":"1970-01-01",
		"extension":[{"url":%q,"valueCode":%q}]}`, id, family, colourExt, colour)
}

func colourParam(id, code, expr, status string) string {
	return fmt.Sprintf(`{"resourceType":"SearchParameter","id":%q,"url":"http://example.org/fhir/SearchParameter/%s",
		"name":%q,"status":%q,"description":"a test parameter","code":%q,"base":["Patient"],"type":"token",
		"expression":%q}`, id, id, code, status, code, expr)
}

// waitIndexed polls the reindex status until the search index is complete.
func (c *client) waitIndexed() {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.must(200, "GET", "/$reindex-status", "")
		if strings.Contains(string(r.Raw), `"name":"complete","valueBoolean":true`) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the search index is not complete after a minute:\n%s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ids returns the ids of a search Bundle's match entries, sorted.
func matchIDs(r *response) []string {
	var out []string
	for i := 0; ; i++ {
		e := get(r.Body, "entry", i)
		if e == nil {
			break
		}
		if str(e, "search", "mode") == "match" {
			out = append(out, str(e, "resource", "id"))
		}
	}
	slices.Sort(out)
	return out
}

// TestCustomSearchParameter puts a custom parameter in force through the
// API: data written before it is reindexed and found, data written after
// is indexed on write, a changed expression reindexes again, a retired or
// deleted one stops being searchable, and ones the server cannot index
// are refused on write.
func TestCustomSearchParameter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.must(201, "PUT", "/Patient/p1", colourPatient("p1", "Ash", "blue"))
		c.must(201, "PUT", "/Patient/p2", colourPatient("p2", "Birch", "green"))
		strict := []string{"Prefer", "handling=strict"}

		// Unknown until a SearchParameter says what it is.
		c.outcome(c.do("GET", "/Patient?colour=blue", "", strict...), 400)

		expr := "Patient.extension.where(url='" + colourExt + "').value"
		c.must(201, "PUT", "/SearchParameter/colour", colourParam("colour", "colour", expr, "active"))
		c.waitIndexed()
		if got := matchIDs(c.must(200, "GET", "/Patient?colour=blue", "", strict...)); !slices.Equal(got, []string{"p1"}) {
			t.Fatalf("colour=blue after the reindex: %v, want [p1]", got)
		}
		// Written after: indexed on write; modifiers work as for R4's.
		c.must(201, "PUT", "/Patient/p3", colourPatient("p3", "Cedar", "blue"))
		for q, want := range map[string][]string{
			"colour=blue":              {"p1", "p3"},
			"colour:not=blue":          {"p2"},
			"colour=blue,green":        {"p1", "p2", "p3"},
			"colour:missing=true":      nil,
			"colour=blue&family=cedar": {"p3"},
		} {
			if got := matchIDs(c.must(200, "GET", "/Patient?"+q, "", strict...)); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", q, got, want)
			}
		}
		// The CapabilityStatement lists it.
		if meta := c.must(200, "GET", "/metadata", ""); !strings.Contains(string(meta.Raw), `"name":"colour"`) {
			t.Errorf("the CapabilityStatement does not list the custom parameter")
		}
		// A chain through it from another type.
		c.must(201, "PUT", "/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`)
		if got := matchIDs(c.must(200, "GET", "/Observation?subject:Patient.colour=green", "", strict...)); !slices.Equal(got, []string{"o1"}) {
			t.Errorf("chain through the custom parameter: %v, want [o1]", got)
		}

		// A changed expression (the extension's value as a code, any
		// extension): the type is reindexed and answers by it.
		c.must(200, "PUT", "/SearchParameter/colour", colourParam("colour", "colour", "Patient.extension.value.ofType(code)", "active"))
		c.waitIndexed()
		if got := matchIDs(c.must(200, "GET", "/Patient?colour=green", "", strict...)); !slices.Equal(got, []string{"p2"}) {
			t.Errorf("colour=green after the change: %v, want [p2]", got)
		}

		// Refused on write: nothing the server could index.
		for name, body := range map[string]string{
			"no expression": strings.Replace(colourParam("bad1", "bad-one", "x", "active"), `,
		"expression":"x"`, ``, 1),
			"bad FHIRPath":        colourParam("bad2", "bad-two", "Patient.extension.where(", "active"),
			"another type's path": colourParam("bad3", "bad-three", "Observation.code", "active"),
			"clash with R4":       colourParam("bad4", "family", "Patient.name.family", "active"),
			"clash with custom":   colourParam("bad5", "colour", expr, "active"),
			"reserved name":       colourParam("bad6", "_colour", expr, "active"),
			"special type":        strings.Replace(colourParam("bad7", "bad-seven", expr, "active"), `"type":"token"`, `"type":"special"`, 1),
		} {
			r := c.do("PUT", "/SearchParameter/"+strings.SplitN(strings.SplitN(body, `"id":"`, 2)[1], `"`, 2)[0], body)
			c.with(t).outcome(r, 422)
			if !strings.Contains(string(r.Raw), "cannot be put in force") {
				t.Errorf("%s: the outcome does not say why:\n%s", name, r.Raw)
			}
		}
		// A draft is only stored.
		c.must(201, "PUT", "/SearchParameter/draft", colourParam("draft", "shade", expr, "draft"))
		c.outcome(c.do("GET", "/Patient?shade=blue", "", strict...), 400)

		// Retired, then deleted: gone from search.
		c.must(200, "PUT", "/SearchParameter/colour", colourParam("colour", "colour", expr, "retired"))
		c.outcome(c.do("GET", "/Patient?colour=blue", "", strict...), 400)
		c.must(200, "PUT", "/SearchParameter/colour", colourParam("colour", "colour", expr, "active"))
		c.waitIndexed()
		if got := matchIDs(c.must(200, "GET", "/Patient?colour=blue", "", strict...)); !slices.Equal(got, []string{"p1", "p3"}) {
			t.Errorf("colour=blue active again: %v", got)
		}
		c.must(204, "DELETE", "/SearchParameter/colour", "")
		c.outcome(c.do("GET", "/Patient?colour=blue", "", strict...), 400)
		// R4's parameters were never disturbed.
		if got := matchIDs(c.must(200, "GET", "/Patient?family="+url.QueryEscape("birch"), "", strict...)); !slices.Equal(got, []string{"p2"}) {
			t.Errorf("family=birch: %v", got)
		}
	})
}

// TestCustomSearchParameterInTransaction puts a parameter in force from a
// transaction and finds a restarted service loading it from the store.
func TestCustomSearchParameterInTransaction(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			c := newClient(t, st)
			expr := "Patient.extension.where(url='" + colourExt + "').value"
			c.must(200, "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":`+colourParam("colour", "colour", expr, "active")+`,"request":{"method":"PUT","url":"SearchParameter/colour"}},
				{"resource":`+colourPatient("p1", "Ash", "blue")+`,"request":{"method":"PUT","url":"Patient/p1"}}]}`)
			c.waitIndexed()
			strict := []string{"Prefer", "handling=strict"}
			if got := matchIDs(c.must(200, "GET", "/Patient?colour=blue", "", strict...)); !slices.Equal(got, []string{"p1"}) {
				t.Fatalf("colour=blue: %v", got)
			}
			// A second service over the same store, as after a restart.
			c2 := newClient(t, st)
			c2.waitIndexed()
			if got := matchIDs(c2.must(200, "GET", "/Patient?colour=blue", "", strict...)); !slices.Equal(got, []string{"p1"}) {
				t.Fatalf("after a restart, colour=blue: %v", got)
			}
		})
	}
}
