package hl7fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// checkValid fails unless bundle is a Bundle the server's validator
// accepts, every entry included.
func checkValid(t testing.TB, name string, bundle []byte) {
	t.Helper()
	if !json.Valid(bundle) {
		t.Fatalf("%s: invalid JSON: %s", name, bundle)
	}
	m, err := fhir.DecodeResource(bundle)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, is := range validate.Resource(m) {
		if is.Severity != "warning" && is.Severity != "information" {
			t.Fatalf("%s: %s at %v\n%s", name, is.Diagnostics, is.Expression, bundle)
		}
	}
}

func TestGoldenValidate(t *testing.T) {
	for _, c := range goldenCases(t) {
		if c.err == nil && c.res.Bundle != nil {
			checkValid(t, c.name, c.res.Bundle)
		}
	}
}

func FuzzMap(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	if data, err := os.ReadFile(simhospitalFile); err == nil {
		for _, m := range hl7v2.SplitMessages(data)[:4] {
			f.Add(m)
		}
	}
	mp := New(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := hl7v2.Parse(data)
		if err != nil {
			return
		}
		r, err := mp.Map(m)
		if err != nil {
			var e *hl7v2.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *hl7v2.Error", err)
			}
			return
		}
		if r.Bundle != nil {
			checkValid(t, "fuzz", r.Bundle)
		}
	})
}

func BenchmarkMap(b *testing.B) {
	_, people := synthPeople(b, 10)
	byType := map[string][]byte{}
	for _, p := range people {
		for _, sm := range p.HL7 {
			if _, ok := byType[sm.Type]; !ok {
				byType[sm.Type] = sm.ER7
			}
		}
	}
	mp := New(synthOptions)
	for _, typ := range []string{"ADT^A01", "ADT^A03", "ORU^R01", "MDM^T02"} {
		raw := byType[typ]
		if raw == nil {
			b.Fatalf("no %s", typ)
		}
		b.Run(typ, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				m, err := hl7v2.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := mp.Map(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
