package mpi_test

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/mpi/mpitest"
)

// evaluation is what matching a population's records against an index
// of their GP records gave.
type evaluation struct {
	queries, inIndex        int
	autoRight, autoWrong    int // auto-linked to the true person / someone else
	reviewHit, reviewMiss   int // sent to review with / without the true person among the candidates
	noLinkNew, noLinkMissed int // no link for a person not in the index / in it
	trapAuto                map[mpitest.Kind]int
	missed                  map[string]int // corruptions of true matches not auto-linked
	wrong                   []string
	newAuto                 int // newcomers auto-linked to someone
}

func (e *evaluation) autoPrecision() float64 { return ratio(e.autoRight, e.autoRight+e.autoWrong) }
func (e *evaluation) autoRecall() float64    { return ratio(e.autoRight, e.inIndex) }
func (e *evaluation) anyPrecision() float64 {
	return ratio(e.autoRight+e.reviewHit, e.autoRight+e.autoWrong+e.reviewHit+e.reviewMiss)
}
func (e *evaluation) anyRecall() float64 { return ratio(e.autoRight+e.reviewHit, e.inIndex) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// evaluate builds an index of the GP records of nine people in ten (the
// tenth are newcomers, as is one of each trap pair half the time), then
// matches every other record.
func evaluate(t testing.TB, people int, seed uint64) *evaluation {
	pop := mpitest.New(mpitest.Config{Seed: seed, People: people})
	indexed := func(i int) bool {
		p := &pop.People[i]
		if p.Sibling >= 0 && i > p.Sibling {
			return i%2 == 0 // the second of a trap pair: a newcomer half the time
		}
		return i%10 != 3
	}
	x := mpi.NewIndex(nil)
	var queries []mpitest.Source
	for i := range pop.People {
		src := pop.Sources(i)
		if indexed(i) {
			if err := x.Add(src[0].Record, pop.People[i].ID); err != nil {
				t.Fatal(err)
			}
		} else {
			queries = append(queries, src[0])
		}
		queries = append(queries, src[1:]...)
	}
	e := &evaluation{trapAuto: map[mpitest.Kind]int{}, missed: map[string]int{}}
	for _, q := range queries {
		e.queries++
		truth := &pop.People[q.Person]
		in := indexed(q.Person)
		if in {
			e.inIndex++
		}
		cands := x.Match(q.Record)
		best, d := mpi.Choose(cands)
		switch d {
		case mpi.AutoLink:
			if best.Person == truth.ID {
				e.autoRight++
				continue
			}
			e.autoWrong++
			if !in {
				e.newAuto++
			}
			if truth.Sibling >= 0 && best.Person == pop.People[truth.Sibling].ID {
				e.trapAuto[truth.Kind]++
			}
			if len(e.wrong) < 10 {
				e.wrong = append(e.wrong, fmt.Sprintf("%s (%s, %v) linked to %s: %v", q.Record.ID, truth.Kind, q.Changes, best.Person, best.Score))
			}
		case mpi.Review:
			if slices.ContainsFunc(cands, func(c mpi.Candidate) bool { return c.Person == truth.ID }) {
				e.reviewHit++
			} else {
				e.reviewMiss++
			}
		default:
			if in {
				e.noLinkMissed++
			} else {
				e.noLinkNew++
			}
		}
		if in {
			key := strings.Join(q.Changes, "+")
			if key == "" {
				key = "(none)"
			}
			e.missed[key]++
		}
	}
	return e
}

func (e *evaluation) log(t testing.TB) {
	t.Logf("%d queries, %d of people in the index", e.queries, e.inIndex)
	t.Logf("auto-link: %d right, %d wrong (%d of them newcomers); precision %.4f, recall %.4f",
		e.autoRight, e.autoWrong, e.newAuto, e.autoPrecision(), e.autoRecall())
	t.Logf("review: %d with the true person, %d without; auto-link+review precision %.4f, recall %.4f",
		e.reviewHit, e.reviewMiss, e.anyPrecision(), e.anyRecall())
	t.Logf("no link: %d newcomers right, %d people in the index missed", e.noLinkNew, e.noLinkMissed)
	t.Logf("trap pairs auto-linked to the sibling: %v", e.trapAuto)
	keys := slices.Collect(maps.Keys(e.missed))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(e.missed[b], e.missed[a]) })
	for _, k := range keys[:min(12, len(keys))] {
		t.Logf("  not auto-linked: %4d  %s", e.missed[k], k)
	}
	for _, w := range e.wrong {
		t.Logf("  wrong: %s", w)
	}
}

// TestEvaluation measures precision and recall on a generated population
// and holds them to floors set a little under what was measured
// (docs/MPI.md has the figures).
func TestEvaluation(t *testing.T) {
	people := 20_000
	if testing.Short() {
		people = 4_000
	}
	e := evaluate(t, people, 1)
	e.log(t)
	if p := e.autoPrecision(); p < 0.999 {
		t.Errorf("auto-link precision %.4f < 0.999", p)
	}
	if r := e.autoRecall(); r < 0.92 {
		t.Errorf("auto-link recall %.4f < 0.92", r)
	}
	if r := e.anyRecall(); r < 0.995 {
		t.Errorf("auto-link+review recall %.4f < 0.995", r)
	}
	if p := e.anyPrecision(); p < 0.99 {
		t.Errorf("auto-link+review precision %.4f < 0.99", p)
	}
	for k, n := range e.trapAuto {
		t.Errorf("%d %s records auto-linked to their sibling", n, k)
	}
}
