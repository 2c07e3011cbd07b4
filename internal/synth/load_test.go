package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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

// post sends a transaction Bundle and returns an error unless every entry
// was accepted.
func post(h http.Handler, what string, body []byte) error {
	req := httptest.NewRequest(http.MethodPost, "/fhir", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("%s: status %d\n%.3000s", what, rec.Code, rec.Body.String())
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
		return fmt.Errorf("%s: not a transaction-response (%v): %.500s", what, err, rec.Body.String())
	}
	for i, e := range resp.Entry {
		if s := e.Response.Status; s != "200 OK" && s != "201 Created" {
			return fmt.Errorf("%s: entry %d: status %q", what, i, s)
		}
	}
	return nil
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
			t0 := time.Now()
			if err := post(h, "reference", g.Reference()); err != nil {
				t.Fatal(err)
			}
			t.Logf("reference in %v", time.Since(t0))
			// Posted four at a time, as a loader would, so that the store
			// commits them together.
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				errs    []error
				bundles int
			)
			sem := make(chan struct{}, 4)
			err = g.People(context.Background(), 2, func(p synth.Person) error {
				for _, b := range p.Bundles {
					wg.Add(1)
					sem <- struct{}{}
					go func(what string, body []byte) {
						defer func() { <-sem; wg.Done() }()
						err := post(h, what, body)
						mu.Lock()
						defer mu.Unlock()
						bundles++
						if err != nil {
							errs = append(errs, err)
						}
					}(b.Source+" bundle of person "+itoa(p.Index), b.JSON)
				}
				return nil
			})
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range errs {
				t.Error(err)
			}
			t.Logf("%d bundles, %d refused", bundles, len(errs))
		})
	}
}
