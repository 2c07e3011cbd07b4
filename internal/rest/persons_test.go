package rest_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store"
)

// personClient is a client of an API with the person index running.
func personClient(t *testing.T, st store.Store) *client {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, svc := resttest.Handler(t, st, func(api *rest.Server) {
		p := person.New(api.Svc, nil, log)
		if err := p.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		api.Persons = p
		t.Cleanup(p.Close)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, st: st, svc: svc, base: srv.URL + "/fhir"}
}

const (
	nhsJane  = "9434765919"
	nhsQuery = "https://fhir.nhs.uk/Id/nhs-number|" + nhsJane
)

func personPatient(extra string) string {
	return `{"resourceType":"Patient",` + extra + `}`
}

var (
	janeAtGP = personPatient(`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhsJane + `"}],
		"name":[{"family":"Smith","given":["Jane","Anne"]}],"gender":"female","birthDate":"1970-03-04",
		"address":[{"line":["7 Wellington Place"],"city":"Leeds","postalCode":"LS1 4AP"}]`)
	janeAtHospital = personPatient(`"identifier":[{"system":"https://sharedcare.example/Id/RHQ/mrn","value":"M100"}],
		"name":[{"family":"SMITH","given":["Jane"]}],"gender":"female","birthDate":"1970-03-04",
		"address":[{"line":["7 Wellington Place"],"postalCode":"LS14AP"}]`)
	janeMoved = personPatient(`"name":[{"family":"Smith","given":["Jane"]}],"gender":"female","birthDate":"1970-03-04",
		"address":[{"line":["1 Other Road"],"postalCode":"S1 3FG"}]`)
	john = personPatient(`"identifier":[{"system":"https://sharedcare.example/Id/RHQ/mrn","value":"M200"}],
		"name":[{"family":"Brown","given":["John"]}],"gender":"male","birthDate":"1950-11-30",
		"address":[{"line":["2 Moor Lane"],"postalCode":"S10 2TN"}]`)
)

func bundleEntries(r *response) []any { e, _ := get(r.Body, "entry").([]any); return e }

// persons returns the person Patients and, for each, its linked sources.
func persons(c *client) map[string][]string {
	r := c.must(200, "GET", "/Patient?_tag="+url.QueryEscape(person.TagSystem+"|"+person.TagPerson)+"&_count=100", "")
	out := map[string][]string{}
	for _, e := range bundleEntries(r) {
		res := get(e, "resource")
		var srcs []string
		links, _ := get(res, "link").([]any)
		for _, l := range links {
			if str(l, "type") == "seealso" {
				srcs = append(srcs, strings.TrimPrefix(str(l, "other", "reference"), "Patient/"))
			}
		}
		slices.Sort(srcs)
		if str(res, "active") != "false" && get(res, "active") != false {
			out[str(res, "id")] = srcs
		}
	}
	return out
}

func personOf(c *client, source string) string {
	for p, srcs := range persons(c) {
		if slices.Contains(srcs, source) {
			return p
		}
	}
	c.t.Fatalf("no person links Patient/%s", source)
	return ""
}

func idsOf(r *response) []string {
	var out []string
	for _, e := range bundleEntries(r) {
		out = append(out, str(e, "resource", "id"))
	}
	slices.Sort(out)
	return out
}

// TestPersonIndex runs the person index end to end: two organisations'
// records of one person linked, an NHS number finding items from both,
// $match, a review accepted, a merge and its undoing, bad requests, and a
// restart that rebuilds it all from the record.
func TestPersonIndex(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			c := personClient(t, st)
			gp := str(c.must(201, "POST", "/Patient", janeAtGP, "X-Source-Organization", "B86001").Body, "id")
			hosp := str(c.must(201, "POST", "/Patient", janeAtHospital, "X-Source-Organization", "RHQ").Body, "id")
			other := str(c.must(201, "POST", "/Patient", john, "X-Source-Organization", "RHQ").Body, "id")
			ps := persons(c)
			jane := personOf(c, gp)
			if got, want := ps[jane], sortedOf(gp, hosp); !slices.Equal(got, want) {
				t.Fatalf("Jane's person links %v, want %v (persons %v)", got, want, ps)
			}
			if personOf(c, other) == jane {
				t.Fatal("John was linked to Jane")
			}
			pr := c.must(200, "GET", "/Patient/"+jane, "").Body
			if !strings.Contains(string(mustJSON(t, pr)), "M100") || !strings.Contains(string(mustJSON(t, pr)), nhsJane) {
				t.Errorf("the person does not carry every source's identifiers: %v", pr["identifier"])
			}
			obs := func(subject, ods string) string {
				return str(c.must(201, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/`+subject+`"}}`, "X-Source-Organization", ods).Body, "id")
			}
			o1, o2, o3 := obs(gp, "B86001"), obs(hosp, "RHQ"), obs(other, "RHQ")
			byNHS := func() []string {
				return idsOf(c.must(200, "GET", "/Observation?patient.identifier="+url.QueryEscape(nhsQuery), ""))
			}
			if got, want := byNHS(), sortedOf(o1, o2); !slices.Equal(got, want) {
				t.Errorf("Observation?patient.identifier=<NHS number> found %v, want the GP's and the hospital's %v", got, want)
			}
			if got := idsOf(c.must(200, "GET", "/Observation?subject:Patient.identifier="+url.QueryEscape(nhsQuery), "")); !slices.Equal(got, sortedOf(o1, o2)) {
				t.Errorf("subject:Patient.identifier found %v", got)
			}

			// $everything on the person, or on any of its records, is the
			// whole person's record, from every organisation.
			for _, from := range []string{jane, gp} {
				ev := c.must(200, "GET", "/Patient/"+from+"/$everything", "")
				var got []string
				for _, e := range bundleEntries(ev) {
					got = append(got, str(e, "resource", "resourceType")+"/"+str(e, "resource", "id"))
				}
				for _, want := range []string{"Observation/" + o1, "Observation/" + o2, "Patient/" + gp, "Patient/" + hosp} {
					if !slices.Contains(got, want) {
						t.Errorf("Patient/%s/$everything lacks %s: %v", from, want, got)
					}
				}
				if slices.Contains(got, "Observation/"+o3) {
					t.Errorf("Patient/%s/$everything has another person's item", from)
				}
			}

			// A source's corrected NHS number: the superseded one still
			// finds the person (kept as use "old").
			janeFixed := strings.Replace(strings.Replace(janeAtGP, nhsJane, "9990000018", 1), `"resourceType":"Patient",`, `"resourceType":"Patient","id":"`+gp+`",`, 1)
			c.must(200, "PUT", "/Patient/"+gp, janeFixed, "X-Source-Organization", "B86001")
			if got := idsOf(c.must(200, "GET", "/Patient?identifier="+url.QueryEscape(nhsQuery)+"&_tag="+url.QueryEscape(person.TagSystem+"|"+person.TagPerson), "")); !slices.Equal(got, []string{jane}) {
				t.Errorf("the superseded NHS number finds persons %v, want Jane's", got)
			}
			if got := byNHS(); !slices.Equal(got, sortedOf(o1, o2)) {
				t.Errorf("after the correction the old NHS number found %v", got)
			}
			c.must(200, "PUT", "/Patient/"+gp, strings.Replace(janeAtGP, `"resourceType":"Patient",`, `"resourceType":"Patient","id":"`+gp+`",`, 1), "X-Source-Organization", "B86001")

			// A record its source marks as replaced by one of Jane's
			// joins her person without matching (nothing else agrees).
			retired := str(c.must(201, "POST", "/Patient", personPatient(`"active":false,"name":[{"family":"Zed","given":["Old"]}],"birthDate":"1901-01-01",
				"link":[{"other":{"reference":"Patient/`+hosp+`"},"type":"replaced-by"}]`), "X-Source-Organization", "RHQ").Body, "id")
			if personOf(c, retired) != jane {
				t.Error("a record replaced by one of Jane's records did not join her person")
			}

			// $match: a query like Jane finds her person, graded.
			m := c.must(200, "POST", "/Patient/$match", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":`+janeAtHospital+`}]}`)
			if es := bundleEntries(m); len(es) != 1 || str(es[0], "resource", "id") != jane || str(es[0], "search", "extension", 0, "valueCode") == "" || get(es[0], "search", "score") == nil {
				t.Errorf("$match: %s", m.Raw)
			}

			// A record too unlike to link, too like to ignore, waits for review.
			moved := str(c.must(201, "POST", "/Patient", janeMoved, "X-Source-Organization", "C88922").Body, "id")
			if personOf(c, moved) == jane {
				t.Fatal("an uncertain match was linked without review")
			}
			tasks := c.must(200, "GET", "/Task?code="+url.QueryEscape(person.ReviewSystem+"|"+person.ReviewCode)+"&status=requested", "")
			if len(bundleEntries(tasks)) != 1 || str(bundleEntries(tasks)[0], "resource", "focus", "reference") != "Patient/"+moved {
				t.Fatalf("review queue: %s", tasks.Raw)
			}
			task := str(bundleEntries(tasks)[0], "resource", "id")
			c.must(200, "POST", "/Task/"+task+"/$mpi-accept", `{"resourceType":"Parameters","parameter":[{"name":"note","valueString":"moved house, confirmed by phone"}]}`)
			if personOf(c, moved) != jane {
				t.Error("accepting the review did not link the record to the person")
			}
			c.outcome(c.do("POST", "/Task/"+task+"/$mpi-reject", ""), 409)
			if str(c.must(200, "GET", "/Task/"+task, "").Body, "status") != "completed" {
				t.Error("the accepted task is not completed")
			}

			// Merge John's person into Jane's, then undo it.
			johnP := personOf(c, other)
			c.must(200, "POST", "/Patient/$merge", `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/`+johnP+`"}},{"name":"target-patient","valueReference":{"reference":"Patient/`+jane+`"}}]}`)
			if got := byNHS(); !slices.Equal(got, sortedOf(o1, o2, o3)) {
				t.Errorf("after the merge the NHS number found %v, want John's item too", got)
			}
			dup := c.must(200, "GET", "/Patient/"+johnP, "").Body
			if get(dup, "active") != false || !strings.Contains(string(mustJSON(t, dup)), "replaced-by") {
				t.Errorf("the merged person is not marked replaced-by: %v", dup)
			}
			c.must(200, "POST", "/Patient/$unmerge", `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/`+johnP+`"}}]}`)
			if got := byNHS(); !slices.Equal(got, sortedOf(o1, o2)) {
				t.Errorf("after the unmerge the NHS number found %v", got)
			}
			if personOf(c, other) != johnP {
				t.Error("the unmerge did not give John his person back")
			}
			hist := c.must(200, "GET", "/Patient/"+johnP+"/_history", "")
			if len(bundleEntries(hist)) < 3 {
				t.Errorf("the person's history does not show the merge and unmerge: %d versions", len(bundleEntries(hist)))
			}

			// Bad requests are the client's.
			for _, bad := range []struct{ path, body string }{
				{"/Patient/$merge", `{"resourceType":"Parameters"}`},
				{"/Patient/$merge", `{"resourceType":"Patient"}`},
				{"/Patient/$unmerge", `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/` + jane + `"}}]}`},
				{"/Patient/$match", `{"resourceType":"Parameters"}`},
				{"/Patient/$match", `not json`},
			} {
				r := c.do("POST", bad.path, bad.body)
				if r.Status < 400 || r.Status > 499 {
					t.Errorf("POST %s %s: status %d, want 4xx\n%s", bad.path, bad.body, r.Status, r.Raw)
				}
			}
			c.outcome(c.do("POST", "/Patient/$merge", `{"resourceType":"Parameters","parameter":[{"name":"source-patient","valueReference":{"reference":"Patient/nosuch"}},{"name":"target-patient","valueReference":{"reference":"Patient/`+jane+`"}}]}`), 404)

			// A restart rebuilds the index from the persons in the record.
			c2 := personClient(t, st)
			if got := idsOf(c2.must(200, "GET", "/Observation?patient.identifier="+url.QueryEscape(nhsQuery), "")); !slices.Equal(got, sortedOf(o1, o2)) {
				t.Errorf("after a restart the NHS number found %v", got)
			}
			if personOf(c2, moved) != jane {
				t.Error("after a restart the reviewed link is gone")
			}
		})
	}
}

