package bulk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/synth"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// BenchmarkImport loads the generator's population (its reference bundle
// and SHAREDCARE_BULK_BENCH_PEOPLE people, default 200: about 22,000
// resources) into a new store per iteration, two ways, on each store:
//
//   - import: the population as NDJSON, one resource a line, through
//     bulk.Import (staging on every core, one writer, the store's bulk
//     path), SHAREDCARE_BULK_BENCH_BATCH resources per transaction;
//   - bundles: the same resources as the generator's transaction Bundles
//     (one organisation's record of one person each, every entry a PUT),
//     posted to record.Service.Bundle from 2×GOMAXPROCS clients: the
//     path `sharedcare bench --workloads ingest` measures over HTTP.
//
// Both validate against R4 and index every search parameter. Reports
// resources/s. Run it as
//
//	go test ./internal/bulk -run XXX -bench Import -benchtime 1x -count 5
func BenchmarkImport(b *testing.B) {
	people := envInt(b, "SHAREDCARE_BULK_BENCH_PEOPLE", 200)
	batch := envInt(b, "SHAREDCARE_BULK_BENCH_BATCH", 0)
	pop := population(b, people)
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), postgres.TestURL(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, sc := range stores {
		b.Run(sc.name+"/import", func(b *testing.B) {
			runLoads(b, sc.open, pop.resources, func(svc *record.Service) time.Duration {
				in := bulk.Input{Name: "population.ndjson", Open: func(context.Context) (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(pop.ndjson)), nil
				}}
				res, err := bulk.Import(context.Background(), svc, []bulk.Input{in}, bulk.ImportOptions{Batch: batch})
				if err != nil {
					b.Fatal(err)
				}
				if res.Rejected() > 0 || res.Loaded() != int64(pop.resources) {
					b.Fatalf("loaded %d, rejected %d (%v), want %d loaded", res.Loaded(), res.Rejected(), res.Inputs[0].Rejects, pop.resources)
				}
				return res.Writing
			})
		})
		b.Run(sc.name+"/bundles", func(b *testing.B) {
			runLoads(b, sc.open, pop.resources, func(svc *record.Service) time.Duration {
				postAll(b, svc, pop.bundles)
				return 0
			})
		})
	}
}

// runLoads runs load b.N times, each on a new store, and reports
// resources/s over the loads alone.
func runLoads(b *testing.B, open func(*testing.B) store.Store, resources int, load func(*record.Service) time.Duration) {
	var elapsed, cpu, writing time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		st := open(b)
		svc := record.New(st, validate.Resource, fhirdef.IsResourceType)
		wait, err := svc.StartReindex(context.Background(), record.ReindexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		wait()
		runtime.GC()
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		writing += load(svc)
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		b.StopTimer()
		st.Close()
	}
	b.ReportMetric(float64(resources*b.N)/elapsed.Seconds(), "resources/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(resources*b.N), "cpu-µs/resource")
	if writing > 0 {
		b.ReportMetric(float64(writing.Microseconds())/float64(resources*b.N), "writer-µs/resource")
	}
	b.ReportMetric(0, "ns/op")
}

// postAll posts bundles (the first alone, then the rest from
// 2×GOMAXPROCS clients) to the record service.
func postAll(b *testing.B, svc *record.Service, bundles [][]byte) {
	post := func(data []byte) {
		if _, err := svc.Bundle(context.Background(), data, "http://localhost/fhir"); err != nil {
			b.Error(err)
		}
	}
	post(bundles[0])
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i >= len(bundles) {
					return
				}
				post(bundles[i])
			}
		}()
	}
	wg.Wait()
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type pop struct {
	ndjson    []byte   // every resource, one a line
	bundles   [][]byte // the reference bundle, then people's
	resources int
}

// population generates the reference bundle and people's bundles, and the
// same resources as NDJSON.
func population(b testing.TB, people int) *pop {
	g, err := synth.New(synth.Config{Seed: 1, Patients: people})
	if err != nil {
		b.Fatal(err)
	}
	p := &pop{bundles: [][]byte{g.Reference()}}
	if err := g.People(context.Background(), runtime.GOMAXPROCS(0), func(pp synth.Person) error {
		for _, bd := range pp.Bundles {
			p.bundles = append(p.bundles, bd.JSON)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for _, bd := range p.bundles {
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(bd, &bundle); err != nil {
			b.Fatal(err)
		}
		for _, e := range bundle.Entry {
			if err := json.Compact(&buf, e.Resource); err != nil {
				b.Fatal(err)
			}
			buf.WriteByte('\n')
			p.resources++
		}
	}
	p.ndjson = buf.Bytes()
	return p
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}
