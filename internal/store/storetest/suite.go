package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Time0 is when the suite's clocks start.
var Time0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func mustRead(t *testing.T, s store.Reader, typ, id string) *store.Resource {
	t.Helper()
	r, err := s.Read(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	return r
}

func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got %v, want ErrNotFound", what, err)
	}
}

func wantConflict(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: got %v, want ErrConflict", what, err)
	}
}

func find(t *testing.T, s store.Reader, c store.Criteria, limit int) []string {
	t.Helper()
	ids, err := s.Find(t.Context(), c, limit)
	if err != nil {
		t.Fatalf("find %+v: %v", c, err)
	}
	return ids
}

func wantIDs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("ids = %q, want %q", got, want)
	}
}

func count(t *testing.T, s store.Reader, typ string) int64 {
	t.Helper()
	n, err := s.Count(t.Context(), typ)
	if err != nil {
		t.Fatalf("count %q: %v", typ, err)
	}
	return n
}

func testRoundTrip(t *testing.T, s store.Store) {
	// Nanoseconds and a zone other than UTC: the store keeps microseconds
	// and answers in UTC.
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	fields := map[string]any{
		"name": []any{map[string]any{
			"family": "Zoë Ñandú 漢字 😀 \u00e9\u0301",
			"given":  []any{"Ann \"quoted\" \\ back/slash\ttab\nline", "<b>&amp;</b>"},
		}},
		"birthDate":  "1970-01-01",
		"_birthDate": map[string]any{"extension": []any{map[string]any{"url": "http://example.org/time", "valueTime": "12:00:00"}}},
		"extension": []any{
			map[string]any{"url": "http://example.org/a", "valueDecimal": json.Number("1.50")},
			map[string]any{"url": "http://example.org/b", "valueDecimal": json.Number("-0.000100")},
			map[string]any{"url": "http://example.org/c", "valueDecimal": json.Number("12345678901234567890.12345678901234567890")},
			map[string]any{"url": "http://example.org/d", "valueInteger": json.Number("0")},
			map[string]any{"url": "http://example.org/e", "valueBoolean": false},
		},
		"text":   map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">a &lt; b</div>`},
		"active": true,
		"empty":  map[string]any{"x": nil},
	}
	w1 := NewWrite("Patient", "p1", 1, at, fields, Tok("identifier", "http://example.org/mrn", "123"))
	MustPut(t, s, w1)

	r := mustRead(t, s, "Patient", "p1")
	CheckResource(t, r, w1)
	if want := at.UTC().Truncate(time.Microsecond); !r.LastUpdated.Equal(want) || r.LastUpdated.Nanosecond() != 123456000 {
		t.Errorf("lastUpdated %v, want %v", r.LastUpdated, want)
	}
	// Decimals keep their written form.
	m := Decode(t, r.Body).(map[string]any)
	ext := m["extension"].([]any)
	for i, want := range []string{"1.50", "-0.000100", "12345678901234567890.12345678901234567890"} {
		if got := ext[i].(map[string]any)["valueDecimal"]; got != json.Number(want) {
			t.Errorf("extension[%d].valueDecimal = %#v, want %s", i, got, want)
		}
	}
	if got := m["name"].([]any)[0].(map[string]any)["family"]; got != "Zoë Ñandú 漢字 😀 \u00e9\u0301" {
		t.Errorf("family = %q", got)
	}

	v, err := s.VRead(t.Context(), "Patient", "p1", 1)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, w1)

	_, err = s.VRead(t.Context(), "Patient", "p1", 2)
	wantNotFound(t, err, "vread of a version not yet written")
	_, err = s.Read(t.Context(), "Patient", "nope")
	wantNotFound(t, err, "read of an unknown id")
	_, err = s.Read(t.Context(), "Observation", "p1")
	wantNotFound(t, err, "read of a known id under another type")
	_, err = s.VRead(t.Context(), "Patient", "nope", 1)
	wantNotFound(t, err, "vread of an unknown id")

	fields["active"] = false
	w2 := NewWrite("Patient", "p1", 2, at.Add(time.Second), fields)
	MustPut(t, s, w2)
	CheckResource(t, mustRead(t, s, "Patient", "p1"), w2)
	v, err = s.VRead(t.Context(), "Patient", "p1", 1)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, w1)
	v, err = s.VRead(t.Context(), "Patient", "p1", 2)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, w2)

	// A larger body (64 KB of text) survives too.
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	w3 := NewWrite("Binary", "big", 1, at, map[string]any{"data": string(big)})
	MustPut(t, s, w3)
	CheckResource(t, mustRead(t, s, "Binary", "big"), w3)
}

