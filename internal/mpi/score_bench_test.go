package mpi

import "testing"

// BenchmarkScorePrepared is the comparison alone, on prepared records,
// as the Index runs it for each candidate.
func BenchmarkScorePrepared(b *testing.B) {
	x, y := base(), base()
	y.Given = []string{"Bob"}
	y.Family = "Stanniforth"
	y.Identifiers = y.Identifiers[1:]
	fx, fy := prepare(&x, nil), prepare(&y, nil)
	m := DefaultModel()
	b.ReportAllocs()
	for b.Loop() {
		m.score(&fx, &fy, nil)
	}
}
