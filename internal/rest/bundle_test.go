package rest_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const transactionJSON = `{
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
     "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "M1"}], "name": [{"family": "Jones"}]},
     "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|M1"}},
    {"fullUrl": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
     "resource": {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                  "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},
     "request": {"method": "POST", "url": "Encounter"}},
    {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                  "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
                  "encounter": {"reference": "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059"},
                  "performer": [{"reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|RHQ"}],
                  "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}},
     "request": {"method": "POST", "url": "Observation"}}
  ]
}`

func TestTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		// The conditional reference has nothing to match yet: the whole
		// transaction fails and nothing is kept.
		c.outcome(c.do("POST", "", transactionJSON), http.StatusUnprocessableEntity)
		if h := c.must(http.StatusOK, "GET", "/_history", ""); get(h.Body, "entry") != nil {
			t.Fatalf("a failed transaction left data: %s", h.Raw)
		}
		org := c.must(http.StatusCreated, "POST", "/Organization", `{"resourceType":"Organization","identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"RHQ"}],"name":"Sheffield Teaching Hospitals"}`)
		orgID := str(org.Body, "id")

		r := c.must(http.StatusOK, "POST", "", transactionJSON)
		if str(r.Body, "type") != "transaction-response" {
			t.Fatalf("response: %s", r.Raw)
		}
		for i, want := range []string{"201 Created", "201 Created", "201 Created"} {
			if s := str(r.Body, "entry", i, "response", "status"); s != want {
				t.Errorf("entry %d status %q, want %q", i, s, want)
			}
		}
		loc := str(r.Body, "entry", 2, "response", "location")
		obs := c.must(http.StatusOK, "GET", "/"+strings.TrimSuffix(loc, "/_history/1"), "")
		pat := strings.TrimSuffix(str(r.Body, "entry", 0, "response", "location"), "/_history/1")
		enc := strings.TrimSuffix(str(r.Body, "entry", 1, "response", "location"), "/_history/1")
		if got := str(obs.Body, "subject", "reference"); got != pat {
			t.Errorf("subject %q, want %q", got, pat)
		}
		if got := str(obs.Body, "encounter", "reference"); got != enc {
			t.Errorf("encounter %q, want %q", got, enc)
		}
		if got := str(obs.Body, "performer", 0, "reference"); got != "Organization/"+orgID {
			t.Errorf("conditional reference resolved to %q, want Organization/%s", got, orgID)
		}
		if got := str(obs.Body, "valueQuantity", "value"); got != "72.50" {
			t.Errorf("value %q", got)
		}
		// Sending it again: the patient matches ifNoneExist (200), the rest is new.
		r = c.must(http.StatusOK, "POST", "", transactionJSON)
		if s := str(r.Body, "entry", 0, "response", "status"); s != "200 OK" {
			t.Errorf("ifNoneExist match status %q", s)
		}
		obs2 := c.must(http.StatusOK, "GET", "/"+strings.TrimSuffix(str(r.Body, "entry", 2, "response", "location"), "/_history/1"), "")
		if got := str(obs2.Body, "subject", "reference"); got != pat {
			t.Errorf("second transaction's reference %q should point at the matched %q", got, pat)
		}
	})
}

func TestTransactionAtomicAndOrdered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		id := str(c.must(http.StatusCreated, "POST", "/Patient", `{"resourceType":"Patient","gender":"male"}`).Body, "id")
		patch := base64.StdEncoding.EncodeToString([]byte(`[{"op":"replace","path":"/gender","value":"female"}]`))
		// The second entry fails validation: nothing of the first is kept.
		bad := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
		  {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":%q},"request":{"method":"PATCH","url":"Patient/%s"}},
		  {"resource":{"resourceType":"Patient","birthDate":"not a date"},"request":{"method":"POST","url":"Patient"}}]}`, patch, id)
		r := c.do("POST", "", bad)
		c.outcome(r, http.StatusBadRequest)
		if !strings.Contains(string(r.Raw), "Bundle.entry[1]") {
			t.Errorf("the error should name the entry: %s", r.Raw)
		}
		if g := str(c.must(http.StatusOK, "GET", "/Patient/"+id, "").Body, "gender"); g != "male" {
			t.Fatalf("failed transaction changed data: gender %q", g)
		}
		// A stale ifMatch fails the whole transaction too (checked in the
		// write transaction, after the patch entry ran).
		stale := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
		  {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":%q},"request":{"method":"PATCH","url":"Patient/%s"}},
		  {"resource":{"resourceType":"Patient","id":"%s","gender":"other"},"request":{"method":"PUT","url":"Patient/%s","ifMatch":"W/\"7\""}}]}`, patch, id, "p2", "p2")
		c.outcome(c.do("POST", "", stale), http.StatusPreconditionFailed)
		if g := str(c.must(http.StatusOK, "GET", "/Patient/"+id, "").Body, "gender"); g != "male" {
			t.Fatalf("failed transaction changed data: gender %q", g)
		}
		// Delete, patch and read in one transaction, processed in spec order.
		other := str(c.must(http.StatusCreated, "POST", "/Patient", `{"resourceType":"Patient"}`).Body, "id")
		ok := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
		  {"request":{"method":"GET","url":"Patient/%s"}},
		  {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":%q},"request":{"method":"PATCH","url":"Patient/%s"}},
		  {"request":{"method":"DELETE","url":"Patient/%s"}}]}`, id, patch, id, other)
		r = c.must(http.StatusOK, "POST", "", ok)
		if g := str(r.Body, "entry", 0, "resource", "gender"); g != "female" {
			t.Errorf("GET runs after PATCH in a transaction; saw gender %q", g)
		}
		if s := str(r.Body, "entry", 2, "response", "status"); s != "204 No Content" {
			t.Errorf("delete status %q", s)
		}
		c.outcome(c.do("GET", "/Patient/"+other, ""), http.StatusGone)
		// The same resource twice in one transaction is an error.
		dup := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
		  {"request":{"method":"DELETE","url":"Patient/%s"}},{"request":{"method":"DELETE","url":"Patient/%s"}}]}`, id, id)
		c.outcome(c.do("POST", "", dup), http.StatusBadRequest)
	})
}

func TestBatchEntriesStandAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		batch := `{"resourceType":"Bundle","type":"batch","entry":[
		  {"resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
		  {"resource":{"resourceType":"Patient","gender":"robot"},"request":{"method":"POST","url":"Patient"}},
		  {"request":{"method":"GET","url":"Patient/missing"}},
		  {"resource":{"resourceType":"Patient","id":"b1"},"request":{"method":"PUT","url":"Patient/b1"}}]}`
		r := c.must(http.StatusOK, "POST", "", batch)
		if str(r.Body, "type") != "batch-response" {
			t.Fatalf("%s", r.Raw)
		}
		for i, want := range []string{"201", "400", "404", "201"} {
			if s := str(r.Body, "entry", i, "response", "status"); !strings.HasPrefix(s, want) {
				t.Errorf("entry %d status %q, want %s", i, s, want)
			}
		}
		if str(r.Body, "entry", 1, "response", "outcome", "resourceType") != "OperationOutcome" {
			t.Errorf("a failed batch entry carries an OperationOutcome: %s", r.Raw)
		}
		c.must(http.StatusOK, "GET", "/Patient/b1", "")
	})
}

func TestHistoryPagingIsStable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		for i := 0; i < 7; i++ {
			c.must(http.StatusCreated, "POST", "/Patient", `{"resourceType":"Patient"}`)
		}
		seen := map[string]bool{}
		next := "/Patient/_history?_count=3"
		pages := 0
		for next != "" {
			r := c.must(http.StatusOK, "GET", next, "")
			pages++
			for _, e := range get(r.Body, "entry").([]any) {
				u := str(e, "fullUrl")
				if seen[u] {
					t.Fatalf("%s seen twice", u)
				}
				seen[u] = true
			}
			// Writes between pages must not shift the later pages.
			c.must(http.StatusCreated, "POST", "/Patient", `{"resourceType":"Patient"}`)
			next = ""
			for _, l := range get(r.Body, "link").([]any) {
				if str(l, "relation") == "next" {
					next = strings.TrimPrefix(str(l, "url"), c.base)
				}
			}
		}
		if len(seen) != 7 || pages != 3 {
			t.Errorf("saw %d resources in %d pages, want 7 in 3", len(seen), pages)
		}
		// _since excludes older versions; system history sees every type.
		c.must(http.StatusCreated, "POST", "/Organization", `{"resourceType":"Organization","name":"x"}`)
		r := c.must(http.StatusOK, "GET", "/_history?_count=1", "")
		if str(r.Body, "entry", 0, "resource", "resourceType") != "Organization" {
			t.Errorf("system history newest first: %s", r.Raw)
		}
		r = c.must(http.StatusOK, "GET", "/_history?_since=2999-01-01", "")
		if get(r.Body, "entry") != nil {
			t.Errorf("_since in the future returned entries")
		}
	})
}

func TestHistoryAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.must(http.StatusCreated, "POST", "/Patient", `{"resourceType":"Patient","gender":"male"}`)
		id, at := str(r.Body, "id"), str(r.Body, "meta", "lastUpdated")
		c.must(http.StatusOK, "PUT", "/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`","gender":"female"}`)
		for _, path := range []string{"/Patient/" + id + "/_history", "/Patient/_history", "/_history"} {
			h := c.must(http.StatusOK, "GET", path+"?_at="+strings.ReplaceAll(at, "+", "%2B"), "")
			if n := len(get(h.Body, "entry").([]any)); n != 1 || str(h.Body, "entry", 0, "resource", "gender") != "male" {
				t.Errorf("%s?_at=%s: %d entries, want version 1 only: %s", path, at, n, h.Raw)
			}
		}
	})
}