func testTxSeesOwnWrites(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	w1 := NewWrite("Patient", "a", 1, clk.Next(), nil, Tok("identifier", "s", "1"))
	w2 := NewWrite("Patient", "a", 2, clk.Next(), map[string]any{"active": true}, Tok("identifier", "s", "2"))
	err := s.Update(t.Context(), func(tx store.Tx) error {
		ctx := t.Context()
		if _, err := tx.Read(ctx, "Patient", "a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read before put: %v, want ErrNotFound", err)
		}
		if err := tx.Put(ctx, w1); err != nil {
			return err
		}
		r, err := tx.Read(ctx, "Patient", "a")
		if err != nil {
			return fmt.Errorf("read after put: %w", err)
		}
		CheckResource(t, r, w1)
		ids, err := tx.Find(ctx, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{System: "s", Code: "1"}}}}}, 10)
		if err != nil {
			return err
		}
		wantIDs(t, ids, "a")
		// A second version in the same transaction.
		if err := tx.Put(ctx, w2); err != nil {
			return err
		}
		r, err = tx.Read(ctx, "Patient", "a")
		if err != nil {
			return err
		}
		CheckResource(t, r, w2)
		ids, err = tx.Find(ctx, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{System: "s", Code: "1"}}}}}, 10)
		if err != nil {
			return err
		}
		wantIDs(t, ids)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, mustRead(t, s, "Patient", "a"), w2)
	v, err := s.VRead(t.Context(), "Patient", "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, w1)
}

func testVersionMustFollow(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	wantConflict(t, Put(t, s, NewWrite("Patient", "a", 2, clk.Next(), nil)), "version 2 of a new resource")
	wantConflict(t, Put(t, s, NewWrite("Patient", "a", 0, clk.Next(), nil)), "version 0 of a new resource")
	_, err := s.Read(t.Context(), "Patient", "a")
	wantNotFound(t, err, "read after refused puts")

	w1 := NewWrite("Patient", "a", 1, clk.Next(), nil)
	MustPut(t, s, w1)
	wantConflict(t, Put(t, s, NewWrite("Patient", "a", 1, clk.Next(), map[string]any{"x": "again"})), "version 1 of an existing resource")
	wantConflict(t, Put(t, s, NewWrite("Patient", "a", 3, clk.Next(), nil)), "skipping a version")
	CheckResource(t, mustRead(t, s, "Patient", "a"), w1)
	MustPut(t, s, NewWrite("Patient", "a", 2, clk.Next(), nil))

	// A refused Put leaves the transaction usable: the caller may go on.
	w3 := NewWrite("Patient", "a", 3, clk.Next(), map[string]any{"after": "conflict"})
	err = s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put(t.Context(), NewWrite("Patient", "a", 2, clk.Next(), nil)); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("stale put: %v, want ErrConflict", err)
		}
		return tx.Put(t.Context(), w3)
	})
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, mustRead(t, s, "Patient", "a"), w3)

	// A refused Put after many good ones: the caller sees ErrConflict from
	// that Put, and returning it undoes the others.
	var seenConflict bool
	err = s.Update(t.Context(), func(tx store.Tx) error {
		seenConflict = false
		for i := range 50 {
			if err := tx.Put(t.Context(), NewWrite("Patient", fmt.Sprint("many", i), 1, clk.Next(), nil)); err != nil {
				return err
			}
		}
		err := tx.Put(t.Context(), NewWrite("Patient", "a", 1, clk.Next(), nil))
		seenConflict = errors.Is(err, store.ErrConflict)
		return err
	})
	wantConflict(t, err, "update whose last put was refused")
	if !seenConflict {
		t.Error("the refused Put did not return ErrConflict to fn")
	}
	if n := count(t, s, "Patient"); n != 1 {
		t.Errorf("count = %d after a refused transaction, want 1", n)
	}

	// A deleted resource still has versions: recreating it at 1 conflicts.
	MustPut(t, s, Deletion("Patient", "a", 4, clk.Next()))
	wantConflict(t, Put(t, s, NewWrite("Patient", "a", 1, clk.Next(), nil)), "version 1 of a deleted resource")
}

func testDelete(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	w1 := NewWrite("Patient", "d", 1, clk.Next(), map[string]any{"active": true}, Tok("identifier", "s", "d"))
	MustPut(t, s, w1, NewWrite("Patient", "live", 1, clk.Next(), nil, Tok("identifier", "s", "live")))
	del := Deletion("Patient", "d", 2, clk.Next())
	MustPut(t, s, del)

	r := mustRead(t, s, "Patient", "d")
	CheckResource(t, r, del)
	if !r.Deleted || r.Version != 2 || len(r.Body) != 0 {
		t.Errorf("read after delete: deleted=%v version=%d body=%q", r.Deleted, r.Version, r.Body)
	}
	v, err := s.VRead(t.Context(), "Patient", "d", 1)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, w1)
	v, err = s.VRead(t.Context(), "Patient", "d", 2)
	if err != nil {
		t.Fatal(err)
	}
	CheckResource(t, v, del)

	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", IDs: []string{"d"}}, 10))
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{Code: "d", AnySystem: true}}}}}, 10))
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient"}, 10), "live")
	if n := count(t, s, "Patient"); n != 1 {
		t.Errorf("count after delete = %d, want 1", n)
	}
	if n := count(t, s, ""); n != 1 {
		t.Errorf("count of all after delete = %d, want 1", n)
	}

	// Writing again after a deletion brings the resource back.
	w3 := NewWrite("Patient", "d", 3, clk.Next(), map[string]any{"active": false}, Tok("identifier", "s", "d3"))
	MustPut(t, s, w3)
	CheckResource(t, mustRead(t, s, "Patient", "d"), w3)
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{Code: "d3", AnySystem: true}}}}}, 10), "d")
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{Code: "d", AnySystem: true}}}}}, 10))
	if n := count(t, s, "Patient"); n != 2 {
		t.Errorf("count after recreate = %d, want 2", n)
	}
}

