package synth_test

import (
	"context"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// BenchmarkGenerate measures output: each iteration generates 1,000
// people on two workers, and the rate is reported as resources/s.
func BenchmarkGenerate(b *testing.B) {
	for _, hl7 := range []bool{false, true} {
		b.Run(map[bool]string{false: "fhir", true: "hl7"}[hl7], func(b *testing.B) {
			const people = 1000
			g, err := synth.New(synth.Config{Seed: 1, Patients: people, HL7: hl7})
			if err != nil {
				b.Fatal(err)
			}
			g.Reference()
			var resources, messages, bytes int
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				err := g.People(context.Background(), 2, func(p synth.Person) error {
					for _, bu := range p.Bundles {
						resources += bu.Resources
						bytes += len(bu.JSON)
					}
					messages += len(p.HL7)
					for _, m := range p.HL7 {
						bytes += len(m.ER7)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			s := time.Since(start).Seconds()
			b.ReportMetric(float64(resources)/s, "resources/s")
			b.ReportMetric(float64(messages)/s, "messages/s")
			b.ReportMetric(float64(bytes)/s/1e6, "MB/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
