package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sharedcare/sharedcare/internal/store"
)

// reindexer returns s as a store.Reindexer and IndexReader, or skips t.
func reindexer(t *testing.T, s store.Store) (store.Reindexer, IndexReader) {
	t.Helper()
	rx, ok := s.(store.Reindexer)
	ir, ok2 := s.(IndexReader)
	if !ok || !ok2 {
		t.Skip("the store does not rebuild index rows")
	}
	return rx, ir
}

// SwapIndexState swaps one state.
func SwapIndexState(ctx context.Context, rx store.Reindexer, st store.IndexState) (store.IndexState, error) {
	out, err := rx.SwapIndexStates(ctx, []store.IndexState{st})
	if err != nil {
		return store.IndexState{}, err
	}
	return out[0], nil
}

func testIndexState(t *testing.T, s store.Store) {
	rx, _ := reindexer(t, s)
	ctx := t.Context()
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	obs := store.IndexState{Type: "Observation", Target: "1.all.aaaaaaaaaaaa", Cursor: "o5", Done: 5, Total: 9, Owner: "host-1", Started: at, Updated: at.Add(time.Second)}
	pat := store.IndexState{Type: "Patient", Generation: "1.all.bbbbbbbbbbbb", Total: 3}

	var err error
	steps := []struct {
		name    string
		st      *store.IndexState // swapped in; Seq is the one it replaces
		seq     int64
		wantErr error
	}{
		{"first record", &obs, 0, nil},
		{"first record again", &obs, 0, store.ErrConflict},
		{"another type", &pat, 0, nil},
		{"replace the current state", &obs, 1, nil},
		{"replace a state already replaced", &obs, 1, store.ErrConflict},
		{"replace the state of a type never recorded", &store.IndexState{Type: "Encounter"}, 4, store.ErrConflict},
	}
	for _, step := range steps {
		in := *step.st
		in.Seq = step.seq
		var out store.IndexState
		out, err = SwapIndexState(ctx, rx, in)
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: %v, want %v", step.name, err, step.wantErr)
		}
		if err == nil {
			if out.Seq != step.seq+1 {
				t.Errorf("%s: seq %d, want %d", step.name, out.Seq, step.seq+1)
			}
			*step.st = out
		}
	}
	// Several states swap together or not at all.
	enc := store.IndexState{Type: "Encounter", Generation: "g"}
	stale := obs
	stale.Seq--
	if _, err := rx.SwapIndexStates(ctx, []store.IndexState{enc, stale}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("swap of a new state and a stale one: %v, want ErrConflict", err)
	}
	both, err := rx.SwapIndexStates(ctx, []store.IndexState{enc, pat})
	if err != nil || len(both) != 2 || both[0].Seq != 1 || both[1].Seq != 2 {
		t.Fatalf("swap of two states: %+v, %v", both, err)
	}
	enc, pat = both[0], both[1]
	got, err := rx.IndexStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Times come back in UTC, to the microsecond; a zero time stays zero.
	obs.Started = at.UTC().Truncate(time.Microsecond)
	obs.Updated = at.Add(time.Second).UTC().Truncate(time.Microsecond)
	if d := cmp.Diff([]store.IndexState{enc, obs, pat}, got); d != "" {
		t.Errorf("index states (-want +got):\n%s", d)
	}
}

// reindexFixture writes o1..o6 (o3 deleted, o5 at version 2) with tokens
// "old" and patient key pa, and Patient pa.
func reindexFixture(t *testing.T, s store.Store) *Clock {
	clk := NewClock(Time0)
	var ws []store.Write
	for i := 1; i <= 6; i++ {
		w := NewWrite("Observation", "o"+strconv.Itoa(i), 1, clk.Next(), map[string]any{"status": "final"}, Tok("code", "old", strconv.Itoa(i)))
		w.Resource.PatientKey = "pa"
		ws = append(ws, w)
	}
	ws = append(ws, NewWrite("Patient", "pa", 1, clk.Next(), nil))
	MustPut(t, s, ws...)
	MustPut(t, s, Deletion("Observation", "o3", 2, clk.Next()))
	w := NewWrite("Observation", "o5", 2, clk.Next(), map[string]any{"status": "amended"}, Tok("code", "old", "5b"))
	w.Resource.PatientKey = "pa"
	MustPut(t, s, w)
	return clk
}