func testRollbackOnError(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	a1 := NewWrite("Patient", "a", 1, clk.Next(), nil, Tok("identifier", "s", "a1"))
	MustPut(t, s, a1)
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, w := range []store.Write{
			NewWrite("Patient", "a", 2, clk.Next(), nil, Tok("identifier", "s", "a2")),
			NewWrite("Patient", "b", 1, clk.Next(), nil, Tok("identifier", "s", "b1")),
			NewWrite("Observation", "c", 1, clk.Next(), nil),
			Deletion("Patient", "a", 3, clk.Next()),
		} {
			if err := tx.Put(t.Context(), w); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: got %v, want the fn's error", err)
	}
	CheckResource(t, mustRead(t, s, "Patient", "a"), a1)
	_, err = s.Read(t.Context(), "Patient", "b")
	wantNotFound(t, err, "read of a rolled back create")
	_, err = s.Read(t.Context(), "Observation", "c")
	wantNotFound(t, err, "read of a rolled back create")
	_, err = s.VRead(t.Context(), "Patient", "a", 2)
	wantNotFound(t, err, "vread of a rolled back version")
	tok := func(code string) store.Criteria {
		return store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{System: "s", Code: code}}}}}
	}
	wantIDs(t, find(t, s, tok("a1"), 10), "a")
	wantIDs(t, find(t, s, tok("a2"), 10))
	wantIDs(t, find(t, s, tok("b1"), 10))
	if n := count(t, s, ""); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
	h, err := s.History(t.Context(), store.HistoryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 {
		t.Errorf("history has %d versions, want 1", len(h))
	}
	// The store goes on working, and the same versions can now be written.
	MustPut(t, s, NewWrite("Patient", "a", 2, clk.Next(), nil), NewWrite("Patient", "b", 1, clk.Next(), nil))
}

func testPanicRollsBack(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put(t.Context(), NewWrite("Patient", "x", 1, clk.Next(), nil)); err != nil {
			return err
		}
		panic("deliberate panic in a write transaction")
	})
	if err == nil {
		t.Fatal("update whose fn panicked returned nil")
	}
	if k := fhir.KindOf(err); k != fhir.Internal {
		t.Errorf("kind of a panic's error = %v, want internal", k)
	}
	_, err = s.Read(t.Context(), "Patient", "x")
	wantNotFound(t, err, "read of a write whose fn panicked")
	// The store still works, also for writes racing with another panic.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			s.Update(t.Context(), func(tx store.Tx) error { panic(i) })
		})
		wg.Go(func() {
			MustPut(t, s, NewWrite("Patient", fmt.Sprint("y", i), 1, clk.Next(), nil))
		})
	}
	wg.Wait()
	if n := count(t, s, "Patient"); n != 4 {
		t.Errorf("count = %d, want 4", n)
	}
}

func testConcurrentCreate(t *testing.T, s store.Store) {
	const n = 50
	clk := NewClock(Time0)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("c%02d", i)
			errs[i] = Put(t, s,
				NewWrite("Patient", id, 1, clk.Next(), map[string]any{"n": i}, Tok("identifier", "s", id), Tok("tag", "s", "all")),
				NewWrite("Observation", "o"+id, 1, clk.Next(), map[string]any{"subject": map[string]any{"reference": "Patient/" + id}}))
		})
	}
	wg.Wait()
	var want []string
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
		want = append(want, fmt.Sprintf("c%02d", i))
	}
	for _, id := range want {
		r := mustRead(t, s, "Patient", id)
		if r.Version != 1 || r.Deleted {
			t.Errorf("%s: version %d deleted %v", id, r.Version, r.Deleted)
		}
		mustRead(t, s, "Observation", "o"+id)
	}
	if c := count(t, s, "Patient"); c != n {
		t.Errorf("count Patient = %d, want %d", c, n)
	}
	if c := count(t, s, ""); c != 2*n {
		t.Errorf("count = %d, want %d", c, 2*n)
	}
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "tag", Values: []store.TokenMatch{{System: "s", Code: "all"}}}}}, 100), want...)
}

