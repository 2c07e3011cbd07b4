package audit

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures queued appends as reads make them: the cost a
// request pays, plus the writer's commits (Flush at the end), per event.
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			l := openLog(b, be, be.where(b), Options{Key: testKey, Node: "bench"})
			ev := event(1)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Append(ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := l.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAppendSync measures appends that wait for their commit, as
// writes make them, from concurrent requests: group commit shares fsyncs.
func BenchmarkAppendSync(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			l := openLog(b, be, be.where(b), Options{Key: testKey, Node: "bench"})
			ev := event(2)
			b.SetParallelism(8) // 16 requests at once on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.AppendSync(b.Context(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAppendPatients is BenchmarkAppend with reads spread over many
// people, as in a region's log: each event names one of 100,000 Patients
// and is made by one of 2,000 users at one of 50 organisations. Keyed by
// patient, agent or organisation, an index of such a log takes each entry
// on a page of its own.
func BenchmarkAppendPatients(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			l := openLog(b, be, be.where(b), Options{Key: testKey, Node: "bench"})
			var n atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					ev := event(int(i))
					ev.Patients = []string{fmt.Sprintf("%08x-6b3d-4c9e-a7f0-2d5b8e1c3a9f", uint32(i*7919)%100000)}
					ev.Who = fmt.Sprintf("https://idp.example#user%d", (i*31)%2000)
					ev.Org = fmt.Sprintf("A%05d", (i*17)%50)
					if err := l.Append(ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if err := l.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkVerify verifies a log of 20,000 entries (five buckets of the
// patient, user and organisation index, and a tail not yet indexed), per
// entry: the hash chain, and each entry's query columns and index entries
// against its AuditEvent.
func BenchmarkVerify(b *testing.B) {
	const n = 20000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			where := be.where(b)
			o := testOptions()
			o.CheckpointEvery = 5000
			l := openLog(b, be, where, o)
			for i := range n {
				if err := l.Append(event(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				r, err := l.Verify(b.Context())
				if err != nil || !r.OK() || r.Entries != n {
					b.Fatalf("%v\n%s", err, r)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
		})
	}
}