func testCurrentAndTypes(t *testing.T, s store.Store) {
	rx, _ := reindexer(t, s)
	reindexFixture(t, s)
	ctx := t.Context()
	MustPut(t, s, NewWrite("Encounter", "e1", 1, Time0, nil), NewWrite("Account", "a1", 1, Time0, nil))
	MustPut(t, s, Deletion("Encounter", "e1", 2, Time0.Add(time.Second)))
	types, err := rx.Types(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A type whose resources are all deleted still has rows.
	if want := []string{"Account", "Encounter", "Observation", "Patient"}; !slices.Equal(types, want) {
		t.Errorf("types %q, want %q", types, want)
	}
	tests := []struct {
		name  string
		typ   string
		after string
		limit int
		want  []string // id/version
	}{
		{"all", "Observation", "", 10, []string{"o1/1", "o2/1", "o4/1", "o5/2", "o6/1"}},
		{"first page", "Observation", "", 2, []string{"o1/1", "o2/1"}},
		{"after a deleted id", "Observation", "o2", 2, []string{"o4/1", "o5/2"}},
		{"last page", "Observation", "o5", 2, []string{"o6/1"}},
		{"past the end", "Observation", "o6", 2, nil},
		{"other type", "Patient", "", 10, []string{"pa/1"}},
		{"no such type", "Encounter", "", 10, nil},
		{"no limit", "Observation", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := rx.Current(ctx, tc.typ, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.ID+"/"+strconv.FormatInt(r.Version, 10))
				if len(r.Body) == 0 || r.Type != tc.typ {
					t.Errorf("%s: type %q, body %q", r.ID, r.Type, r.Body)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// newRows is the index a rebuild gives resource id at version v.
func newRows(id string, v int64) store.Index {
	return store.Index{
		Tokens:       []store.Token{{Param: "code", System: "new", Code: id + "/" + strconv.FormatInt(v, 10)}},
		Strings:      []store.String{{Param: "note", Norm: "rebuilt", Exact: "Rebuilt"}},
		Compartments: []store.Compartment{{Param: "subject", Patient: "pb"}},
	}
}

func rebuilt(id string, v int64) store.Write {
	return store.Write{Resource: store.Resource{Type: "Observation", ID: id, Version: v, PatientKey: "pb"}, Index: newRows(id, v)}
}

func sortIndex(ix *store.Index) *store.Index {
	slices.SortFunc(ix.Tokens, func(a, b store.Token) int { return strings.Compare(a.System+a.Code, b.System+b.Code) })
	return ix
}

func wantIndex(t *testing.T, ir IndexReader, typ, id string, want store.Index) {
	t.Helper()
	got, err := ir.IndexOf(t.Context(), typ, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sortIndex(&want), sortIndex(got), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("index rows of %s/%s (-want +got):\n%s", typ, id, d)
	}
}

func testReindex(t *testing.T, s store.Store) {
	rx, ir := reindexer(t, s)
	clk := reindexFixture(t, s)
	ctx := t.Context()
	st, err := SwapIndexState(ctx, rx, store.IndexState{Type: "Observation", Target: "g2", Owner: "me"})
	if err != nil {
		t.Fatal(err)
	}
	// o4 changes after the rebuild read it: its rebuilt rows are stale.
	w := NewWrite("Observation", "o4", 2, clk.Next(), nil, Tok("code", "put", "4"))
	w.Resource.PatientKey = "pa"
	MustPut(t, s, w)
	before, err := s.History(ctx, store.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	batch := []store.Write{rebuilt("o1", 1), rebuilt("o2", 1), rebuilt("o3", 1), rebuilt("o4", 1), rebuilt("o5", 2), rebuilt("nope", 1)}
	next := st
	next.Cursor, next.Done = "o5", 5
	n, got, err := rx.Reindex(ctx, batch, next)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("rewrote %d resources, want 3 (o1, o2, o5)", n)
	}
	if got.Seq != st.Seq+1 || got.Cursor != "o5" {
		t.Errorf("state after the batch: %+v", got)
	}
	tests := []struct {
		id      string
		version int64
		want    store.Index
		pk      string
	}{
		{"o1", 1, newRows("o1", 1), "pb"},
		{"o2", 1, newRows("o2", 1), "pb"},
		{"o3", 2, store.Index{}, ""}, // deleted: no rows, untouched
		{"o4", 2, store.Index{Tokens: []store.Token{Tok("code", "put", "4")}}, "pa"},
		{"o5", 2, newRows("o5", 2), "pb"},
		{"o6", 1, store.Index{Tokens: []store.Token{Tok("code", "old", "6")}}, "pa"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			wantIndex(t, ir, "Observation", tc.id, tc.want)
			r := mustRead(t, s, "Observation", tc.id)
			if r.Version != tc.version || r.PatientKey != tc.pk {
				t.Errorf("current %s: version %d patient %q, want %d %q", tc.id, r.Version, r.PatientKey, tc.version, tc.pk)
			}
		})
	}
	// No version was added; only the current version's patient key moved.
	after, err := s.History(ctx, store.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("history has %d versions, had %d", len(after), len(before))
	}
	for i := range after {
		a, b := after[i], before[i]
		wantPK := b.PatientKey
		if a.Type == "Observation" && (a.ID == "o1" || a.ID == "o2" || a.ID == "o5" && a.Version == 2) {
			wantPK = "pb"
		}
		if a.ID != b.ID || a.Version != b.Version || !a.LastUpdated.Equal(b.LastUpdated) || a.PatientKey != wantPK || string(a.Body) != string(b.Body) {
			t.Errorf("version %s/%d changed: patient %q (want %q)", a.ID, a.Version, a.PatientKey, wantPK)
		}
	}
	// The rebuilt rows serve Find.
	wantIDs(t, find(t, s, tokenCriteria("Observation", "code", store.TokenMatch{System: "new", Code: "o2/1"}), 10), "o2")
	wantIDs(t, find(t, s, tokenCriteria("Observation", "code", store.TokenMatch{System: "old", Code: "2"}), 10))
	if n := count(t, s, "Observation"); n != 5 {
		t.Errorf("count %d after the rebuild, want 5", n)
	}

	// A batch whose state swap loses keeps nothing.
	if _, _, err := rx.Reindex(ctx, []store.Write{rebuilt("o6", 1)}, next); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("batch with a stale state: %v, want ErrConflict", err)
	}
	wantIndex(t, ir, "Observation", "o6", store.Index{Tokens: []store.Token{Tok("code", "old", "6")}})
	states, err := rx.IndexStates(ctx)
	if err != nil || len(states) != 1 || states[0].Seq != got.Seq {
		t.Errorf("states after a lost swap: %+v, %v", states, err)
	}
	// An update after the rebuild replaces its rows like any others.
	w = NewWrite("Observation", "o1", 2, clk.Next(), nil, Tok("code", "put", "1"))
	MustPut(t, s, w)
	wantIndex(t, ir, "Observation", "o1", store.Index{Tokens: []store.Token{Tok("code", "put", "1")}})
}

// testReindexConcurrentPuts rebuilds resources while other transactions
// update them: in the end each resource has the rows of exactly one
// writer of its current version, never a mix, never rows of an older one.
func testReindexConcurrentPuts(t *testing.T, s store.Store) {
	rx, ir := reindexer(t, s)
	ctx := context.Background()
	const n, rounds = 8, 25
	clk := NewClock(Time0)
	var ws []store.Write
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("c%02d", i)
		ws = append(ws, NewWrite("Observation", ids[i], 1, clk.Next(), nil, Tok("code", "put", ids[i]+"/1")))
	}
	MustPut(t, s, ws...)
	st, err := SwapIndexState(ctx, rx, store.IndexState{Type: "Observation", Target: "g"})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errc := make(chan error, n+1)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := s.Update(ctx, func(tx store.Tx) error {
					cur, err := tx.Read(ctx, "Observation", id)
					if err != nil {
						return err
					}
					v := cur.Version + 1
					return tx.Put(ctx, NewWrite("Observation", id, v, clk.Next(), nil, Tok("code", "put", id+"/"+strconv.FormatInt(v, 10))))
				})
				if err != nil {
					errc <- fmt.Errorf("update %s: %w", id, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rounds * 2 {
			rs, err := rx.Current(ctx, "Observation", "", n)
			if err != nil {
				errc <- err
				return
			}
			var batch []store.Write
			for _, r := range rs {
				batch = append(batch, store.Write{Resource: store.Resource{Type: r.Type, ID: r.ID, Version: r.Version}, Index: store.Index{
					Tokens: []store.Token{Tok("code", "rebuilt", r.ID+"/"+strconv.FormatInt(r.Version, 10))},
				}})
			}
			if _, st, err = rx.Reindex(ctx, batch, st); err != nil {
				errc <- fmt.Errorf("reindex: %w", err)
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, id := range ids {
		r := mustRead(t, s, "Observation", id)
		ix, err := ir.IndexOf(ctx, "Observation", id)
		if err != nil {
			t.Fatal(err)
		}
		v := id + "/" + strconv.FormatInt(r.Version, 10)
		if len(ix.Tokens) != 1 || ix.Tokens[0].Code != v || ix.Rows() != 1 {
			t.Errorf("%s at version %d has rows %+v, want one row for %s", id, r.Version, ix.Tokens, v)
		}
		if r.Version != rounds+1 {
			t.Errorf("%s at version %d, want %d: an update was lost", id, r.Version, rounds+1)
		}
	}
}
