package audit

import (
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
