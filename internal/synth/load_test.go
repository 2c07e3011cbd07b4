package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/synth"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// newServer is the FHIR API as serve wires it, over a fresh SQLite store.
func newServer(t *testing.T) http.Handler {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
	wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wait)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	api := rest.New(svc, "/fhir", log)
	mux.Handle("/fhir", api.Handler())
	mux.Handle("/fhir/", api.Handler())
	return mux
}

// post sends a transaction Bundle and fails the test unless every entry
// was accepted.
func post(t *testing.T, h http.Handler, what string, body []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/fhir", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: status %d\n%.3000s", what, rec.Code, rec.Body.String())
	}
	var resp struct {
		Type  string `json:"type"`
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Type != "transaction-response" {
		t.Fatalf("%s: not a transaction-response (%v): %.500s", what, err, rec.Body.String())
	}
	for i, e := range resp.Entry {
		if s := e.Response.Status; s != "200 OK" && s != "201 Created" {
			t.Fatalf("%s: entry %d: status %q", what, i, s)
		}
	}
}

// TestLoadIntoServer loads generated output through the real server path
// (REST, record service, validator, SQLite): the reference bundle, then
// every bundle of 50 people, with and without HL7.
func TestLoadIntoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a database")
	}
	for _, hl7 := range []bool{false, true} {
		t.Run(map[bool]string{false: "fhir", true: "hl7"}[hl7], func(t *testing.T) {
			g, err := synth.New(synth.Config{Seed: 42, Patients: 50, HL7: hl7})
			if err != nil {
				t.Fatal(err)
			}
			h := newServer(t)
			post(t, h, "reference", g.Reference())
			bundles := 0
			err = g.People(context.Background(), 2, func(p synth.Person) error {
				for _, b := range p.Bundles {
					post(t, h, b.Source+" bundle of person "+itoa(p.Index), b.JSON)
					bundles++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bundles accepted", bundles)
		})
	}
}
