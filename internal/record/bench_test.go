package record_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/synth"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// The benchmarks behind docs/PERFORMANCE.md. Each runs against both stores:
//
//	go test -run XXX -bench . -benchtime 5s -count 6 ./internal/record/ | tee new.txt
//	benchstat new.txt

// benchStores runs f on each store, under each index scope: all (every
// search parameter, the default) and conditional (identifiers and
// compartments, for bulk loads).
func benchStores(b *testing.B, f func(b *testing.B, svc *record.Service)) {
	for _, sc := range []struct {
		name  string
		scope index.Scope
	}{{"all", index.All}, {"conditional", index.Conditional}} {
		b.Run("sqlite/"+sc.name, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
			svc.IndexScope = sc.scope
			f(b, svc)
		})
		b.Run("postgres/"+sc.name, func(b *testing.B) {
			st, err := postgres.Open(context.Background(), postgres.TestURL(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
			svc.IndexScope = sc.scope
			f(b, svc)
		})
	}
}

const benchObservation = `{"resourceType":"Observation","status":"final",
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
 "identifier":[{"system":"https://example.nhs.uk/obs","value":"%d"}],
 "subject":{"reference":"Patient/6f1f8f8e-6a51-4a4e-9f0b-0d6b1f0d2a11"},
 "effectiveDateTime":"2024-03-01T10:00:00Z","valueQuantity":{"value":72.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`

// BenchmarkCreateConcurrent: single-resource creates from 64 concurrent
// clients; group commit is what makes this more than one fsync per create.
func BenchmarkCreateConcurrent(b *testing.B) {
	benchStores(b, func(b *testing.B, svc *record.Service) {
		var n atomic.Int64
		b.SetParallelism(32) // 32 × GOMAXPROCS goroutines
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				body := fmt.Sprintf(benchObservation, n.Add(1))
				if _, err := svc.Create(context.Background(), "Observation", []byte(body), ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
}

// BenchmarkReadByID: read by id in-process, from all cores.
func BenchmarkReadByID(b *testing.B) {
	benchStores(b, func(b *testing.B, svc *record.Service) {
		const n = 2000
		ids := make([]string, n)
		for i := range ids {
			r, err := svc.Create(context.Background(), "Observation", []byte(fmt.Sprintf(benchObservation, i)), "")
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = r.Resource.ID
		}
		var k atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids[int(k.Add(1))%n]
				if _, err := svc.Read(context.Background(), "Observation", id); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}

// syntheaBundles reads up to max bundles from a Synthea set.
func syntheaBundles(b *testing.B, set string, max int) [][]byte {
	path := filepath.Join("..", "..", "..", "shared", "conformance", "synthea", set)
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("Synthea data not available (%v)", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out [][]byte
	for len(out) < max {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// BenchmarkSyntheaTransaction: Synthea transaction Bundles (~300 entries
// each) posted by 4 concurrent clients; reports resources stored per second.
func BenchmarkSyntheaTransaction(b *testing.B) {
	bundles := syntheaBundles(b, "gsd-r4.tar.gz", 40)
	benchStores(b, func(b *testing.B, svc *record.Service) {
		postBundles(b, svc, bundles)
	})
}

// postBundles posts bundles round-robin from 2×GOMAXPROCS clients for
// b.N bundles and reports resources stored per second.
func postBundles(b *testing.B, svc *record.Service, bundles [][]byte) {
	var resources atomic.Int64
	var k atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			data := bundles[int(k.Add(1))%len(bundles)]
			res, err := svc.Bundle(context.Background(), data, "http://localhost/fhir")
			if err != nil {
				b.Error(err)
				return
			}
			resources.Add(int64(len(res.Entries)))
		}
	})
	b.ReportMetric(float64(resources.Load())/b.Elapsed().Seconds(), "resources/s")
}

var _ store.Store = (*sqlite.Store)(nil)

// BenchmarkSynthTransaction: the generator's bundles (one organisation's
// record of one person each, ~25 entries, every entry a PUT), posted by 4
// concurrent clients after its reference bundle; reports resources/s.
func BenchmarkSynthTransaction(b *testing.B) {
	g, err := synth.New(synth.Config{Seed: 1, Patients: 2000})
	if err != nil {
		b.Fatal(err)
	}
	var bundles [][]byte
	if err := g.People(context.Background(), 2, func(p synth.Person) error {
		for _, bd := range p.Bundles {
			bundles = append(bundles, bd.JSON)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	benchStores(b, func(b *testing.B, svc *record.Service) {
		if _, err := svc.Bundle(context.Background(), g.Reference(), "http://localhost/fhir"); err != nil {
			b.Fatal(err)
		}
		postBundles(b, svc, bundles)
	})
}
