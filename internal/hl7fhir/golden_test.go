package hl7fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCase is one testdata/*.hl7 with what it maps to.
type goldenCase struct {
	name string
	msg  *hl7v2.Message
	res  *Result
	err  error
}

// goldenOptions are the options a testdata file is mapped with: the
// generator's messages (synth-*) are in UTC, the others in UK time.
func goldenOptions(name string) Options {
	if strings.HasPrefix(name, "synth-") {
		return synthOptions
	}
	return Options{}
}

func goldenCases(t testing.TB) []goldenCase {
	files, err := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	var out []goldenCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		m, err := hl7v2.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := Map(m, goldenOptions(name))
		out = append(out, goldenCase{name: name, msg: m, res: res, err: err})
	}
	return out
}

// goldenJSON is what a case is compared on: the Bundle, the merges or the
// error, pretty-printed.
func goldenJSON(t testing.TB, c goldenCase) []byte {
	var v any
	switch {
	case c.err != nil:
		var e *hl7v2.Error
		if !errors.As(c.err, &e) {
			t.Fatalf("%s: error %v is not an *hl7v2.Error", c.name, c.err)
		}
		v = map[string]any{"error": map[string]any{
			"code": int(e.Code), "ack": e.AckCode(), "location": e.Location, "message": e.Msg,
		}}
	case c.res.Merges != nil:
		v = map[string]any{"source": c.res.Source, "merges": c.res.Merges}
	default:
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, c.res.Bundle, "", "  "); err != nil {
			t.Fatalf("%s: invalid JSON: %v\n%s", c.name, err, c.res.Bundle)
		}
		pretty.WriteByte('\n')
		return pretty.Bytes()
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGolden maps every testdata/*.hl7 and compares with the .json beside
// it; go test -update rewrites those.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got := goldenJSON(t, c)
			path := filepath.Join("testdata", c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("mapping differs from %s (-want +got):\n%s", path, diff)
			}
			// The same message maps to the same bytes every time.
			again, err := Map(c.msg, goldenOptions(c.name))
			if c.err == nil && !bytes.Equal(again.Bundle, c.res.Bundle) {
				t.Error("mapping is not deterministic")
			}
		})
	}
}

// TestGoldenThroughServer posts every golden Bundle to the FHIR API
// (validation, conditional creates and updates, urn:uuid references all
// resolved for real), in file order, then all of them again: replays
// change nothing.
func TestGoldenThroughServer(t *testing.T) {
	srv := newFHIRServer(t)
	cases := goldenCases(t)
	counts := func() map[string]int {
		out := map[string]int{}
		for _, typ := range []string{"Patient", "Encounter", "Location", "Practitioner", "Organization", "DiagnosticReport", "Observation", "DocumentReference"} {
			out[typ] = srv.count(typ, "")
		}
		return out
	}
	var first map[string]int
	for round := 0; round < 2; round++ {
		for _, c := range cases {
			if c.err != nil || c.res.Bundle == nil {
				continue
			}
			for i, s := range srv.post(c.name, c.res.Bundle) {
				if !strings.HasPrefix(s, "200") && !strings.HasPrefix(s, "201") {
					t.Errorf("%s entry %d: %s", c.name, i, s)
				}
			}
		}
		if round == 0 {
			first = counts()
		} else if diff := cmp.Diff(first, counts()); diff != "" {
			t.Errorf("replaying changed the counts (-first +after):\n%s", diff)
		}
	}
	// The transfer, discharge and cancelled discharge of one stay left one
	// Encounter, in progress again with its end removed.
	enc := srv.searchOne("Encounter", q("identifier", "https://sharedcare.example/Id/RHQ/visit|V2024-0042"))
	if enc["status"] != "in-progress" {
		t.Errorf("encounter status %v", enc["status"])
	}
	if p, _ := enc["period"].(map[string]any); p["end"] != nil {
		t.Errorf("encounter period %v", p)
	}
	// One Patient for the MRN, found by it and by the NHS number.
	if n := srv.count("Patient", q("identifier", "https://sharedcare.example/Id/RHQ/mrn|M100200")); n != 1 {
		t.Errorf("%d patients with MRN M100200", n)
	}
	// The replacement document points at the one it replaces.
	doc := srv.searchOne("DocumentReference", q("identifier", "https://sharedcare.example/Id/RHQ/document|DOC-556"))
	if rel, _ := doc["relatesTo"].([]any); len(rel) != 1 {
		t.Errorf("relatesTo %v", doc["relatesTo"])
	}
}
