package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Observation builds version 1 of a heart-rate Observation of patient, about
// 1 KB of JSON, with two tokens (code and subject identifier).
func Observation(id, patient string, at time.Time) store.Write {
	fields := map[string]any{
		"status": "final",
		"category": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs",
		}}}},
		"code": map[string]any{"coding": []any{map[string]any{
			"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate",
		}}, "text": "Heart rate"},
		"subject":           map[string]any{"reference": "Patient/" + patient, "display": "Test Patient"},
		"effectiveDateTime": fhir.FormatInstant(at),
		"issued":            fhir.FormatInstant(at),
		"performer":         []any{map[string]any{"reference": "Practitioner/pr1", "display": "Dr Example"}},
		"valueQuantity": map[string]any{
			"value": json.Number("72.50"), "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min",
		},
		"interpretation": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N", "display": "Normal",
		}}}},
		"note": []any{map[string]any{"text": strings.Repeat("Resting, seated, after five minutes. ", 6)}},
	}
	w := NewWrite("Observation", id, 1, at, fields,
		Tok("code", "http://loinc.org", "8867-4"),
		Tok("subject", "", "Patient/"+patient))
	w.Resource.PatientKey = patient
	return w
}

var benchSeq atomic.Int64

func benchID(prefix string) string { return fmt.Sprintf("%s%d", prefix, benchSeq.Add(1)) }

// BenchRead measures reads by id from parallel goroutines over 1,000
// stored Observations.
func BenchRead(b *testing.B, s store.Store) {
	const n = 1000
	ids := make([]string, n)
	ws := make([]store.Write, n)
	for i := range ws {
		ids[i] = benchID("r")
		ws[i] = Observation(ids[i], "p1", fhir.Now())
	}
	for i := 0; i < n; i += 250 {
		MustPut(b, s, ws[i:i+250]...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Read(b.Context(), "Observation", ids[rand.IntN(n)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchCreateParallel measures creates from parallel goroutines: each
// operation is one Update with one Put of a 1 KB Observation with two
// tokens. It shows what group commit (SQLite) or concurrent commits
// (PostgreSQL) achieve. It runs 8 goroutines per GOMAXPROCS, as a server
// with many requests in flight would.
func BenchCreateParallel(b *testing.B, s store.Store) {
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := Put(b, s, Observation(benchID("c"), "p1", fhir.Now())); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchBulk measures a bulk load: each operation is one Update with 300
// Puts of 1 KB Observations. It reports resources per second.
func BenchBulk(b *testing.B, s store.Store) {
	const n = 300
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer() // building the resources is not the store's work
		ws := make([]store.Write, n)
		at := fhir.Now()
		for i := range ws {
			ws[i] = Observation(benchID("b"), "p1", at)
		}
		b.StartTimer()
		MustPut(b, s, ws...)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "resources/s")
}
