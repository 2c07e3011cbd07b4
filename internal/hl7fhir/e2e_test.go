package hl7fhir

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/synth"
)

var simhospitalFile = filepath.Join("..", "..", "..", "shared", "conformance", "hl7v2", "simhospital-sample.hl7")

// simhospital returns the 45 messages of the simhospital sample, skipping
// when the shared conformance folder is absent.
func simhospital(tb testing.TB) []*hl7v2.Message {
	tb.Helper()
	data, err := os.ReadFile(simhospitalFile)
	if err != nil {
		tb.Skipf("simhospital sample not found at %s (see ../shared/conformance/README.md): %v", simhospitalFile, err)
	}
	var out []*hl7v2.Message
	for _, raw := range hl7v2.SplitMessages(data) {
		m, err := hl7v2.Parse(raw)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// synthPeople generates n people of the generator's world with HL7 on.
func synthPeople(tb testing.TB, n int) (*synth.Generator, []synth.Person) {
	tb.Helper()
	g, err := synth.New(synth.Config{Seed: 3, Patients: max(n, synth.MinPatients), HL7: true})
	if err != nil {
		tb.Fatal(err)
	}
	var people []synth.Person
	for i := 0; i < n; i++ {
		people = append(people, g.Person(i))
	}
	return g, people
}

// synthOptions are the options for the generator's messages: it writes
// UTC times as local time.
var synthOptions = Options{TimeZone: time.UTC}

func TestSimhospitalThroughServer(t *testing.T) {
	msgs := simhospital(t)
	srv := newFHIRServer(t)
	mp := New(Options{})
	for i, m := range msgs {
		r, err := mp.Map(m)
		if err != nil {
			t.Fatalf("message %d (%s): %v", i, m.Type(), err)
		}
		srv.post(m.ControlID(), r.Bundle)
	}
	// Replays change nothing.
	patients, encounters, reports, obs := srv.count("Patient", ""), srv.count("Encounter", ""), srv.count("DiagnosticReport", ""), srv.count("Observation", "")
	for _, m := range msgs[:10] {
		r, _ := mp.Map(m)
		srv.post(m.ControlID(), r.Bundle)
	}
	if patients != 21 || encounters != 20 || reports != 25 || obs != 151 {
		t.Errorf("%d patients, %d encounters, %d reports, %d observations", patients, encounters, reports, obs)
	}
	if p, e, r, o := srv.count("Patient", ""), srv.count("Encounter", ""), srv.count("DiagnosticReport", ""), srv.count("Observation", ""); p != patients || e != encounters || r != reports || o != obs {
		t.Errorf("after replay: %d patients, %d encounters, %d reports, %d observations", p, e, r, o)
	}
}

func TestSynthThroughServer(t *testing.T) {
	g, people := synthPeople(t, 12)
	srv := newFHIRServer(t)
	// The reference data and the FHIR side first, as a deployment would
	// have them: the feed must then find, not duplicate, organisations,
	// sites and staff.
	srv.post("reference", g.Reference())
	site := q("identifier", "https://fhir.nhs.uk/Id/ods-site-code|")
	orgs, practitioners, sites := srv.count("Organization", ""), srv.count("Practitioner", ""), srv.count("Location", site)
	for _, p := range people {
		for _, b := range p.Bundles {
			srv.post("person bundle", b.JSON)
		}
	}
	mp := New(synthOptions)
	var merges, messages int
	for _, p := range people {
		for _, sm := range p.HL7 {
			m, err := hl7v2.Parse(sm.ER7)
			if err != nil {
				t.Fatal(err)
			}
			r, err := mp.Map(m)
			if err != nil {
				t.Fatalf("%s %s: %v", sm.Type, m.ControlID(), err)
			}
			messages++
			if r.Merges != nil {
				merges++
				continue
			}
			srv.post(sm.Type+" "+m.ControlID(), r.Bundle)
		}
	}
	t.Logf("%d messages, %d merges", messages, merges)
	// The feed found, and did not duplicate, the organisations, sites
	// and staff of the reference data.
	if n := srv.count("Organization", ""); n != orgs {
		t.Errorf("%d organisations after the feed, %d before", n, orgs)
	}
	if n := srv.count("Practitioner", ""); n != practitioners {
		t.Errorf("%d practitioners after the feed, %d before", n, practitioners)
	}
	if n := srv.count("Location", site); n != sites {
		t.Errorf("%d sites after the feed, %d before", n, sites)
	}
	// Each hospital registration is one Patient: the one the trust's FHIR
	// bundle holds, found by its MRN and updated, not a second one.
	for _, p := range people {
		for _, sm := range p.HL7 {
			m, _ := hl7v2.Parse(sm.ER7)
			if sm.Type != "ADT^A28" {
				continue
			}
			for _, r := range m.Segment("PID").Field(3).Reps() {
				if r.Comp(5).String() == "MR" {
					sys := "https://sharedcare.example/Id/" + r.Comp(4).String() + "/mrn"
					if n := srv.count("Patient", q("identifier", sys+"|"+r.Comp(1).String())); n != 1 {
						t.Errorf("%d patients with MRN %s", n, r.Comp(1).String())
					}
				}
			}
		}
	}
}
