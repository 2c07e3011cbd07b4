package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sharedcare/sharedcare/internal/store"
)

// RunBulk tests a store whose transactions implement store.BulkPutter:
// PutMany stores what Put would, Versions sees what Read would, and a
// PutMany over an existing resource is refused.
func RunBulk(t *testing.T, open Opener) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"PutManyAsPut", testPutManyAsPut},
		{"Versions", testVersions},
		{"PutManyExisting", testPutManyExisting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, open(t))
		})
	}
}

// bulkWrites builds n Observations with index rows of every kind, more
// than one statement's worth in all.
func bulkWrites(prefix string, n int, clk *Clock) []store.Write {
	ws := make([]store.Write, n)
	for i := range ws {
		id := fmt.Sprintf("%s%04d", prefix, i)
		ws[i] = NewWrite("Observation", id, 1, clk.Next(), map[string]any{"status": "final", "n": i})
		ws[i].Resource.PatientKey = "p" + id
		ws[i].Index = fullIndex(id)
		ws[i].Index.Texts = []store.Text{{Param: "_content", Text: "final " + id}}
	}
	return ws
}

func putMany(t *testing.T, s store.Store, ws []store.Write) error {
	t.Helper()
	return s.Update(t.Context(), func(tx store.Tx) error {
		bp, ok := tx.(store.BulkPutter)
		if !ok {
			t.Fatalf("%T does not implement store.BulkPutter", tx)
		}
		return bp.PutMany(t.Context(), ws)
	})
}

func sortFull(ix *store.Index) *store.Index {
	slices.SortFunc(ix.Tokens, func(a, b store.Token) int { return strings.Compare(a.Param+a.System+a.Code, b.Param+b.System+b.Code) })
	slices.SortFunc(ix.Dates, func(a, b store.Date) int { return cmpInt(a.Low, b.Low) })
	return ix
}

func testPutManyAsPut(t *testing.T, s store.Store) {
	ir, ok := s.(IndexReader)
	if !ok {
		t.Skip("the store does not show its index rows")
	}
	ctx := t.Context()
	clk := NewClock(Time0)
	ws := bulkWrites("o", 300, clk) // 300 resources, 38,700 token rows
	if err := putMany(t, s, ws); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 255, 256, 299} {
		w := ws[i]
		got := mustRead(t, s, "Observation", w.Resource.ID)
		want := w.Resource
		if d := cmp.Diff(Decode(t, want.Body), Decode(t, got.Body)); d != "" {
			t.Errorf("body of %s (-want +got):\n%s", want.ID, d)
		}
		got.Body, want.Body = nil, nil
		want.LastUpdated = want.LastUpdated.UTC()
		if d := cmp.Diff(want, *got); d != "" {
			t.Errorf("resource %s (-want +got):\n%s", want.ID, d)
		}
		ix, err := ir.IndexOf(ctx, "Observation", w.Resource.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantIx := fullIndex(w.Resource.ID)
		wantIx.Texts = w.Index.Texts
		if d := cmp.Diff(sortFull(&wantIx), sortFull(ix), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("index rows of %s (-want +got):\n%s", w.Resource.ID, d)
		}
	}
	if n := count(t, s, "Observation"); n != 300 {
		t.Errorf("count = %d, want 300", n)
	}
	// They are found, and a later Put makes version 2 as usual.
	wantIDs(t, find(t, s, tokenCriteria("Observation", "identifier", store.TokenMatch{System: "http://a", Code: "o0299122"}), 10), "o0299")
	MustPut(t, s, NewWrite("Observation", "o0007", 2, clk.Next(), map[string]any{"status": "amended"}))
	if r := mustRead(t, s, "Observation", "o0007"); r.Version != 2 {
		t.Errorf("after Put: version %d, want 2", r.Version)
	}
	// An empty PutMany does nothing.
	if err := putMany(t, s, nil); err != nil {
		t.Errorf("empty PutMany: %v", err)
	}
}

func testVersions(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	a1 := NewWrite("Patient", "a", 1, clk.Next(), nil)
	a2 := NewWrite("Patient", "a", 2, clk.Next(), nil)
	b1 := NewWrite("Patient", "b", 1, clk.Next(), nil)
	bd := Deletion("Patient", "b", 2, clk.Next())
	o1 := Observation("a", "a", clk.Next()) // same id, another type
	MustPut(t, s, a1, a2, b1, bd, o1)
	keys := []store.Key{{Type: "Patient", ID: "a"}, {Type: "Patient", ID: "b"}, {Type: "Patient", ID: "c"}, {Type: "Observation", ID: "a"}, {Type: "Observation", ID: "b"}}
	var got map[store.Key]store.Current
	err := s.Update(t.Context(), func(tx store.Tx) error {
		bp := tx.(store.BulkPutter)
		// A write earlier in the transaction is seen.
		if err := tx.Put(t.Context(), NewWrite("Patient", "c", 1, o1.Resource.LastUpdated, nil)); err != nil {
			return err
		}
		var err error
		got, err = bp.Versions(t.Context(), keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.Key]store.Current{
		{Type: "Patient", ID: "a"}:     {Version: 2, LastUpdated: a2.Resource.LastUpdated},
		{Type: "Patient", ID: "b"}:     {Version: 2, LastUpdated: bd.Resource.LastUpdated, Deleted: true},
		{Type: "Patient", ID: "c"}:     {Version: 1, LastUpdated: o1.Resource.LastUpdated},
		{Type: "Observation", ID: "a"}: {Version: 1, LastUpdated: o1.Resource.LastUpdated},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
	// More keys than one statement names.
	var many []store.Key
	for i := range 700 {
		many = append(many, store.Key{Type: "Patient", ID: fmt.Sprintf("x%d", i)})
	}
	many = append(many, store.Key{Type: "Patient", ID: "a"})
	err = s.Update(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.(store.BulkPutter).Versions(t.Context(), many)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[store.Key{Type: "Patient", ID: "a"}].Version != 2 {
		t.Errorf("versions of 701 keys = %v, want only Patient/a at 2", got)
	}
}

func testPutManyExisting(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	MustPut(t, s, NewWrite("Patient", "p2", 1, clk.Next(), nil))
	ws := []store.Write{NewWrite("Patient", "p1", 1, clk.Next(), nil), NewWrite("Patient", "p2", 1, clk.Next(), nil), NewWrite("Patient", "p3", 1, clk.Next(), nil)}
	err := putMany(t, s, ws)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutMany over an existing resource: %v, want ErrConflict", err)
	}
	// Nothing of it was kept.
	_, err = s.Read(context.Background(), "Patient", "p1")
	wantNotFound(t, err, "p1 after a refused PutMany")
	if r := mustRead(t, s, "Patient", "p2"); r.Version != 1 || !r.LastUpdated.Equal(Time0.Add(time.Millisecond)) {
		t.Errorf("p2 = version %d at %v, want the first", r.Version, r.LastUpdated)
	}
	// A version other than 1 is refused too.
	w := NewWrite("Patient", "p4", 2, clk.Next(), nil)
	if err := putMany(t, s, []store.Write{w}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutMany of version 2: %v, want ErrConflict", err)
	}
}
