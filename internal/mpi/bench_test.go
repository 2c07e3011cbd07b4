package mpi_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/mpi/mpitest"
)

// The million-person index is built once per test binary, and only when
// a benchmark asks for it (benchmarks run only under -bench).
var million struct {
	once    sync.Once
	pop     *mpitest.Population
	x       *mpi.Index
	queries []mpitest.Source
	bytes   float64 // heap held by the index, per record
	build   time.Duration
}

func millionIndex(b *testing.B) {
	million.once.Do(func() {
		const n = 1_000_000
		pop := mpitest.New(mpitest.Config{Seed: 42, People: n})
		// Queries: other organisations' records of people in the index.
		for i := 0; i < n; i += n / 2000 {
			million.queries = append(million.queries, pop.Sources(i)[1:]...)
		}
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		before := heap()
		start := time.Now()
		x := mpi.NewIndex(nil)
		err := x.Load(func(yield func(mpi.Entry, error) bool) {
			for i := range pop.People {
				if !yield(mpi.Entry{Record: pop.Registered(i), Person: pop.People[i].ID}, nil) {
					return
				}
			}
		})
		if err != nil {
			panic(err)
		}
		million.build = time.Since(start)
		after := heap()
		million.pop, million.x = pop, x
		million.bytes = float64(after-before) / float64(x.Stats().Records)
	})
	st := million.x.Stats()
	b.Logf("index of %d records, %d persons, %d keys, %d postings: built in %v, %.0f bytes of heap per record",
		st.Records, st.Persons, st.Keys, st.Postings, million.build.Round(time.Millisecond), million.bytes)
}

// BenchmarkMatch1M matches one incoming record (another organisation's,
// corrupted) against an index of 1,000,000 people.
func BenchmarkMatch1M(b *testing.B) {
	millionIndex(b)
	x, q := million.x, million.queries
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x.Match(q[i%len(q)].Record)
	}
	b.ReportMetric(million.bytes, "heapB/record")
}

// BenchmarkCandidates1M is candidate generation alone, reporting how
// many records a query scores.
func BenchmarkCandidates1M(b *testing.B) {
	millionIndex(b)
	x, q := million.x, million.queries
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(x.Candidates(q[i%len(q)].Record))
	}
	b.ReportMetric(float64(n)/float64(b.N), "candidates/op")
}

// BenchmarkMatch1MParallel is the same on every core.
func BenchmarkMatch1MParallel(b *testing.B) {
	millionIndex(b)
	x, q := million.x, million.queries
	b.ReportAllocs()
	b.ResetTimer()
	var mu sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		i := next
		next += 7919
		mu.Unlock()
		for pb.Next() {
			x.Match(q[i%len(q)].Record)
			i++
		}
	})
}

// BenchmarkScore compares two records from scratch (normalising both),
// as Model.Score does for a caller without an index.
func BenchmarkScore(b *testing.B) {
	pop := mpitest.New(mpitest.Config{Seed: 1, People: 100})
	var pairs [][2]mpi.Record
	for i := range pop.People {
		src := pop.Sources(i)
		pairs = append(pairs, [2]mpi.Record{src[0].Record, src[1].Record})
	}
	m := mpi.DefaultModel()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := &pairs[i%len(pairs)]
		m.Score(p[0], p[1])
	}
}

func ExampleIndex_Match() {
	x := mpi.NewIndex(nil)
	gp := mpi.Record{ID: "gp-1", Source: "C88922", Family: "Staniforth", Given: []string{"Robert"},
		BirthDate: mpi.Date{Year: 1953, Month: 6, Day: 4}, Sex: mpi.Male, Postcode: "S7 0SB", AddressLine: "129 Moor Lane"}
	if err := x.Add(gp, "person-1"); err != nil {
		panic(err)
	}
	// The hospital's record: a nickname, the address in capitals, no NHS number.
	in := mpi.Record{ID: "rhq-9", Source: "RHQ", Family: "STANIFORTH", Given: []string{"Bob"},
		BirthDate: mpi.Date{Year: 1953, Month: 6, Day: 4}, Sex: mpi.Male, Postcode: "s70sb", AddressLine: "129 MOOR LN"}
	best, d := mpi.Choose(x.Match(in))
	fmt.Println(best.Person, d, best.Grade)
	for _, r := range best.Score.Reasons() {
		fmt.Println(r)
	}
	// Output:
	// person-1 auto-link certain
	// family name: exact (+8.8)
	// given name: nickname (+4.3)
	// birth date: exact (+14.5)
	// sex: exact (+1.0)
	// address: exact (+14.1)
}
