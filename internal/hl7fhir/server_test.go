package hl7fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/sharedcare/sharedcare/internal/rest/resttest"
)

// fhirServer is the FHIR API in-process over a fresh embedded database:
// bundles posted to it go through validation, conditional logic and
// storage as in production.
type fhirServer struct {
	t    testing.TB
	base string
}

func newFHIRServer(t testing.TB) *fhirServer {
	srv := resttest.Server(t)
	return &fhirServer{t: t, base: srv.URL + "/fhir"}
}

// post sends a transaction Bundle and fails the test unless it succeeds;
// it returns the entries' statuses.
func (s *fhirServer) post(name string, bundle []byte) []string {
	s.t.Helper()
	resp, err := http.Post(s.base, "application/fhir+json", bytes.NewReader(bundle))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var pretty bytes.Buffer
		json.Indent(&pretty, bundle, "", " ")
		s.t.Fatalf("%s: status %d: %s\nbundle:\n%s", name, resp.StatusCode, body, pretty.Bytes())
	}
	var out struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	var statuses []string
	for _, e := range out.Entry {
		statuses = append(statuses, e.Response.Status)
	}
	return statuses
}

// count returns how many resources a search matches.
func (s *fhirServer) count(typ, query string) int {
	s.t.Helper()
	u := s.base + "/" + typ + "?_summary=count"
	if query != "" {
		u += "&" + query
	}
	resp, err := http.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Total *int `json:"total"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || out.Total == nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("count %s %s: %d %s", typ, query, resp.StatusCode, body)
	}
	return *out.Total
}

// read fetches the one resource a search matches.
func (s *fhirServer) searchOne(typ, query string) map[string]any {
	s.t.Helper()
	resp, err := http.Get(s.base + "/" + typ + "?" + query)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || len(out.Entry) != 1 {
		s.t.Fatalf("search %s?%s: %d entries: %s", typ, query, len(out.Entry), body)
	}
	return out.Entry[0].Resource
}

func q(k, v string) string { return url.QueryEscape(k) + "=" + url.QueryEscape(v) }

var _ = fmt.Sprint