// testConcurrentSameResource has writers race to add versions to one
// resource. Every successful Put must build on the version before it: the
// final version counts the successful Puts, and each version's body names
// the version it was built on.
func testConcurrentSameResource(t *testing.T, s store.Store) {
	const writers, each = 10, 5
	clk := NewClock(Time0)
	MustPut(t, s, NewWrite("Basic", "counter", 1, clk.Next(), map[string]any{"prev": 0}))

	run := func(t *testing.T, inTx bool) {
		start := mustRead(t, s, "Basic", "counter").Version
		var ok, conflicts atomic.Int64
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				for range each {
					for try := 0; ; try++ {
						if try == 1000 {
							t.Errorf("writer %d: no success after %d tries", g, try)
							return
						}
						var cur int64
						if !inTx {
							// Read outside the transaction: the Put may be stale.
							r, err := s.Read(t.Context(), "Basic", "counter")
							if err != nil {
								t.Error(err)
								return
							}
							cur = r.Version
						}
						err := s.Update(t.Context(), func(tx store.Tx) error {
							if inTx {
								r, err := tx.Read(t.Context(), "Basic", "counter")
								if err != nil {
									return err
								}
								cur = r.Version
							}
							return tx.Put(t.Context(), NewWrite("Basic", "counter", cur+1, clk.Next(), map[string]any{"prev": cur, "by": g}))
						})
						if err == nil {
							ok.Add(1)
							break
						}
						if !errors.Is(err, store.ErrConflict) {
							t.Errorf("writer %d: %v", g, err)
							return
						}
						conflicts.Add(1)
					}
				}
			})
		}
		wg.Wait()
		t.Logf("%d successful puts, %d conflicts", ok.Load(), conflicts.Load())
		if ok.Load() != writers*each {
			t.Errorf("%d successful puts, want %d", ok.Load(), writers*each)
		}
		final := mustRead(t, s, "Basic", "counter").Version
		if final != start+ok.Load() {
			t.Errorf("final version %d after %d successful puts from version %d: lost or phantom updates", final, ok.Load(), start)
		}
		for v := start + 1; v <= final; v++ {
			r, err := s.VRead(t.Context(), "Basic", "counter", v)
			if err != nil {
				t.Fatalf("vread %d: %v", v, err)
			}
			prev := Decode(t, r.Body).(map[string]any)["prev"]
			if prev != json.Number(fmt.Sprint(v-1)) {
				t.Errorf("version %d was built on version %v, want %d", v, prev, v-1)
			}
		}
	}
	t.Run("ReadInTx", func(t *testing.T) { run(t, true) })
	t.Run("ReadOutsideTx", func(t *testing.T) { run(t, false) })
}

// testConcurrentUpsertSameID has writers race to create or update one
// new id (read; version 1 if absent, else the next): creating the same id at
// once must not fail with anything but ErrConflict (never an internal
// error from a unique index), and no update may be lost.
func testConcurrentUpsertSameID(t *testing.T, s store.Store) {
	const writers = 10
	clk := NewClock(Time0)
	for round := range 3 {
		id := fmt.Sprint("u", round)
		var ok atomic.Int64
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				for try := 0; try < 1000; try++ {
					err := s.Update(t.Context(), func(tx store.Tx) error {
						var next int64 = 1
						r, err := tx.Read(t.Context(), "Patient", id)
						switch {
						case err == nil:
							next = r.Version + 1
						case !errors.Is(err, store.ErrNotFound):
							return err
						}
						return tx.Put(t.Context(), NewWrite("Patient", id, next, clk.Next(), map[string]any{"prev": next - 1, "by": g}))
					})
					if err == nil {
						ok.Add(1)
						return
					}
					if !errors.Is(err, store.ErrConflict) {
						t.Errorf("writer %d: %v (kind %v)", g, err, fhir.KindOf(err))
						return
					}
				}
				t.Errorf("writer %d never succeeded", g)
			})
		}
		wg.Wait()
		if r := mustRead(t, s, "Patient", id); r.Version != ok.Load() || ok.Load() != writers {
			t.Errorf("%s: final version %d after %d successful upserts, want %d", id, r.Version, ok.Load(), writers)
		}
	}
}

// testLockSerialises checks that find-then-create under Lock creates once.
func testLockSerialises(t *testing.T, s store.Store) {
	const n = 10
	clk := NewClock(Time0)
	c := store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{System: "s", Code: "once"}}}}}
	var created atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var made bool
			err := s.Update(t.Context(), func(tx store.Tx) error {
				made = false
				if err := tx.Lock(t.Context(), "Patient?identifier=s|once"); err != nil {
					return err
				}
				ids, err := tx.Find(t.Context(), c, 2)
				if err != nil || len(ids) > 0 {
					return err
				}
				made = true
				return tx.Put(t.Context(), NewWrite("Patient", fmt.Sprint("once", i), 1, clk.Next(), nil, Tok("identifier", "s", "once")))
			})
			if err != nil {
				t.Errorf("conditional create %d: %v", i, err)
			}
			if made {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Errorf("%d creates, want 1", created.Load())
	}
	if ids := find(t, s, c, 10); len(ids) != 1 {
		t.Errorf("found %q, want one", ids)
	}
}

