package mpi

import (
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

func rec(id, family, given string, dob Date, postcode, nhs string) Record {
	r := Record{ID: id, Source: "X", Family: family, Given: []string{given}, BirthDate: dob, Sex: Female,
		Postcode: postcode, AddressLine: "1 High Street"}
	if nhs != "" {
		r.Identifiers = append(r.Identifiers, Identifier{System: NHSNumberSystem, Value: nhs, NHS: true})
	}
	r.Identifiers = append(r.Identifiers, Identifier{System: "mrn", Value: "M-" + id})
	return r
}

func TestIndexMatchLinkMerge(t *testing.T) {
	x := NewIndex(nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(x.Add(rec("r1", "Hobson", "Elizabeth", Date{1980, 3, 14}, "S7 0SB", "9434765919"), "P1"))
	must(x.Add(rec("r2", "Khan", "Aisha", Date{1990, 1, 2}, "S2 4AB", ""), "P2"))
	must(x.Add(rec("r3", "Hobson", "Mary", Date{1980, 3, 14}, "S7 0SB", ""), "P3")) // a twin

	// Another source's record of P1: no NHS number, a nickname.
	in := rec("n1", "Hobson", "Liz", Date{1980, 3, 14}, "S7 0SB", "")
	got := x.Match(in)
	if len(got) == 0 || got[0].Person != "P1" || got[0].Decision != AutoLink || got[0].Grade != GradeCertain {
		t.Fatalf("Match = %+v", got)
	}
	for _, c := range got[1:] {
		if c.Person == "P3" && c.Decision != NoLink {
			t.Errorf("twin %+v", c)
		}
	}
	if c := x.Candidates(in); len(c) < 2 {
		t.Errorf("Candidates = %v", c)
	}
	must(x.Add(in, got[0].Person))
	if p, ok := x.PersonOf("n1"); !ok || p != "P1" {
		t.Errorf("PersonOf = %q, %v", p, ok)
	}
	// Re-matching a record already in the index leaves itself out.
	for _, c := range x.Match(in) {
		if c.Record == "n1" {
			t.Errorf("matched itself: %+v", c)
		}
	}
	if f := x.Find(NHSNumberSystem, "943 476 5919"); !cmp.Equal(f, []string{"r1"}) {
		t.Errorf("Find NHS = %v", f)
	}
	if f := x.Find("mrn", "M-r2"); !cmp.Equal(f, []string{"r2"}) {
		t.Errorf("Find mrn = %v", f)
	}
	if f := x.Find("mrn", "nope"); f != nil {
		t.Errorf("Find = %v", f)
	}

	// Merge P3 into P1 by mistake, then undo it.
	m, err := x.Merge("P1", "P3")
	must(err)
	if !cmp.Equal(m, Merged{Survivor: "P1", Duplicate: "P3", Records: []string{"r3"}}) {
		t.Errorf("Merge = %+v", m)
	}
	if p, _ := x.PersonOf("r3"); p != "P1" {
		t.Errorf("after merge r3 is with %q", p)
	}
	if p, _ := x.Resolve("P3"); p != "P1" {
		t.Errorf("Resolve(P3) = %q", p)
	}
	if err := x.Add(rec("r4", "A", "B", Date{}, "", ""), "P3"); fhir.KindOf(err) != fhir.Conflict {
		t.Errorf("add to merged person: %v", err)
	}
	if _, err := x.Merge("P1", "P3"); fhir.KindOf(err) != fhir.Conflict {
		t.Errorf("merge twice: %v", err)
	}
	u, err := x.Unmerge("P3")
	must(err)
	if !cmp.Equal(u.Records, []string{"r3"}) {
		t.Errorf("Unmerge = %+v", u)
	}
	if !cmp.Equal(x.Records("P1"), []string{"n1", "r1"}) || !cmp.Equal(x.Records("P3"), []string{"r3"}) {
		t.Errorf("after unmerge P1 %v P3 %v", x.Records("P1"), x.Records("P3"))
	}
	if _, err := x.Unmerge("P3"); fhir.KindOf(err) != fhir.Conflict {
		t.Errorf("unmerge twice: %v", err)
	}

	// Link moves a record; the emptied person is forgotten.
	must(x.Link("r2", "P9"))
	if _, ok := x.Resolve("P2"); ok {
		t.Errorf("empty person P2 kept")
	}
	must(x.Update(rec("r2", "Khan", "Ayesha", Date{1990, 1, 2}, "S2 4AB", "4010232137")))
	if f := x.Find(NHSNumberSystem, "4010232137"); !cmp.Equal(f, []string{"r2"}) {
		t.Errorf("Find after Update = %v", f)
	}
	must(x.Remove("r2"))
	if _, ok := x.PersonOf("r2"); ok {
		t.Error("removed record still there")
	}
	if err := x.Remove("r2"); fhir.KindOf(err) != fhir.NotFound {
		t.Errorf("Remove twice: %v", err)
	}
	if err := x.Add(rec("r1", "A", "B", Date{}, "", ""), "P1"); fhir.KindOf(err) != fhir.Conflict {
		t.Errorf("duplicate id: %v", err)
	}
	st := x.Stats()
	if st.Records != 3 || st.Persons != 2 {
		t.Errorf("Stats = %+v", st)
	}
	// Removing everything leaves nothing filed.
	for _, id := range []string{"r1", "r3", "n1"} {
		must(x.Remove(id))
	}
	if st := x.Stats(); st != (Stats{}) {
		t.Errorf("empty index Stats = %+v", st)
	}
}

// Nested merges: A into B, B into C; unmerging B takes B's own records
// and A's (which moved with B) back to B.
func TestIndexNestedMerge(t *testing.T) {
	x := NewIndex(nil)
	for i, p := range []string{"A", "B", "C"} {
		if err := x.Add(rec(fmt.Sprint("r", i), "N", "G", Date{2000, 1, 1}, "", ""), p); err != nil {
			t.Fatal(err)
		}
	}
	x.Merge("B", "A")
	x.Merge("C", "B")
	if got := x.Records("C"); len(got) != 3 {
		t.Fatalf("C has %v", got)
	}
	u, err := x.Unmerge("B")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(u.Records, []string{"r1", "r0"}) || !cmp.Equal(x.Records("B"), []string{"r0", "r1"}) {
		t.Errorf("Unmerge(B) = %+v, B has %v", u, x.Records("B"))
	}
	if _, err := x.Unmerge("A"); err != nil || !cmp.Equal(x.Records("A"), []string{"r0"}) {
		t.Errorf("Unmerge(A): %v, A has %v", err, x.Records("A"))
	}
}

// A store rebuilds the index from its rows and merge log, and Unmerge
// works after the restart.
func TestIndexLoadAndRestoreMerge(t *testing.T) {
	entries := func(yield func(Entry, error) bool) {
		for i := range 10_000 {
			r := rec(fmt.Sprint("r", i), fmt.Sprint("Fam", i%500), "Given", Date{1950 + uint16(i%60), 1 + uint8(i%12), 1 + uint8(i%28)}, "", "")
			p := fmt.Sprint("P", i/2+1)
			if i < 2 {
				p = "P0" // r1 was merged from P1 into P0
			}
			if !yield(Entry{Record: r, Person: p}, nil) {
				return
			}
		}
	}
	x := NewIndex(nil)
	if err := x.Load(iter.Seq2[Entry, error](entries)); err != nil {
		t.Fatal(err)
	}
	if err := x.RestoreMerge(Merged{Survivor: "P0", Duplicate: "P1", Records: []string{"r1"}}); err != nil {
		t.Fatal(err)
	}
	if st := x.Stats(); st.Records != 10_000 || st.Persons != 5000 {
		t.Errorf("Stats = %+v", st)
	}
	if u, err := x.Unmerge("P1"); err != nil || !cmp.Equal(u.Records, []string{"r1"}) {
		t.Errorf("Unmerge after restore = %+v, %v", u, err)
	}
	bad := func(yield func(Entry, error) bool) { yield(Entry{}, errors.New("disk on fire")) }
	if err := NewIndex(nil).Load(bad); err == nil || err.Error() != "disk on fire" {
		t.Errorf("Load error = %v", err)
	}
}

// Concurrent matching and writing (run with -race).
func TestIndexConcurrent(t *testing.T) {
	x := NewIndex(nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				r := rec(fmt.Sprint(w, "-", i), fmt.Sprint("Fam", i%20), "Jo", Date{1970, 1, 1 + uint8(i%28)}, "S1 1AA", "")
				x.Match(r)
				if err := x.Add(r, fmt.Sprint("P", w, "-", i)); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					x.Remove(r.ID)
				}
			}
		}()
	}
	wg.Wait()
}
