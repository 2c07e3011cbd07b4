package rest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/validate"
)

const patientJSON = `{
  "resourceType": "Patient",
  "id": "client-chosen",
  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
  "name": [{"family": "Smith", "given": ["Ann", "Marie"]}],
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1970-01-01T08:30:00Z"}]},
  "birthDate": "1970-01-01",
  "gender": "female",
  "extension": [{"url": "https://example.org/ext/shoe-size", "valueDecimal": 1.50}],
  "meta": {"tag": [{"system": "https://example.org/tags", "code": "demo"}]}
}`

func TestCreateReadKeepsWhatWasSent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.must(http.StatusCreated, "POST", "/Patient", patientJSON)
		id := str(r.Body, "id")
		if id == "" || id == "client-chosen" {
			t.Fatalf("server must assign the id on create, got %q", id)
		}
		if got := str(r.Body, "meta", "versionId"); got != "1" {
			t.Errorf("versionId %q, want 1", got)
		}
		if loc := r.Header.Get("Location"); loc != c.base+"/Patient/"+id+"/_history/1" {
			t.Errorf("Location %q", loc)
		}
		if et := r.Header.Get("ETag"); et != `W/"1"` {
			t.Errorf("ETag %q", et)
		}
		if r.Header.Get("Last-Modified") == "" {
			t.Error("no Last-Modified")
		}
		got := c.must(http.StatusOK, "GET", "/Patient/"+id, "")
		for _, check := range []struct {
			path []any
			want string
		}{
			{[]any{"resourceType"}, "Patient"},
			{[]any{"extension", 0, "valueDecimal"}, "1.50"},
			{[]any{"_birthDate", "extension", 0, "valueDateTime"}, "1970-01-01T08:30:00Z"},
			{[]any{"name", 0, "given", 1}, "Marie"},
			{[]any{"meta", "tag", 0, "code"}, "demo"},
			{[]any{"meta", "versionId"}, "1"},
		} {
			if s := str(got.Body, check.path...); s != check.want {
				t.Errorf("%v = %q, want %q", check.path, s, check.want)
			}
		}
		if !strings.Contains(string(got.Raw), `"valueDecimal":1.50`) && !strings.Contains(string(got.Raw), `"valueDecimal": 1.50`) {
			t.Errorf("decimal precision lost: %s", got.Raw)
		}
		if !strings.HasPrefix(string(got.Raw), `{"resourceType":"Patient"`) && c.st.Dialect() == "sqlite" {
			t.Errorf("resourceType should come first: %.60s", got.Raw)
		}
	})
}

func TestUpdateVersionsAndHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.must(http.StatusCreated, "POST", "/Patient", patientJSON)
		id := str(r.Body, "id")
		upd := strings.Replace(strings.Replace(patientJSON, `"client-chosen"`, `"`+id+`"`, 1), `"female"`, `"other"`, 1)
		r = c.must(http.StatusOK, "PUT", "/Patient/"+id, upd)
		if str(r.Body, "meta", "versionId") != "2" || str(r.Body, "gender") != "other" {
			t.Fatalf("update: %s", r.Raw)
		}
		// A stale If-Match is refused and changes nothing.
		c.outcome(c.do("PUT", "/Patient/"+id, upd, "If-Match", `W/"1"`), http.StatusPreconditionFailed)
		// The same content again is no new version (nothing changed).
		if r := c.must(http.StatusOK, "PUT", "/Patient/"+id, upd, "If-Match", `W/"2"`); str(r.Body, "meta", "versionId") != "2" {
			t.Errorf("an update that changes nothing made version %s", str(r.Body, "meta", "versionId"))
		}
		c.must(http.StatusOK, "PUT", "/Patient/"+id, strings.Replace(upd, `"other"`, `"unknown"`, 1), "If-Match", `W/"2"`)
		// Old versions stay readable.
		if g := str(c.must(http.StatusOK, "GET", "/Patient/"+id+"/_history/1", "").Body, "gender"); g != "female" {
			t.Errorf("v1 gender %q", g)
		}
		c.outcome(c.do("GET", "/Patient/"+id+"/_history/9", ""), http.StatusNotFound)
		h := c.must(http.StatusOK, "GET", "/Patient/"+id+"/_history", "")
		if str(h.Body, "type") != "history" || len(get(h.Body, "entry").([]any)) != 3 {
			t.Fatalf("history: %s", h.Raw)
		}
		if v := str(h.Body, "entry", 0, "resource", "meta", "versionId"); v != "3" {
			t.Errorf("history is newest first; first is v%s", v)
		}
		if m := str(h.Body, "entry", 2, "request", "method"); m != "POST" {
			t.Errorf("v1 request method %q", m)
		}
		// Update as create with a client id.
		r = c.must(http.StatusCreated, "PUT", "/Patient/nhs-9990000018", strings.Replace(patientJSON, "client-chosen", "nhs-9990000018", 1))
		if str(r.Body, "id") != "nhs-9990000018" {
			t.Errorf("update-as-create id %q", str(r.Body, "id"))
		}
		// Body id must match the URL.
		c.outcome(c.do("PUT", "/Patient/other", patientJSON), http.StatusBadRequest)
		c.outcome(c.do("PUT", "/Patient/x", `{"resourceType":"Patient"}`), http.StatusBadRequest)
	})
}

func TestDeleteKeepsHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		id := str(c.must(http.StatusCreated, "POST", "/Patient", patientJSON).Body, "id")
		c.must(http.StatusNoContent, "DELETE", "/Patient/"+id, "")
		c.outcome(c.do("GET", "/Patient/"+id, ""), http.StatusGone)
		c.must(http.StatusNoContent, "DELETE", "/Patient/"+id, "") // idempotent
		c.outcome(c.do("DELETE", "/Patient/never-was", ""), http.StatusNotFound)
		c.must(http.StatusOK, "GET", "/Patient/"+id+"/_history/1", "")
		c.outcome(c.do("GET", "/Patient/"+id+"/_history/2", ""), http.StatusGone)
		h := c.must(http.StatusOK, "GET", "/Patient/"+id+"/_history", "")
		if m := str(h.Body, "entry", 0, "request", "method"); m != "DELETE" {
			t.Errorf("newest history entry method %q, want DELETE", m)
		}
		if get(h.Body, "entry", 0, "resource") != nil {
			t.Error("a deletion has no resource in history")
		}
		// Re-creating after delete makes version 3.
		r := c.must(http.StatusCreated, "PUT", "/Patient/"+id, strings.Replace(patientJSON, "client-chosen", id, 1))
		if v := str(r.Body, "meta", "versionId"); v != "3" {
			t.Errorf("resurrected version %q", v)
		}
	})
}

func TestPatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		id := str(c.must(http.StatusCreated, "POST", "/Patient", patientJSON).Body, "id")
		patch := `[{"op":"test","path":"/gender","value":"female"},{"op":"replace","path":"/gender","value":"male"},{"op":"add","path":"/name/0/given/-","value":"Jo"}]`
		r := c.must(http.StatusOK, "PATCH", "/Patient/"+id, patch, "Content-Type", "application/json-patch+json")
		if str(r.Body, "gender") != "male" || str(r.Body, "name", 0, "given", 2) != "Jo" || str(r.Body, "meta", "versionId") != "2" {
			t.Fatalf("patched: %s", r.Raw)
		}
		if str(r.Body, "extension", 0, "valueDecimal") != "1.50" {
			t.Errorf("patch lost decimal precision: %s", r.Raw)
		}
		// A failed test op is 422 and changes nothing.
		c.outcome(c.do("PATCH", "/Patient/"+id, `[{"op":"test","path":"/gender","value":"female"}]`, "Content-Type", "application/json-patch+json"), http.StatusUnprocessableEntity)
		// A patch that breaks the resource is refused by validation.
		c.outcome(c.do("PATCH", "/Patient/"+id, `[{"op":"add","path":"/gender","value":"robot"}]`, "Content-Type", "application/json-patch+json"), http.StatusBadRequest)
		c.outcome(c.do("PATCH", "/Patient/"+id, `[{"op":"replace","path":"/id","value":"x"}]`, "Content-Type", "application/json-patch+json"), http.StatusUnprocessableEntity)
		c.outcome(c.do("PATCH", "/Patient/"+id, `{"not":"a patch"}`, "Content-Type", "application/json-patch+json"), http.StatusBadRequest)
		c.outcome(c.do("PATCH", "/Patient/"+id, patch, "Content-Type", "application/json-patch+json", "If-Match", `W/"1"`), http.StatusPreconditionFailed)
		if v := str(c.must(http.StatusOK, "GET", "/Patient/"+id, "").Body, "meta", "versionId"); v != "2" {
			t.Errorf("failed patches must not write; version %s", v)
		}
	})
}