func tokenCriteria(typ, param string, values ...store.TokenMatch) store.Criteria {
	return store.Criteria{Type: typ, Tokens: []store.TokenClause{{Param: param, Values: values}}}
}

func testFind(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	const gender = "http://hl7.org/fhir/administrative-gender"
	MustPut(t, s,
		NewWrite("Patient", "p1", 1, clk.Next(), nil, Tok("identifier", "http://a", "1"), Tok("gender", gender, "female")),
		NewWrite("Patient", "p2", 1, clk.Next(), nil, Tok("identifier", "http://b", "1"), Tok("gender", gender, "male")),
		NewWrite("Patient", "p3", 1, clk.Next(), nil, Tok("identifier", "", "1"), Tok("gender", gender, "female")),
		NewWrite("Patient", "p4", 1, clk.Next(), nil, Tok("identifier", "http://a", "1"), Tok("gender", gender, "female")),
		NewWrite("Patient", "p5", 1, clk.Next(), nil, Tok("identifier", "http://a", "2")),
		NewWrite("Observation", "o1", 1, clk.Next(), nil, Tok("identifier", "http://a", "1")),
	)
	MustPut(t, s, Deletion("Patient", "p4", 2, clk.Next()))

	all := func(code string) store.TokenMatch { return store.TokenMatch{Code: code, AnySystem: true} }
	in := func(sys, code string) store.TokenMatch { return store.TokenMatch{System: sys, Code: code} }

	wantIDs(t, find(t, s, store.Criteria{Type: "Patient"}, 100), "p1", "p2", "p3", "p5")
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient", IDs: []string{"p3", "p1", "nope", "p4", "o1"}}, 100), "p1", "p3")
	wantIDs(t, find(t, s, store.Criteria{Type: "Observation", IDs: []string{"o1"}}, 100), "o1")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("http://a", "1")), 100), "p1")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", all("1")), 100), "p1", "p2", "p3")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("", "1")), 100), "p3")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("http://a", "1"), in("http://b", "1")), 100), "p1", "p2")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("http://a", "1"), all("2")), 100), "p1", "p5")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("http://c", "1")), 100))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", in("http://a", "3")), 100))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "gender", all("1")), 100))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier"), 100)) // no values: nothing
	wantIDs(t, find(t, s, tokenCriteria("Patient", "nosuchparam", all("1")), 100))
	wantIDs(t, find(t, s, tokenCriteria("Observation", "identifier", in("http://a", "1")), 100), "o1")
	// AND of clauses, and with _id.
	and := store.Criteria{Type: "Patient", Tokens: []store.TokenClause{
		{Param: "identifier", Values: []store.TokenMatch{all("1")}},
		{Param: "gender", Values: []store.TokenMatch{in(gender, "female")}},
	}}
	wantIDs(t, find(t, s, and, 100), "p1", "p3")
	and.IDs = []string{"p2", "p3"}
	wantIDs(t, find(t, s, and, 100), "p3")
	and.Tokens = append(and.Tokens, store.TokenClause{Param: "gender", Values: []store.TokenMatch{all("male")}})
	wantIDs(t, find(t, s, and, 100))
	// The limit, in id order.
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", all("1")), 2), "p1", "p2")
	// Inside a transaction too.
	err := s.Update(t.Context(), func(tx store.Tx) error {
		ids, err := tx.Find(t.Context(), tokenCriteria("Patient", "identifier", all("1")), 100)
		wantIDs(t, ids, "p1", "p2", "p3")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testFindIndexReplaced(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	const gender = "http://hl7.org/fhir/administrative-gender"
	MustPut(t, s,
		NewWrite("Patient", "p1", 1, clk.Next(), nil, Tok("identifier", "http://a", "1"), Tok("gender", gender, "female")),
		NewWrite("Patient", "p2", 1, clk.Next(), nil, Tok("gender", gender, "female")),
	)
	// Version 2 of p1 drops its identifier and changes gender.
	MustPut(t, s, NewWrite("Patient", "p1", 2, clk.Next(), nil, Tok("gender", gender, "male")))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "gender", store.TokenMatch{System: gender, Code: "female"}), 100), "p2")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "gender", store.TokenMatch{System: gender, Code: "male"}), 100), "p1")
	wantIDs(t, find(t, s, tokenCriteria("Patient", "identifier", store.TokenMatch{Code: "1", AnySystem: true}), 100))
	// A version with no tokens leaves none.
	MustPut(t, s, NewWrite("Patient", "p1", 3, clk.Next(), nil))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "gender", store.TokenMatch{Code: "male", AnySystem: true}), 100))
	wantIDs(t, find(t, s, store.Criteria{Type: "Patient"}, 100), "p1", "p2")
	// Duplicate tokens in one version are harmless.
	MustPut(t, s, NewWrite("Patient", "p1", 4, clk.Next(), nil, Tok("gender", gender, "male"), Tok("gender", gender, "male")))
	wantIDs(t, find(t, s, tokenCriteria("Patient", "gender", store.TokenMatch{Code: "male", AnySystem: true}), 100), "p1")
}

