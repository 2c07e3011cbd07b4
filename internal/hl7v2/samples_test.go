package hl7v2

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// simhospitalFile holds 45 real messages from google/simhospital, kept
// outside the repository (see ../shared/conformance/README.md).
var simhospitalFile = filepath.Join("..", "..", "..", "shared", "conformance", "hl7v2", "simhospital-sample.hl7")

// simhospital returns the sample's messages, skipping the test when the
// conformance folder is absent.
func simhospital(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(simhospitalFile)
	if err != nil {
		tb.Skipf("simhospital sample not found at %s (see ../shared/conformance/README.md): %v", simhospitalFile, err)
	}
	return SplitMessages(data)
}

// synthMessages returns the generator's HL7 v2.4 messages for n people.
func synthMessages(tb testing.TB, n int) []synth.Message {
	tb.Helper()
	g, err := synth.New(synth.Config{Seed: 7, Patients: max(n, synth.MinPatients), HL7: true})
	if err != nil {
		tb.Fatal(err)
	}
	var out []synth.Message
	for i := 0; i < n; i++ {
		out = append(out, g.Person(i).HL7...)
	}
	return out
}

func TestSimhospitalSample(t *testing.T) {
	msgs := simhospital(t)
	if len(msgs) != 45 {
		t.Fatalf("%d messages, want 45", len(msgs))
	}
	types := map[string]int{}
	for i, raw := range msgs {
		m, err := Parse(raw)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		types[m.Type().String()]++
		if m.Version() != "2.3" || m.SendingFacility().String() != "SFAC" || m.ControlID() == "" {
			t.Errorf("message %d: version %q facility %q control %q", i, m.Version(), m.SendingFacility(), m.ControlID())
		}
		if _, err := m.Time(); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
		// The NHS number is the second repetition of PID-3.
		if m.Get("PID-3(2)-4") != "NHSNBR" || len(m.Get("PID-3(2)-1")) != 10 {
			t.Errorf("message %d: PID-3 %q", i, m.Segment("PID").Field(3).Raw())
		}
		roundTrip(t, m)
	}
	if diff := cmp.Diff(map[string]int{"ADT^A01": 20, "ORU^R01": 25}, types); diff != "" {
		t.Errorf("types: %s", diff)
	}
	// Spot checks on the first two messages.
	m, _ := Parse(msgs[0])
	checks := map[string]string{
		"PID-5":      "Raja",
		"PID-5-2":    "Georgina",
		"PID-11-5":   "JG94 3CT",
		"PV1-3-4":    "Simulated Hospital",
		"PV1-7-2":    "Litherland",
		"PV1-19":     "5862877622695749197",
		"PV1-44":     "20261122041343",
		"PD1-3-3":    "12345",
		"EVN-5-13":   "ORGDR",
		"MSH-18":     "ASCII",
		"PV2-1":      "",
		"PID-22-2":   "White - British",
		"PID-3(1)-5": "MRN",
	}
	for p, want := range checks {
		if got := m.Get(p); got != want {
			t.Errorf("message 1 %s = %q, want %q", p, got, want)
		}
	}
	m, _ = Parse(msgs[1])
	orders := m.Groups("OBR", "ORC", "PID")
	if len(orders) != 1 || len(orders[0].Groups("OBX")) != 4 {
		t.Fatalf("ORU groups: %d", len(orders))
	}
	if notes := orders[0].Groups("OBX")[1].All("NTE"); len(notes) != 2 {
		t.Errorf("second OBX has %d notes", len(notes))
	}
}

func TestSynthMessages(t *testing.T) {
	msgs := synthMessages(t, 40)
	if len(msgs) < 100 {
		t.Fatalf("only %d messages", len(msgs))
	}
	for i, sm := range msgs {
		m, err := Parse(sm.ER7)
		if err != nil {
			t.Fatalf("message %d (%s): %v", i, sm.Type, err)
		}
		typ := m.Type()
		if typ.Code+"^"+typ.Trigger != sm.Type || m.SendingFacility().String() != sm.Source || m.Version() != "2.4" {
			t.Errorf("message %d: %s from %s, want %s from %s", i, typ, m.SendingFacility(), sm.Type, sm.Source)
		}
		if !bytes.Equal(m.Encode(), sm.ER7) {
			t.Errorf("message %d: Encode differs from the input", i)
		}
		roundTrip(t, m)
	}
}

// roundTrip checks that Encode gives what Parse reads back alike.
func roundTrip(t testing.TB, m *Message) {
	t.Helper()
	again, err := Parse(m.Encode())
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	if diff := cmp.Diff(segmentsOf(m), segmentsOf(again)); diff != "" {
		t.Fatalf("round trip: %s", diff)
	}
	if again.Delims != m.Delims {
		t.Fatalf("round trip delimiters %+v, %+v", m.Delims, again.Delims)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(adt))
	f.Add([]byte("MSH|^~\\&#|A\rNTE|1||\\P\\\\X41\\\\.sp 3\\"))
	f.Add([]byte("MSH#$*!@#A\rPID#1##A$B*C$D@E"))
	f.Add([]byte("MSH|^|A\n\nPID|1||X~Y\r\n"))
	if data, err := os.ReadFile(simhospitalFile); err == nil {
		for _, m := range SplitMessages(data)[:6] {
			f.Add(m)
		}
	}
	for _, m := range synthMessages(f, 2)[:8] {
		f.Add(m.ER7)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		// Every accessor must answer without panicking.
		for _, p := range []string{"MSH-9-2", "PID-3(2)-4-2", "OBX(2)-5", "MSH-1", "MSH-2"} {
			_ = m.Get(p)
		}
		for i := range m.Segments {
			s := &m.Segments[i]
			for n := 0; n <= s.NumFields()+1; n++ {
				for _, r := range s.Field(n).Reps() {
					_ = r.Text()
					for c := 1; c <= r.NumComps(); c++ {
						_ = r.Comp(c).Sub(2)
						_ = r.Comp(c).String()
					}
				}
			}
		}
		_, _ = m.Time()
		_ = m.Type()
		roundTrip(t, m)
	})
}

func BenchmarkParse(b *testing.B) {
	msgs := synthMessages(b, 20)
	var adt []byte
	for _, m := range msgs {
		if m.Type == "ADT^A01" {
			adt = m.ER7
			break
		}
	}
	b.SetBytes(int64(len(adt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(adt); err != nil {
			b.Fatal(err)
		}
	}
}
