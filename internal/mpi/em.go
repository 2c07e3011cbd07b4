package mpi

import "math"

// EstimateMU estimates the m and u probabilities of every field outcome
// from unlabelled compared pairs by expectation maximisation (Winkler
// 1988; Jaro 1989): the pairs are taken as a mixture of matches and
// non-matches in which each field's level is independent of the others
// within a class. start seeds the estimate (its MU, normalised per field
// over the levels present) and provides the values of levels never seen.
// It returns the estimated table and the share of pairs that are
// matches.
//
// The pairs should be what blocking produces (every record against its
// candidates), which holds enough matches for the two classes to
// separate. Two cautions. Non-matches within blocks agree far more often
// than random pairs (they were chosen for sharing a key), so the u
// values are those of blocked pairs: take u from random pairs (where
// nearly all are non-matches, u is simply each level's frequency) or
// from name frequencies, and m from here. And the estimates are
// distributions over a field's levels given that it is present, while
// DefaultModel's values for precision-dependent levels (an initial) are
// conditional on that precision: read the result as a check on the table
// rather than a drop-in replacement.
func EstimateMU(pairs []Score, start *Model, iterations int) (mu [NumFields][NumLevels]MU, matchShare float64) {
	// Seed: each field's m and u normalised over its levels.
	var m, u [NumFields][NumLevels]float64
	for f := range start.MU {
		var sm, su float64
		for l := Level(1); l < NumLevels; l++ {
			sm += start.MU[f][l].M
			su += start.MU[f][l].U
		}
		for l := Level(1); l < NumLevels; l++ {
			if sm > 0 && su > 0 {
				m[f][l], u[f][l] = start.MU[f][l].M/sm, start.MU[f][l].U/su
			}
		}
	}
	lambda := 0.1
	const eps = 1e-9
	g := make([]float64, len(pairs))
	for it := 0; it < iterations; it++ {
		// E: the probability that each pair is a match.
		for i := range pairs {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for f, o := range pairs[i].Fields {
				if o.Level == Missing {
					continue
				}
				lm += math.Log(m[f][o.Level] + eps)
				lu += math.Log(u[f][o.Level] + eps)
			}
			g[i] = 1 / (1 + math.Exp(lu-lm))
		}
		// M: re-estimate the share and the distributions.
		var sumG float64
		var cm, cu [NumFields][NumLevels]float64
		for i := range pairs {
			sumG += g[i]
			for f, o := range pairs[i].Fields {
				if o.Level != Missing {
					cm[f][o.Level] += g[i]
					cu[f][o.Level] += 1 - g[i]
				}
			}
		}
		lambda = min(max(sumG/float64(len(pairs)), 1e-6), 1-1e-6)
		for f := range cm {
			var tm, tu float64
			for l := range cm[f] {
				tm += cm[f][l]
				tu += cu[f][l]
			}
			for l := Level(1); l < NumLevels; l++ {
				if tm > 0 {
					m[f][l] = cm[f][l] / tm
				}
				if tu > 0 {
					u[f][l] = cu[f][l] / tu
				}
			}
		}
	}
	for f := range mu {
		for l := Level(1); l < NumLevels; l++ {
			mu[f][l] = start.MU[f][l]
			if m[f][l] > 0 && u[f][l] > 0 && start.MU[f][l].M > 0 {
				mu[f][l] = MU{M: m[f][l], U: u[f][l]}
			}
		}
	}
	return mu, lambda
}
