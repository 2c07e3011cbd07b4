package mpi_test

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/mpi/mpitest"
)

// EM on the candidate pairs of a generated population finds weights of
// the right sign and order, starting from a flattened table.
func TestEstimateMU(t *testing.T) {
	pop := mpitest.New(mpitest.Config{Seed: 5, People: 3000})
	x := mpi.NewIndex(nil)
	byID := map[string]mpi.Record{}
	var queries []mpi.Record
	for i := range pop.People {
		src := pop.Sources(i)
		if err := x.Add(src[0].Record, pop.People[i].ID); err != nil {
			t.Fatal(err)
		}
		byID[src[0].Record.ID] = src[0].Record
		for _, s := range src[1:] {
			queries = append(queries, s.Record)
		}
	}
	m := mpi.DefaultModel()
	var pairs []mpi.Score
	for _, q := range queries {
		for _, id := range x.Candidates(q) {
			pairs = append(pairs, m.Score(q, byID[id]))
		}
	}
	// Start from a table that knows only which way each level points.
	flat := mpi.DefaultModel()
	for f := range flat.MU {
		for l := range flat.MU[f] {
			if p := flat.MU[f][l]; p.M > 0 {
				if p.M > p.U {
					flat.MU[f][l] = mpi.MU{M: 0.5, U: 0.1}
				} else {
					flat.MU[f][l] = mpi.MU{M: 0.1, U: 0.5}
				}
			}
		}
	}
	mu, share := mpi.EstimateMU(pairs, flat, 30)
	t.Logf("%d pairs, estimated match share %.3f (true: %.3f)", len(pairs), share, float64(len(queries))/float64(len(pairs)))
	// Within blocks, non-matches agree far more often than at random
	// (they were picked for sharing a key), so u is only meaningful for
	// blocked pairs; m is what EM recovers well.
	for _, c := range []struct {
		f  mpi.Field
		l  mpi.Level
		lo float64
	}{
		{mpi.FieldNHS, mpi.Exact, 0.6},
		{mpi.FieldBirthDate, mpi.Exact, 0.85},
		{mpi.FieldGiven, mpi.Exact, 0.7},
		{mpi.FieldFamily, mpi.Exact, 0.7},
	} {
		p := mu[c.f][c.l]
		t.Logf("%s %s: m %.4f u %.6f weight %+.1f", c.f, c.l, p.M, p.U, p.Weight())
		if p.M < c.lo || p.Weight() <= 0 {
			t.Errorf("%s %s m %.4f < %v or weight %+.1f not positive", c.f, c.l, p.M, c.lo, p.Weight())
		}
	}
	for _, f := range []mpi.Field{mpi.FieldGiven, mpi.FieldBirthDate, mpi.FieldFamily} {
		if w := mu[f][mpi.Disagree].Weight(); w >= 0 {
			t.Errorf("%s disagree weighs %+.1f", f, w)
		}
	}
	truth := float64(len(queries)) / float64(len(pairs))
	if share < truth-0.05 || share > truth+0.05 {
		t.Errorf("match share %.3f, truth %.3f", share, truth)
	}
}