func TestConditionalInteractions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		const crit = "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018"
		r := c.must(http.StatusCreated, "POST", "/Patient", patientJSON, "If-None-Exist", crit)
		id := str(r.Body, "id")
		// Second conditional create finds the first.
		r = c.must(http.StatusOK, "POST", "/Patient", patientJSON, "If-None-Exist", crit)
		if str(r.Body, "id") != id || str(r.Body, "meta", "versionId") != "1" {
			t.Fatalf("conditional create made a second resource: %s", r.Raw)
		}
		// Code without system matches too.
		c.must(http.StatusOK, "POST", "/Patient", patientJSON, "If-None-Exist", "identifier=9990000018")
		// Conditional update of the match.
		upd := strings.Replace(strings.Replace(patientJSON, `"id": "client-chosen",`, "", 1), `"female"`, `"other"`, 1)
		r = c.must(http.StatusOK, "PUT", "/Patient?"+crit, upd)
		if str(r.Body, "id") != id || str(r.Body, "meta", "versionId") != "2" {
			t.Fatalf("conditional update: %s", r.Raw)
		}
		// No match: conditional update creates.
		r = c.must(http.StatusCreated, "PUT", "/Patient?identifier=urn:x|new", upd)
		other := str(r.Body, "id")
		// Two matches now for the bare code: 412.
		c.must(http.StatusCreated, "POST", "/Patient", patientJSON)
		c.outcome(c.do("POST", "/Patient", patientJSON, "If-None-Exist", crit), http.StatusPreconditionFailed)
		c.outcome(c.do("PUT", "/Patient?"+crit, upd), http.StatusPreconditionFailed)
		c.outcome(c.do("DELETE", "/Patient?"+crit, ""), http.StatusPreconditionFailed)
		// Conditional delete of one match.
		c.must(http.StatusNoContent, "DELETE", "/Patient?_id="+other, "")
		c.outcome(c.do("GET", "/Patient/"+other, ""), http.StatusGone)
		c.must(http.StatusNoContent, "DELETE", "/Patient?_id="+other, "") // no match now: fine
		// Any search parameter selects; unknown ones and result parameters
		// are refused, not ignored.
		c.outcome(c.do("PUT", "/Patient?name=Smith", upd), http.StatusPreconditionFailed)
		c.outcome(c.do("PUT", "/Patient?nonsense=Smith", upd), http.StatusBadRequest)
		c.outcome(c.do("PUT", "/Patient?identifier=x&_sort=name", upd), http.StatusBadRequest)
	})
}

func TestConcurrentConditionalCreateMakesOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		const n = 20
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				req, _ := http.NewRequest("POST", c.base+"/Patient", strings.NewReader(patientJSON))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("If-None-Exist", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018")
				resp, err := c.srv.Client().Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 201 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				errs <- err
			}()
		}
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		r := c.must(http.StatusOK, "GET", "/Patient?identifier=9990000018", "")
		if e, _ := get(r.Body, "entry").([]any); len(e) != 1 {
			t.Fatalf("%d patients after concurrent conditional creates, want 1", len(e))
		}
		for _, q := range []string{"/Patient?_summary=count", "/Patient?identifier=9990000018&_summary=count"} {
			r = c.must(http.StatusOK, "GET", q, "")
			if str(r.Body, "total") != "1" || get(r.Body, "entry") != nil {
				t.Errorf("%s: %s", q, r.Raw)
			}
		}
	})
}

