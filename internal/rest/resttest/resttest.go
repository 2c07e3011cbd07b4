// Package resttest builds the FHIR API in-process for tests of packages
// that talk to it over HTTP (rest itself, the benchmark, the commands), as
// serve builds it: the record service with R4 validation over a real
// store, behind the API at /fhir and its middleware, logging nowhere.
package resttest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// Version is the software version the API reports in tests.
const Version = "test"

// Handler returns the API over st and its service. As serve does, a new
// database records its index generation first, so searches are not
// refused as waiting for a rebuild. Each of with may set up the API
// further (rest.Server.Bulk, say) before it is built.
func Handler(t testing.TB, st store.Store, with ...func(*rest.Server)) (http.Handler, *record.Service) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
	svc.Log = log
	wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wait)
	api := rest.New(svc, "/fhir", log)
	api.Version = Version
	for _, f := range with {
		f(api)
	}
	mux := http.NewServeMux()
	mux.Handle("/fhir", api.Handler())
	mux.Handle("/fhir/", api.Handler())
	return rest.Observe(mux, log, nil, "/fhir"), svc
}

// Server runs the API over a fresh embedded database until the test ends;
// the FHIR base is its URL + "/fhir".
func Server(t testing.TB) *httptest.Server {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, _ := Handler(t, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