type ref struct {
	Type, ID string
	Version  int64
}

func refs(rs []store.Resource) []ref {
	out := make([]ref, len(rs))
	for i, r := range rs {
		out[i] = ref{r.Type, r.ID, r.Version}
	}
	return out
}

func history(t *testing.T, s store.Reader, q store.HistoryQuery) []store.Resource {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	h, err := s.History(t.Context(), q)
	if err != nil {
		t.Fatalf("history %+v: %v", q, err)
	}
	for i := 1; i < len(h); i++ {
		if h[i].LastUpdated.After(h[i-1].LastUpdated) {
			t.Errorf("history not newest first: %s at %v after %s at %v", key(h[i]), h[i].LastUpdated, key(h[i-1]), h[i-1].LastUpdated)
		}
	}
	return h
}

func wantRefs(t *testing.T, got []store.Resource, want ...ref) {
	t.Helper()
	if g := refs(got); !slices.Equal(g, want) {
		t.Errorf("history = %v\nwant      %v", g, want)
	}
}

// historyFixture writes, a second apart:
//
//	t1 Patient/a 1, t2 Patient/b 1, t3 Observation/x 1, t4 Patient/a 2,
//	t5 Patient/b 2 (deleted), t6 Observation/x 2,
//	t7 Patient/c 1, Patient/d 1, Observation/y 1 (one transaction, one time)
func historyFixture(t *testing.T, s store.Store) (times []time.Time, writes map[ref]store.Write) {
	writes = map[ref]store.Write{}
	tm := func(i int) time.Time { return Time0.Add(time.Duration(i) * time.Second) }
	put := func(ws ...store.Write) {
		for _, w := range ws {
			writes[ref{w.Resource.Type, w.Resource.ID, w.Resource.Version}] = w
		}
		MustPut(t, s, ws...)
	}
	put(NewWrite("Patient", "a", 1, tm(1), map[string]any{"v": 1}))
	put(NewWrite("Patient", "b", 1, tm(2), nil))
	put(NewWrite("Observation", "x", 1, tm(3), nil))
	put(NewWrite("Patient", "a", 2, tm(4), map[string]any{"v": 2}))
	put(Deletion("Patient", "b", 2, tm(5)))
	put(NewWrite("Observation", "x", 2, tm(6), nil))
	put(NewWrite("Patient", "d", 1, tm(7), nil), NewWrite("Observation", "y", 1, tm(7), nil), NewWrite("Patient", "c", 1, tm(7), nil))
	for i := range 8 {
		times = append(times, tm(i))
	}
	return times, writes
}

var historyAll = []ref{
	{"Observation", "y", 1}, {"Patient", "c", 1}, {"Patient", "d", 1},
	{"Observation", "x", 2}, {"Patient", "b", 2}, {"Patient", "a", 2},
	{"Observation", "x", 1}, {"Patient", "b", 1}, {"Patient", "a", 1},
}

func testHistory(t *testing.T, s store.Store) {
	tm, writes := historyFixture(t, s)

	all := history(t, s, store.HistoryQuery{})
	wantRefs(t, all, historyAll...)
	for _, r := range all {
		CheckResource(t, &r, writes[ref{r.Type, r.ID, r.Version}])
	}
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient"}),
		ref{"Patient", "c", 1}, ref{"Patient", "d", 1}, ref{"Patient", "b", 2}, ref{"Patient", "a", 2}, ref{"Patient", "b", 1}, ref{"Patient", "a", 1})
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", ID: "a"}), ref{"Patient", "a", 2}, ref{"Patient", "a", 1})
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", ID: "b"}), ref{"Patient", "b", 2}, ref{"Patient", "b", 1})
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", ID: "nope"}))
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Encounter"}))

	// Since is inclusive.
	wantRefs(t, history(t, s, store.HistoryQuery{Since: tm[4]}), historyAll[:6]...)
	wantRefs(t, history(t, s, store.HistoryQuery{Since: tm[4].Add(time.Microsecond)}), historyAll[:5]...)
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", ID: "a", Since: tm[2]}), ref{"Patient", "a", 2})
	wantRefs(t, history(t, s, store.HistoryQuery{Since: tm[7].Add(time.Hour)}))

	// At: the version current at that time, per resource (a deletion
	// marker included); none for resources created later.
	wantRefs(t, history(t, s, store.HistoryQuery{At: tm[0]}))
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", At: tm[4].Add(time.Millisecond)}),
		ref{"Patient", "a", 2}, ref{"Patient", "b", 1})
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", At: tm[5]}),
		ref{"Patient", "b", 2}, ref{"Patient", "a", 2})
	wantRefs(t, history(t, s, store.HistoryQuery{Type: "Patient", ID: "a", At: tm[3]}), ref{"Patient", "a", 1})
	wantRefs(t, history(t, s, store.HistoryQuery{At: tm[7].Add(time.Hour)}),
		ref{"Observation", "y", 1}, ref{"Patient", "c", 1}, ref{"Patient", "d", 1},
		ref{"Observation", "x", 2}, ref{"Patient", "b", 2}, ref{"Patient", "a", 2})

	// Limit.
	wantRefs(t, history(t, s, store.HistoryQuery{Limit: 4}), historyAll[:4]...)
	del := all[4]
	if !del.Deleted || del.Method != "DELETE" || len(del.Body) != 0 {
		t.Errorf("deletion in history: deleted=%v method=%q body=%q", del.Deleted, del.Method, del.Body)
	}
}