func TestPreferAndShaping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.must(http.StatusCreated, "POST", "/Patient", patientJSON, "Prefer", "return=minimal")
		if len(r.Raw) != 0 || r.Header.Get("Location") == "" || r.Header.Get("ETag") == "" {
			t.Fatalf("return=minimal: body %q, Location %q", r.Raw, r.Header.Get("Location"))
		}
		r = c.must(http.StatusCreated, "POST", "/Patient", patientJSON, "Prefer", "return=OperationOutcome")
		if str(r.Body, "resourceType") != "OperationOutcome" {
			t.Fatalf("return=OperationOutcome: %s", r.Raw)
		}
		loc := r.Header.Get("Location")
		id := strings.Split(strings.TrimPrefix(loc, c.base+"/Patient/"), "/")[0]
		s := c.must(http.StatusOK, "GET", "/Patient/"+id+"?_summary=true", "")
		if get(s.Body, "birthDate") == nil || get(s.Body, "extension") != nil {
			t.Errorf("_summary=true keeps summary elements only: %s", s.Raw)
		}
		if str(s.Body, "meta", "tag", 1, "code") != "SUBSETTED" {
			t.Errorf("a subsetted resource must be tagged SUBSETTED: %s", s.Raw)
		}
		e := c.must(http.StatusOK, "GET", "/Patient/"+id+"?_elements=gender", "")
		if get(e.Body, "gender") == nil || get(e.Body, "name") != nil || get(e.Body, "id") == nil {
			t.Errorf("_elements=gender: %s", e.Raw)
		}
		p := c.must(http.StatusOK, "GET", "/Patient/"+id+"?_pretty=true", "")
		if !strings.Contains(string(p.Raw), "\n  \"id\"") {
			t.Errorf("_pretty=true is not indented: %.80s", p.Raw)
		}
		c.outcome(c.do("GET", "/Patient/"+id+"?_summary=bogus", ""), http.StatusBadRequest)
		// Conditional read.
		c.must(http.StatusNotModified, "GET", "/Patient/"+id, "", "If-None-Match", `W/"1"`)
	})
}

func TestBadInputGetsOperationOutcome(t *testing.T) {
	big := `{"resourceType":"Patient","text":{"status":"generated","div":"` + strings.Repeat("x", 50<<20) + `"}}`
	deep := `{"resourceType":"Patient","extension":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`
	tests := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
	}{
		{"not JSON", "POST", "/Patient", `{"resourceType":`, nil, 400},
		{"not an object", "POST", "/Patient", `[1,2]`, nil, 400},
		{"trailing data", "POST", "/Patient", `{"resourceType":"Patient"} {}`, nil, 400},
		{"no resourceType", "POST", "/Patient", `{"id":"x"}`, nil, 400},
		{"type mismatch", "POST", "/Patient", `{"resourceType":"Observation"}`, nil, 400},
		{"unknown type in URL", "POST", "/Patientt", `{"resourceType":"Patientt"}`, nil, 404},
		{"unknown element", "POST", "/Patient", `{"resourceType":"Patient","nmae":[]}`, nil, 400},
		{"bad date", "POST", "/Patient", `{"resourceType":"Patient","birthDate":"1970-13-45"}`, nil, 400},
		{"invalid UTF-8", "POST", "/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"\xff\xfe\"}", nil, 400},
		{"deep nesting", "POST", "/Patient", deep, nil, 400},
		{"50 MB body", "POST", "/Patient", big, nil, 413},
		{"XML body", "POST", "/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, []string{"Content-Type", "application/fhir+xml"}, 415},
		{"XML wanted", "GET", "/metadata", "", []string{"Accept", "application/fhir+xml"}, 406},
		{"_format xml", "GET", "/metadata?_format=xml", "", nil, 406},
		{"bad id", "GET", "/Patient/" + strings.Repeat("a", 65), "", nil, 404},
		{"bad version", "GET", "/Patient/x/_history/abc", "", nil, 404},
		{"bad If-Match", "PUT", "/Patient/x", `{"resourceType":"Patient","id":"x"}`, []string{"If-Match", "banana"}, 400},
		{"bad _count", "GET", "/Patient/_history?_count=-1", "", nil, 400},
		{"bad _since", "GET", "/_history?_since=yesterday", "", nil, 400},
		{"bad page token", "GET", "/_history?_page=zzz", "", nil, 400},
		{"method not allowed", "DELETE", "/metadata", "", nil, 405},
		{"no such endpoint", "GET", "/Patient/x/y/z/w", "", nil, 404},
		{"bundle not batch", "POST", "", `{"resourceType":"Bundle","type":"collection"}`, nil, 400},
		{"not a bundle", "POST", "", `{"resourceType":"Patient"}`, nil, 400},
		{"json patch to POST", "POST", "/Patient", `[]`, []string{"Content-Type", "application/json-patch+json"}, 415},
		{"patch without patch type", "PATCH", "/Patient/x", `[]`, nil, 415},
	}
	forEachBackend(t, func(t *testing.T, c *client) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := c.with(t)
				r := c.do(tc.method, tc.path, tc.body, tc.headers...)
				c.outcome(r, tc.want)
				if d := str(r.Body, "issue", 0, "diagnostics"); d == "" {
					t.Errorf("no diagnostics: %s", r.Raw)
				}
			})
		}
	})
}

