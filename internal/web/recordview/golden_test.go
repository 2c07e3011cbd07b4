package recordview

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/synth"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var synthNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

var (
	genOnce sync.Once
	gen     *synth.Generator
	genRef  map[string]json.RawMessage
)

func generator(t testing.TB) (*synth.Generator, map[string]json.RawMessage) {
	genOnce.Do(func() {
		g, err := synth.New(synth.Config{Seed: 1, Patients: 1000, Now: synthNow})
		if err != nil {
			t.Fatal(err)
		}
		gen, genRef = g, referenceIndex(t, g)
	})
	return gen, genRef
}

// TestGolden builds the view of a few generated people and compares its
// JSON with testdata; go test -update rewrites it.
func TestGolden(t *testing.T) {
	g, ref := generator(t)
	// 940 has the most resources of the first thousand; the others are
	// the first people, whoever they are.
	for _, i := range []int{0, 7, 14, 940} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			rs, pid := synthPerson(t, g, ref, i)
			rec, err := Build(rs, pid, synthNow)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Skipped != 0 {
				t.Errorf("skipped %d generated resources: the decoder does not fit what synth writes", rec.Skipped)
			}
			got, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", fmt.Sprintf("person-%d.golden.json", i))
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the view built now; run go test -update and review the diff", path)
			}
		})
	}
}

// benchPerson is about 2,000 resources: several generated people's
// records re-pointed at one Patient, as a long and busy record would be.
func benchPerson(b testing.TB) ([]json.RawMessage, string) {
	g, ref := generator(b)
	var all []json.RawMessage
	pid := ""
	for i := 940; len(all) < 2000; i = (i + 1) % 1000 {
		rs, id := synthPerson(b, g, ref, i)
		if pid == "" {
			pid = id
		}
		all = append(all, rs...)
	}
	return all[:2000], pid
}

func BenchmarkBuild(b *testing.B) {
	rs, pid := benchPerson(b)
	n := 0
	for _, r := range rs {
		n += len(r)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Build(rs, pid, synthNow); err != nil {
			b.Fatal(err)
		}
	}
}
