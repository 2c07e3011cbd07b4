package postgres

import (
	"context"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

// TestSchema checks that everything Open creates, goose's version table
// included, lives in the schema named by the URL's search_path.
func TestSchema(t *testing.T) {
	s := OpenTest(t)
	var schema string
	var n int
	err := s.pool.QueryRow(t.Context(), `SELECT current_schema(), (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('goose_db_version', 'resource', 'resource_version', 'idx_token'))`).Scan(&schema, &n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || schema == "public" {
		t.Errorf("schema %s holds %d of the 4 tables", schema, n)
	}
}

// TestReopen checks that a second Open of the same database migrates
// nothing and finds the data.
func TestReopen(t *testing.T) {
	url := TestURL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	w := storetest.Observation("o1", "p1", storetest.Time0)
	storetest.MustPut(t, s, w)
	s.Close()
	s, err = Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Read(t.Context(), "Observation", "o1")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckResource(t, r, w)
}

// TestConcurrentOpen checks that servers starting at once on an empty
// schema migrate it once (the advisory lock) rather than failing.
func TestConcurrentOpen(t *testing.T) {
	url := TestURL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestBodyPostgres covers what JSONB does to bodies: key order and spacing
// may change, values may not; a NUL escape, which JSONB refuses, is an
// Invalid error rather than an internal one.
func TestBodyPostgres(t *testing.T) {
	s := OpenTest(t)
	w := storetest.NewWrite("Basic", "b", 1, storetest.Time0, nil)
	w.Resource.Body = []byte(`{"resourceType":"Basic","id":"b","zz":1.50,"a":[1.0,2.10,-0.0,1e2,"\u00e9\ud83d\ude00"],"nested":{"b":null,"a":true}}`)
	storetest.MustPut(t, s, w)
	r, err := s.Read(t.Context(), "Basic", "b")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stored as %s", r.Body)
	// 1e2 comes back as 100 and -0.0 as 0.0: the same numbers, written
	// differently. Decimals with trailing zeros keep them.
	want := []byte(`{"resourceType":"Basic","id":"b","zz":1.50,"a":[1.0,2.10,0.0,100,"é😀"],"nested":{"b":null,"a":true}}`)
	storetest.SameJSON(t, r.Body, want)

	bad := storetest.NewWrite("Basic", "nul", 1, storetest.Time0, nil)
	bad.Resource.Body = []byte(`{"resourceType":"Basic","id":"nul","text":"a\u0000b"}`)
	if err := storetest.Put(t, s, bad); fhir.KindOf(err) != fhir.Invalid {
		t.Errorf("body with \\u0000: %v (kind %v), want invalid", err, fhir.KindOf(err))
	}
}