func cursor(r store.Resource) *store.Cursor {
	return &store.Cursor{LastUpdated: r.LastUpdated, Type: r.Type, ID: r.ID, Version: r.Version}
}

// testHistoryPaging pages through history with cursors while new versions
// are written between pages: each page continues exactly where the last
// stopped, and the new versions (all newer) do not appear.
func testHistoryPaging(t *testing.T, s store.Store) {
	tm, _ := historyFixture(t, s)
	later := NewClock(tm[7].Add(time.Minute))
	for _, tc := range []struct {
		name string
		q    store.HistoryQuery
		want []ref
	}{
		{"system", store.HistoryQuery{}, historyAll},
		{"type", store.HistoryQuery{Type: "Patient"}, []ref{{"Patient", "c", 1}, {"Patient", "d", 1}, {"Patient", "b", 2}, {"Patient", "a", 2}, {"Patient", "b", 1}, {"Patient", "a", 1}}},
		{"instance", store.HistoryQuery{Type: "Patient", ID: "a"}, []ref{{"Patient", "a", 2}, {"Patient", "a", 1}}},
		{"since", store.HistoryQuery{Since: tm[3]}, historyAll[:7]},
	} {
		for _, size := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				// Earlier subtests wrote more: page through what is there
				// when paging starts.
				want := refs(history(t, s, tc.q))
				if !slices.Equal(want[len(want)-len(tc.want):], tc.want) {
					t.Fatalf("history ends %v, want %v", want, tc.want)
				}
				var got []store.Resource
				q := tc.q
				q.Limit = size
				for page := 0; ; page++ {
					if page > len(want)/size+2 {
						t.Fatal("paging does not end")
					}
					h := history(t, s, q)
					got = append(got, h...)
					if len(h) < size {
						break
					}
					q.After = cursor(h[len(h)-1])
					if page >= 3 {
						continue
					}
					// New writes between the first pages: a new resource
					// and a new version of one being paged through.
					cur := mustRead(t, s, "Patient", "a")
					MustPut(t, s,
						NewWrite("Patient", "a", cur.Version+1, later.Next(), nil),
						NewWrite("Patient", fmt.Sprintf("new-%s-%d-%d", tc.name, size, page), 1, later.Next(), nil))
				}
				wantRefs(t, got, want...)
			})
		}
	}
}

func testCount(t *testing.T, s store.Store) {
	clk := NewClock(Time0)
	if n := count(t, s, ""); n != 0 {
		t.Errorf("count of an empty store = %d", n)
	}
	if n := count(t, s, "Patient"); n != 0 {
		t.Errorf("count Patient of an empty store = %d", n)
	}
	MustPut(t, s,
		NewWrite("Patient", "a", 1, clk.Next(), nil),
		NewWrite("Patient", "b", 1, clk.Next(), nil),
		NewWrite("Observation", "o", 1, clk.Next(), nil))
	MustPut(t, s, NewWrite("Patient", "a", 2, clk.Next(), nil), NewWrite("Patient", "a", 3, clk.Next(), nil))
	for typ, want := range map[string]int64{"": 3, "Patient": 2, "Observation": 1, "Encounter": 0} {
		if n := count(t, s, typ); n != want {
			t.Errorf("count %q = %d, want %d", typ, n, want)
		}
	}
	MustPut(t, s, Deletion("Patient", "b", 2, clk.Next()))
	for typ, want := range map[string]int64{"": 2, "Patient": 1, "Observation": 1} {
		if n := count(t, s, typ); n != want {
			t.Errorf("after delete: count %q = %d, want %d", typ, n, want)
		}
	}
}

