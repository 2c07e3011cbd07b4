// Package storetest is the behavioural test suite every store.Store must
// pass, with helpers to build resources and benchmarks shared by the
// backends. Each backend's tests call Run with a function that opens a new,
// empty store.
package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Opener opens a new, empty store for t and arranges (t.Cleanup) for it to
// be closed when t ends. Closing it twice must be harmless.
type Opener func(t *testing.T) store.Store

// Run runs the suite against stores made by open. Subtests run in
// parallel, each on its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"TxSeesOwnWrites", testTxSeesOwnWrites},
		{"VersionMustFollow", testVersionMustFollow},
		{"Delete", testDelete},
		{"RollbackOnError", testRollbackOnError},
		{"PanicRollsBack", testPanicRollsBack},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentSameResource", testConcurrentSameResource},
		{"LockSerialises", testLockSerialises},
		{"Find", testFind},
		{"FindIndexReplaced", testFindIndexReplaced},
		{"TypedIndex", testTypedIndex},
		{"IndexState", testIndexState},
		{"CurrentAndTypes", testCurrentAndTypes},
		{"Reindex", testReindex},
		{"ReindexConcurrentPuts", testReindexConcurrentPuts},
		{"History", testHistory},
		{"HistoryPaging", testHistoryPaging},
		{"Count", testCount},
		{"LargeTransaction", testLargeTransaction},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, open(t))
		})
	}
}

// Clock hands out strictly increasing times, a millisecond apart, so
// History tests know the order of their writes.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Next returns the next time.
func (c *Clock) Next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// Body is the stored JSON of version v of typ/id updated at: resourceType,
// id and meta, then fields.
func Body(typ, id string, v int64, at time.Time, fields map[string]any) []byte {
	m := make(map[string]any, len(fields)+3)
	for k, x := range fields {
		m[k] = x
	}
	m["resourceType"] = typ
	m["id"] = id
	m["meta"] = map[string]any{"versionId": strconv.FormatInt(v, 10), "lastUpdated": fhir.FormatInstant(at)}
	b, err := fhir.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// NewWrite builds version v of typ/id, updated at, with the given fields
// and tokens. A Patient's PatientKey is its id; set it for others.
func NewWrite(typ, id string, v int64, at time.Time, fields map[string]any, tokens ...store.Token) store.Write {
	method := "PUT"
	if v == 1 {
		method = "POST"
	}
	var pk string
	if typ == "Patient" {
		pk = id
	}
	return store.Write{
		Resource: store.Resource{Type: typ, ID: id, Version: v, LastUpdated: at, Method: method, PatientKey: pk, Body: Body(typ, id, v, at, fields)},
		Index:    store.Index{Tokens: tokens},
	}
}

// Deletion builds the deletion marker that is version v of typ/id.
func Deletion(typ, id string, v int64, at time.Time) store.Write {
	var pk string
	if typ == "Patient" {
		pk = id
	}
	return store.Write{Resource: store.Resource{Type: typ, ID: id, Version: v, LastUpdated: at, Method: "DELETE", Deleted: true, PatientKey: pk}}
}

// Tok builds a token.
func Tok(param, system, code string) store.Token {
	return store.Token{Param: param, System: system, Code: code}
}

// Put stores ws in one transaction.
func Put(t testing.TB, s store.Store, ws ...store.Write) error {
	t.Helper()
	return s.Update(t.Context(), func(tx store.Tx) error {
		for _, w := range ws {
			if err := tx.Put(t.Context(), w); err != nil {
				return err
			}
		}
		return nil
	})
}

// MustPut stores ws in one transaction or fails the test.
func MustPut(t testing.TB, s store.Store, ws ...store.Write) {
	t.Helper()
	if err := Put(t, s, ws...); err != nil {
		t.Fatalf("put: %v", err)
	}
}

// Decode parses JSON keeping numbers as written (json.Number).
func Decode(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// SameJSON fails t unless got and want are the same JSON value, numbers
// compared as written.
func SameJSON(t testing.TB, got, want []byte) {
	t.Helper()
	if d := cmp.Diff(Decode(t, want), Decode(t, got)); d != "" {
		t.Errorf("body differs (-want +got):\n%s", d)
	}
}

// key names a version in failure messages.
func key(r store.Resource) string {
	return fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.Version)
}

// CheckResource fails t unless got is the version w stored: same
// identity, metadata, time (UTC, to the microsecond) and body.
func CheckResource(t testing.TB, got *store.Resource, w store.Write) {
	t.Helper()
	want := w.Resource
	if got == nil {
		t.Fatalf("%s: got nil", key(want))
	}
	if got.Type != want.Type || got.ID != want.ID || got.Version != want.Version {
		t.Errorf("got %s, want %s", key(*got), key(want))
	}
	if got.Deleted != want.Deleted || got.Method != want.Method || got.PatientKey != want.PatientKey {
		t.Errorf("%s: got deleted=%v method=%q patient=%q, want deleted=%v method=%q patient=%q",
			key(want), got.Deleted, got.Method, got.PatientKey, want.Deleted, want.Method, want.PatientKey)
	}
	wt := want.LastUpdated.UTC().Truncate(time.Microsecond)
	if !got.LastUpdated.Equal(wt) || got.LastUpdated.Location() != time.UTC {
		t.Errorf("%s: lastUpdated %v (%v), want %v in UTC", key(want), got.LastUpdated, got.LastUpdated.Location(), wt)
	}
	if want.Deleted {
		if len(got.Body) != 0 {
			t.Errorf("%s: deletion has a body %q", key(want), got.Body)
		}
		return
	}
	SameJSON(t, got.Body, want.Body)
}