func sortedOf(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNHSNumberChecked: a Patient whose NHS number fails its check is
// refused with a 422 naming the element; valid ones in any spacing pass.
func TestNHSNumberChecked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		for _, tc := range []struct {
			value string
			want  int
		}{
			{"9434765919", 201},
			{"943 476 5919", 201},
			{"9434765918", 422}, // wrong check digit
			{"94347659", 422},   // too short
			{"943476591X", 422},
			{"0000000000", 422}, // the placeholder
		} {
			body := `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"1"},{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + tc.value + `"}]}`
			r := c.do("POST", "/Patient", body)
			if r.Status != tc.want {
				t.Errorf("NHS number %q: status %d, want %d\n%s", tc.value, r.Status, tc.want, r.Raw)
				continue
			}
			if tc.want == 422 {
				c.outcome(r, 422)
				if got := str(r.Body, "issue", 1, "expression", 0); got != "Patient.identifier[1].value" {
					t.Errorf("NHS number %q: issue at %q\n%s", tc.value, got, r.Raw)
				}
			}
		}
	})
}

// TestCapabilityListsPersonOperations: with the person index the
// CapabilityStatement offers $match, $merge and $unmerge on Patient.
func TestCapabilityListsPersonOperations(t *testing.T) {
	st := backends()[0].open(t)
	c := personClient(t, st)
	r := c.must(200, "GET", "/metadata", "")
	var ops []string
	for _, res := range get(r.Body, "rest", 0, "resource").([]any) {
		if str(res, "type") != "Patient" {
			continue
		}
		for _, op := range get(res, "operation").([]any) {
			ops = append(ops, str(op, "name"))
		}
	}
	for _, want := range []string{"everything", "match", "merge", "unmerge"} {
		if !slices.Contains(ops, want) {
			t.Errorf("Patient operations %v lack %s", ops, want)
		}
	}
}