// testLargeTransaction writes 300 resources in one transaction, as a bulk
// load does.
func testLargeTransaction(t *testing.T, s store.Store) {
	const n = 300
	clk := NewClock(Time0)
	ws := make([]store.Write, n)
	for i := range ws {
		ws[i] = Observation(fmt.Sprintf("bulk%03d", i), "p1", clk.Next())
	}
	MustPut(t, s, ws...)
	if c := count(t, s, "Observation"); c != n {
		t.Errorf("count = %d, want %d", c, n)
	}
	for _, i := range []int{0, 150, n - 1} {
		CheckResource(t, mustRead(t, s, "Observation", ws[i].Resource.ID), ws[i])
	}
	ids := find(t, s, tokenCriteria("Observation", "code", store.TokenMatch{System: "http://loinc.org", Code: "8867-4"}), 2*n)
	if len(ids) != n {
		t.Errorf("found %d by code, want %d", len(ids), n)
	}
}

func testClose(t *testing.T, s store.Store) {
	if s.Dialect() == "" {
		t.Error("empty dialect")
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	MustPut(t, s, NewWrite("Patient", "a", 1, Time0, nil))
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := Put(t, s, NewWrite("Patient", "b", 1, Time0, nil)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("update after close: %v, want ErrClosed", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ping after close: %v, want ErrClosed", err)
	}
}

// IndexReader is implemented by stores that can show the index rows of a
// resource's current version (for tests).
type IndexReader interface {
	IndexOf(ctx context.Context, typ, id string) (*store.Index, error)
}

// fullIndex has rows of every kind, with more rows of one kind than one
// multi-row INSERT holds.
func fullIndex(tag string) store.Index {
	ix := store.Index{
		Tokens:       []store.Token{{Param: "code", System: "http://loinc.org", Code: "8480-6", Display: "systolic " + tag}},
		Strings:      []store.String{{Param: "name", Norm: "elodie " + tag, Exact: "Élodie " + tag}},
		Dates:        []store.Date{{Param: "date", Low: -5, High: math.MaxInt64}, {Param: "date", Low: math.MinInt64, High: 7}},
		References:   []store.Reference{{Param: "subject", Type: "Patient", ID: "p" + tag, Version: "2", URL: "http://x/Patient/p", IDSystem: "s", IDValue: "v"}},
		Quantities:   []store.Quantity{{Param: "value-quantity", Value: 1.5, Low: 1.45, High: 1.55, System: "http://unitsofmeasure.org", Code: "g", CanonValue: 1.5, CanonCode: "g"}},
		Numbers:      []store.Number{{Param: "probability", Value: 0.25, Low: 0.245, High: 0.255}},
		URIs:         []store.URI{{Param: "url", URI: "http://example.org/" + tag}},
		Composites:   []store.Composite{{Param: "code-value-quantity", C1: "http://loinc.org|8480-6", C2: "120|http://unitsofmeasure.org|mm[Hg]"}},
		Compartments: []store.Compartment{{Param: "subject", Patient: "p" + tag}},
	}
	for i := range 123 {
		ix.Tokens = append(ix.Tokens, store.Token{Param: "identifier", System: "http://a", Code: tag + strconv.Itoa(i)})
	}
	return ix
}

func testTypedIndex(t *testing.T, s store.Store) {
	ir, ok := s.(IndexReader)
	if !ok {
		t.Skip("the store does not show its index rows")
	}
	ctx := context.Background()
	clk := NewClock(Time0)
	sortIx := func(ix *store.Index) *store.Index {
		slices.SortFunc(ix.Tokens, func(a, b store.Token) int { return strings.Compare(a.Param+a.Code, b.Param+b.Code) })
		slices.SortFunc(ix.Dates, func(a, b store.Date) int { return cmpInt(a.Low, b.Low) })
		return ix
	}
	check := func(id string, want store.Index) {
		t.Helper()
		got, err := ir.IndexOf(ctx, "Observation", id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(sortIx(&want), sortIx(got), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("index rows of %s (-want +got):\n%s", id, d)
		}
	}
	w1 := NewWrite("Observation", "o1", 1, clk.Next(), nil)
	w1.Resource.PatientKey, w1.Index = "pa", fullIndex("a")
	w2 := NewWrite("Observation", "o2", 1, clk.Next(), nil)
	w2.Resource.PatientKey, w2.Index = "pb", fullIndex("b")
	MustPut(t, s, w1, w2)
	check("o1", fullIndex("a"))
	check("o2", fullIndex("b"))
	// An update replaces the rows of every kind.
	w1b := NewWrite("Observation", "o1", 2, clk.Next(), nil)
	w1b.Index = store.Index{Strings: []store.String{{Param: "name", Norm: "x", Exact: "X"}}}
	MustPut(t, s, w1b)
	check("o1", w1b.Index)
	check("o2", fullIndex("b"))
	// The identifier tokens still serve Find.
	wantIDs(t, find(t, s, tokenCriteria("Observation", "identifier", store.TokenMatch{System: "http://a", Code: "b7"}), 10), "o2")
	// A deletion removes them.
	MustPut(t, s, Deletion("Observation", "o2", 2, clk.Next()))
	check("o2", store.Index{})
	wantIDs(t, find(t, s, tokenCriteria("Observation", "identifier", store.TokenMatch{System: "http://a", Code: "b7"}), 10))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
