package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// generate runs People and returns everyone.
func generate(t testing.TB, cfg synth.Config, workers int) []synth.Person {
	t.Helper()
	g, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []synth.Person
	err = g.People(context.Background(), workers, func(p synth.Person) error {
		if p.Index != len(out) {
			t.Fatalf("person %d delivered at position %d", p.Index, len(out))
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewRefusesSizes(t *testing.T) {
	tests := []struct {
		patients int
		ok       bool
	}{
		{9, false}, {10, true}, {1_000_000, true}, {1_000_001, false}, {-1, false},
	}
	for _, tc := range tests {
		_, err := synth.New(synth.Config{Patients: tc.patients})
		if (err == nil) != tc.ok {
			t.Errorf("patients %d: err %v", tc.patients, err)
		}
	}
	if _, err := synth.New(synth.Config{Patients: 10, Now: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("now in 1990 accepted")
	}
}

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"9434765919", true},  // the Data Dictionary's example
		{"9434765918", false}, // wrong check digit
		{"943476591", false},
		{"94347659190", false},
		{"943476591X", false},
		{"9990000018", true},
		{"1000000010", false}, // check digit would be 10
	}
	for _, tc := range tests {
		if got := synth.ValidNHSNumber(tc.s); got != tc.want {
			t.Errorf("ValidNHSNumber(%q) = %v", tc.s, got)
		}
	}
}

// TestNHSNumbers: every number valid, in the 999 test range, and no two
// people alike.
func TestNHSNumbers(t *testing.T) {
	people := generate(t, synth.Config{Seed: 11, Patients: 5000}, 2)
	seen := map[string]int{}
	for _, p := range people {
		if !synth.ValidNHSNumber(p.NHSNumber) || !strings.HasPrefix(p.NHSNumber, "999") {
			t.Errorf("person %d: NHS number %q", p.Index, p.NHSNumber)
		}
		if j, dup := seen[p.NHSNumber]; dup {
			t.Errorf("persons %d and %d share %s", j, p.Index, p.NHSNumber)
		}
		seen[p.NHSNumber] = p.Index
	}
}

// flatten puts everything generated in one byte string, for comparison.
func flatten(ref []byte, people []synth.Person) []byte {
	var b bytes.Buffer
	b.Write(ref)
	for _, p := range people {
		for _, bu := range p.Bundles {
			b.WriteString(bu.Source)
			b.Write(bu.JSON)
		}
		for _, m := range p.HL7 {
			b.WriteString(m.Source + m.Type)
			b.Write(m.ER7)
		}
	}
	return b.Bytes()
}

// TestDeterministic: the same seed gives the same bytes whatever the
// number of workers, a person generated alone is the same, and another
// seed gives other output.
func TestDeterministic(t *testing.T) {
	for _, hl7 := range []bool{false, true} {
		cfg := synth.Config{Seed: 7, Patients: 150, HL7: hl7}
		g, err := synth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		one := flatten(g.Reference(), generate(t, cfg, 1))
		g2, _ := synth.New(cfg)
		four := flatten(g2.Reference(), generate(t, cfg, 4))
		if !bytes.Equal(one, four) {
			t.Fatalf("hl7=%v: 1 and 4 workers differ", hl7)
		}
		alone := g.Person(99)
		inRun := generate(t, cfg, 3)[99]
		if diff := cmp.Diff(inRun, alone); diff != "" {
			t.Errorf("hl7=%v: person 99 alone differs (-run +alone):\n%.2000s", hl7, diff)
		}
		cfg.Seed = 8
		g3, _ := synth.New(cfg)
		other := flatten(g3.Reference(), generate(t, cfg, 2))
		if bytes.Equal(one, other) {
			t.Errorf("hl7=%v: seeds 7 and 8 gave the same output", hl7)
		}
	}
}

// TestPeopleStops: People stops at fn's first error and on cancellation.
func TestPeopleStops(t *testing.T) {
	g, err := synth.New(synth.Config{Seed: 1, Patients: 500})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = g.People(context.Background(), 3, func(p synth.Person) error {
		calls++
		if p.Index == 40 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 41 {
		t.Errorf("err %v after %d calls, want stop after 41", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = g.People(ctx, 2, func(p synth.Person) error {
		calls++
		if p.Index == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls > 64 {
		t.Errorf("err %v after %d calls, want canceled soon after 11", err, calls)
	}
}

// entryOf is what the tests read of a Bundle entry.
type entryOf struct {
	Resource json.RawMessage `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Source   string `json:"source"`
		Security []struct {
			System, Code string
		} `json:"security"`
	} `json:"meta"`
}

// references collects every Reference.reference in a decoded value.
func references(v any, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if s, ok := c.(string); ok && k == "reference" {
				*out = append(*out, s)
				continue
			}
			references(c, out)
		}
	case []any:
		for _, c := range t {
			references(c, out)
		}
	}
}

// readBundle checks the envelope and every entry's request and meta, and
// returns the resources' addresses and the references they make.
func readBundle(t *testing.T, what string, data []byte, source string) (addrs map[string]bool, refs []string, types map[string]int) {
	t.Helper()
	var b struct {
		ResourceType string    `json:"resourceType"`
		Type         string    `json:"type"`
		Entry        []entryOf `json:"entry"`
	}
	if bytes.ContainsAny(data, "\n\r") {
		t.Fatalf("%s: a raw newline inside a bundle breaks NDJSON", what)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) == 0 {
		t.Fatalf("%s: not a transaction Bundle with entries", what)
	}
	addrs = map[string]bool{}
	types = map[string]int{}
	for i, e := range b.Entry {
		var h resourceHead
		if err := json.Unmarshal(e.Resource, &h); err != nil {
			t.Fatal(err)
		}
		addr := h.ResourceType + "/" + h.ID
		if e.Request.Method != "PUT" || e.Request.URL != addr {
			t.Errorf("%s: entry %d: request %s %s for %s", what, i, e.Request.Method, e.Request.URL, addr)
		}
		if source != "" && h.Meta.Source != "https://fhir.nhs.uk/Id/ods-organization-code|"+source {
			t.Errorf("%s: entry %d: meta.source %q", what, i, h.Meta.Source)
		}
		if addrs[addr] {
			t.Errorf("%s: %s twice", what, addr)
		}
		addrs[addr] = true
		types[h.ResourceType]++
		var v any
		json.Unmarshal(e.Resource, &v)
		references(v, &refs)
	}
	return addrs, refs, types
}

// TestReferencesResolve: every reference in a person's bundle is to a
// resource in that bundle or in the reference bundle, every entry is a
// PUT to its own address, and every resource names its source.
func TestReferencesResolve(t *testing.T) {
	for _, hl7 := range []bool{false, true} {
		cfg := synth.Config{Seed: 21, Patients: 300, HL7: hl7}
		g, err := synth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		refAddrs, refRefs, _ := readBundle(t, "reference", g.Reference(), "")
		for _, r := range refRefs {
			if !refAddrs[r] {
				t.Errorf("reference bundle: %s does not resolve", r)
			}
		}
		for _, p := range generate(t, cfg, 2) {
			for _, b := range p.Bundles {
				what := b.Source + " bundle of person " + itoa(p.Index)
				addrs, refs, _ := readBundle(t, what, b.JSON, b.Source)
				if len(addrs) != b.Resources {
					t.Errorf("%s: %d resources, Resources says %d", what, len(addrs), b.Resources)
				}
				for _, r := range refs {
					if !addrs[r] && !refAddrs[r] {
						t.Errorf("%s: %s does not resolve", what, r)
					}
				}
			}
		}
	}
}

// TestSensitiveLabelled: items of the RCGP sensitive set carry
// meta.security restricted, and nothing else does.
func TestSensitiveLabelled(t *testing.T) {
	sensitive := map[string]bool{"52637005": true, "105629000": true, "386639001": true, "93461009": true}
	labelled := 0
	for _, p := range generate(t, synth.Config{Seed: 4, Patients: 2000}, 2) {
		for _, b := range p.Bundles {
			var bu struct{ Entry []entryOf }
			json.Unmarshal(b.JSON, &bu)
			for _, e := range bu.Entry {
				var r struct {
					resourceHead
					Code struct {
						Coding []struct{ Code string }
					}
					ReasonCode []struct {
						Coding []struct{ Code string }
					}
				}
				json.Unmarshal(e.Resource, &r)
				isSensitive := false
				for _, c := range r.Code.Coding {
					isSensitive = isSensitive || sensitive[c.Code]
				}
				for _, rc := range r.ReasonCode {
					for _, c := range rc.Coding {
						isSensitive = isSensitive || sensitive[c.Code]
					}
				}
				restricted := false
				for _, s := range r.Meta.Security {
					restricted = restricted || (s.System == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality" && s.Code == "R")
				}
				if isSensitive != restricted {
					t.Errorf("person %d: %s/%s sensitive %v, labelled restricted %v", p.Index, r.ResourceType, r.ID, isSensitive, restricted)
				}
				if restricted {
					labelled++
				}
			}
		}
	}
	if labelled == 0 {
		t.Error("no sensitive items in 2,000 people")
	}
}

// TestHL7Structure checks messages the way a receiver first would: MLLP
// framing, segment terminators, the MSH header, and the NHS number in
// PID-3. (The real parser and its fuzzing belong to the HL7 feed.)
func TestHL7Structure(t *testing.T) {
	people := generate(t, synth.Config{Seed: 9, Patients: 1000, HL7: true}, 2)
	types := map[string]int{}
	withoutNHS := 0
	for _, p := range people {
		mainMRN := map[string]string{} // by source, from messages with the NHS number
		var noNHS [][2]string          // source, MRN
		sent := map[string]bool{}      // source|MRN of the messages so far
		for j, m := range p.HL7 {
			what := "person " + itoa(p.Index) + " message " + itoa(j) + " " + m.Type
			framed := synth.Frame(m.ER7)
			if framed[0] != 0x0B || !bytes.HasSuffix(framed, []byte{0x1C, 0x0D}) || !bytes.Equal(framed[1:len(framed)-2], m.ER7) {
				t.Fatalf("%s: bad MLLP frame", what)
			}
			if bytes.ContainsAny(m.ER7, "\n\x0b\x1c") || !bytes.HasSuffix(m.ER7, []byte("\r")) {
				t.Fatalf("%s: segments must end in \\r and nothing else", what)
			}
			segs := strings.Split(strings.TrimSuffix(string(m.ER7), "\r"), "\r")
			msh := strings.Split(segs[0], "|")
			if !strings.HasPrefix(segs[0], `MSH|^~\&|`) || len(msh) < 12 {
				t.Fatalf("%s: MSH %q", what, segs[0])
			}
			if msh[3] != m.Source || msh[11] != "2.4" || msh[10] != "P" || msh[9] == "" {
				t.Errorf("%s: MSH-4 %q, MSH-10 %q, MSH-11 %q, MSH-12 %q", what, msh[3], msh[9], msh[10], msh[11])
			}
			if got := strings.Join(strings.SplitN(msh[8], "^", 3)[:2], "^"); got != m.Type {
				t.Errorf("%s: MSH-9 %q", what, msh[8])
			}
			types[m.Type]++
			var pid []string
			for _, s := range segs {
				if len(s) < 3 || s[3] != '|' {
					t.Fatalf("%s: segment %q", what, s)
				}
				if strings.HasPrefix(s, "PID|") {
					pid = strings.Split(s, "|")
				}
			}
			if pid == nil || len(pid) < 9 {
				t.Fatalf("%s: no PID", what)
			}
			ids := strings.Split(pid[3], "~")
			mrn, nhs := "", ""
			for _, id := range ids {
				c := strings.Split(id, "^")
				if len(c) == 5 && c[4] == "NH" && c[3] == "NHS" {
					nhs = c[0]
				}
				if len(c) == 5 && c[4] == "MR" && c[3] == m.Source {
					mrn = c[0]
				}
			}
			if mrn == "" {
				t.Errorf("%s: PID-3 %q has no MRN", what, pid[3])
			}
			// A trust merges a duplicate into a record it already holds.
			if m.Type == "ADT^A40" && !sent[m.Source+"|"+mrn] {
				t.Errorf("%s: merges into MRN %s before any message registered it", what, mrn)
			}
			sent[m.Source+"|"+mrn] = true
			switch {
			case nhs == "":
				noNHS = append(noNHS, [2]string{m.Source, mrn})
			case nhs != p.NHSNumber:
				t.Errorf("%s: PID-3 NHS number %s, person's is %s", what, nhs, p.NHSNumber)
			default:
				mainMRN[m.Source] = mrn
			}
			if len(pid[7]) != 8 || (pid[8] != "M" && pid[8] != "F" && pid[8] != "O") {
				t.Errorf("%s: PID-7 %q, PID-8 %q", what, pid[7], pid[8])
			}
		}
		// Only a hurried duplicate registration, under its own MRN, comes
		// without the NHS number.
		for _, x := range noNHS {
			withoutNHS++
			if x[1] == mainMRN[x[0]] {
				t.Errorf("person %d: %s MRN %s sent without the NHS number", p.Index, x[0], x[1])
			}
		}
	}
	if withoutNHS == 0 || withoutNHS > 200 {
		t.Errorf("%d messages without an NHS number", withoutNHS)
	}
	for _, typ := range []string{"ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A08", "ADT^A28", "ADT^A31", "ADT^A40", "ORU^R01", "MDM^T02"} {
		if types[typ] == 0 {
			t.Errorf("no %s in 1,000 people", typ)
		}
	}
	t.Logf("message types: %v", types)
}

// TestGolden keeps one small person's output in testdata, so that changes
// to the mapping show in review: their FHIR bundles, then the messages
// their hospital sends with HL7 on. go test -update rewrites it.
func TestGolden(t *testing.T) {
	cfg := synth.Config{Seed: 1, Patients: 1000, HL7: true}
	withHL7, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HL7 = false
	fhirOnly, _ := synth.New(cfg)
	// The first person with a hospital admission and not too much else.
	var p synth.Person
	var msgs []synth.Message
	for i := 0; i < 1000; i++ {
		p = fhirOnly.Person(i)
		msgs = withHL7.Person(i).HL7
		n, admitted := 0, false
		for _, b := range p.Bundles {
			n += b.Resources
			admitted = admitted || bytes.Contains(b.JSON, []byte(`"183452005"`))
		}
		if admitted && n <= 50 {
			break
		}
	}
	var out bytes.Buffer
	for _, b := range p.Bundles {
		out.WriteString("# " + b.Source + "\n")
		if err := json.Indent(&out, b.JSON, "", "  "); err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n")
	}
	for _, m := range msgs {
		out.WriteString("# " + m.Source + " " + m.Type + "\n")
		out.WriteString(strings.ReplaceAll(string(m.ER7), "\r", "\n"))
	}
	path := filepath.Join("testdata", "person.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("person %d differs from %s (-want +got); go test -update accepts it:\n%s", p.Index, path, diff)
	}
}

// TestHL7ReplacesHospitalFHIR: with HL7 on, the bundles of everyone but
// the acute trusts are unchanged, and the trusts' bundles lose exactly the
// encounters, observations and documents their messages carry.
func TestHL7ReplacesHospitalFHIR(t *testing.T) {
	cfg := synth.Config{Seed: 13, Patients: 300}
	fhirOnly := generate(t, cfg, 2)
	cfg.HL7 = true
	withHL7 := generate(t, cfg, 2)
	acute := map[string]bool{"RHQ": true, "RFR": true, "RP5": true, "RFF": true, "RCU": true}
	for i := range fhirOnly {
		a, b := fhirOnly[i], withHL7[i]
		if len(a.Bundles) != len(b.Bundles) {
			t.Fatalf("person %d: %d bundles, %d with HL7", i, len(a.Bundles), len(b.Bundles))
		}
		visits := map[string]int{} // encounters, by source, that messages opened
		docs := map[string]int{}
		for _, m := range b.HL7 {
			switch m.Type {
			case "ADT^A01", "ADT^A04":
				visits[m.Source]++
			case "MDM^T02":
				docs[m.Source]++
			}
		}
		for j := range a.Bundles {
			src := a.Bundles[j].Source
			if !acute[src] {
				if !bytes.Equal(a.Bundles[j].JSON, b.Bundles[j].JSON) {
					t.Errorf("person %d: %s bundle changed with HL7", i, src)
				}
				continue
			}
			full, _, fullTypes := readBundle(t, "fhir", a.Bundles[j].JSON, src)
			part, _, partTypes := readBundle(t, "hl7", b.Bundles[j].JSON, src)
			for addr := range part {
				if !full[addr] {
					t.Errorf("person %d: %s has %s only with HL7", i, src, addr)
				}
			}
			lostPatients := fullTypes["Patient"] - partTypes["Patient"] // a duplicate comes by HL7
			if got := fullTypes["Encounter"] - partTypes["Encounter"]; got != visits[src] {
				t.Errorf("person %d: %s: %d encounters left FHIR, messages opened %d", i, src, got, visits[src])
			}
			if got := fullTypes["DocumentReference"] - partTypes["DocumentReference"]; got != docs[src] {
				t.Errorf("person %d: %s: %d documents left FHIR, %d MDM messages", i, src, got, docs[src])
			}
			for typ, n := range fullTypes {
				switch typ {
				case "Encounter", "Observation", "DocumentReference":
				case "Patient":
					if lostPatients > 1 {
						t.Errorf("person %d: %s lost %d Patients", i, src, lostPatients)
					}
				default:
					if partTypes[typ] != n {
						t.Errorf("person %d: %s: %d %s, %d with HL7", i, src, n, typ, partTypes[typ])
					}
				}
			}
		}
	}
}

// TestNothingAfterTheEnd: no date in anyone's record is after now, nor,
// for the dead, after their death.
func TestNothingAfterTheEnd(t *testing.T) {
	now := "2026-11-01T00:00:00Z"
	for _, hl7 := range []bool{false, true} {
		for _, p := range generate(t, synth.Config{Seed: 17, Patients: 400, HL7: hl7}, 2) {
			death := ""
			for _, b := range p.Bundles {
				var bu struct {
					Entry []struct {
						Resource struct {
							ResourceType, DeceasedDateTime string
						}
					}
				}
				json.Unmarshal(b.JSON, &bu)
				for _, e := range bu.Entry {
					if d := e.Resource.DeceasedDateTime; d != "" && (death == "" || d < death) {
						death = d
					}
				}
			}
			for _, b := range p.Bundles {
				var v any
				json.Unmarshal(b.JSON, &v)
				var dates []string
				datesIn(v, "", &dates)
				for _, kd := range dates {
					k, d, _ := strings.Cut(kd, "=")
					if len(d) == 10 {
						d += "T00:00:00Z"
					}
					if d > now || (death != "" && d > death) {
						t.Errorf("hl7=%v person %d %s: %s %s after the end (death %q)", hl7, p.Index, b.Source, k, d, death)
					}
				}
			}
		}
	}
}

// datesIn collects, as key=value, string values that are FHIR dates or
// dateTimes, except birth dates.
func datesIn(v any, key string, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			datesIn(c, k, out)
		}
	case []any:
		for _, c := range t {
			datesIn(c, key, out)
		}
	case string:
		if key != "birthDate" && len(t) >= 10 && t[4] == '-' && t[7] == '-' && t[0] >= '1' && t[0] <= '2' {
			*out = append(*out, key+"="+t)
		}
	}
}