func TestValidationNamesThePath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"high"}}`)
		c.outcome(r, http.StatusBadRequest)
		b, _ := json.Marshal(r.Body)
		if !strings.Contains(string(b), "Observation.valueQuantity.value") {
			t.Errorf("the OperationOutcome should name Observation.valueQuantity.value: %s", b)
		}
		// $validate runs the same checks without storing.
		v := c.do("POST", "/Observation/$validate", `{"resourceType":"Observation","code":{"text":"x"}}`)
		c.outcome(v, http.StatusUnprocessableEntity)
		ok := c.do("POST", "/Observation/$validate", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`)
		c.outcome(ok, http.StatusOK)
		h := c.must(http.StatusOK, "GET", "/Observation/_history", "")
		if get(h.Body, "entry") != nil {
			t.Errorf("$validate must not store: %s", h.Raw)
		}
	})
}

func TestMetadataAndHeaders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.must(http.StatusOK, "GET", "/metadata", "", "X-Request-ID", "req-123", "X-Correlation-ID", "corr-9")
		if str(r.Body, "resourceType") != "CapabilityStatement" || str(r.Body, "fhirVersion") != "4.0.1" {
			t.Fatalf("metadata: %.200s", r.Raw)
		}
		if r.Header.Get("X-Request-ID") != "req-123" || r.Header.Get("X-Correlation-ID") != "corr-9" {
			t.Errorf("request ids not echoed: %v", r.Header)
		}
		res, _ := get(r.Body, "rest", 0, "resource").([]any)
		if len(res) < 140 {
			t.Errorf("%d resource types in the CapabilityStatement", len(res))
		}
		c.must(http.StatusOK, "GET", "/metadata", "", "Accept", "application/json")
	})
}

func TestLenientValidationKeepsUnknownElements(t *testing.T) {
	st := backends()[0].open(t)
	c := newClient(t, st)
	c.svc.Validate = validate.Options{UnknownElements: true}.Resource
	body := `{"resourceType":"Patient","gender":"female","legacySystemFlag":{"code":"X1","when":1.50}}`
	r := c.must(http.StatusCreated, "POST", "/Patient", body)
	got := c.must(http.StatusOK, "GET", "/Patient/"+str(r.Body, "id"), "")
	if str(got.Body, "legacySystemFlag", "when") != "1.50" {
		t.Fatalf("unknown element not kept: %s", got.Raw)
	}
	// Everything else is still checked.
	c.outcome(c.do("POST", "/Patient", `{"resourceType":"Patient","gender":"robot","legacy":1}`), http.StatusBadRequest)
}
