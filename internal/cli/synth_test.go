package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"synth", "--seed", "3", "--patients", "20", "--out", dir, "--hl7", "--workers", "2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "synth: 20 people") || !strings.Contains(stderr.String(), "resources/s") {
		t.Errorf("summary: %q", stderr.String())
	}
	ref, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil || !json.Valid(ref) {
		t.Fatalf("reference.json: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, "bundles-00000.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	lines := 0
	for sc.Scan() {
		var b struct{ ResourceType, Type string }
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "transaction" {
			t.Fatalf("line %d: not a transaction Bundle (%v)", lines+1, err)
		}
		lines++
	}
	if lines < 20 {
		t.Errorf("%d bundles for 20 people", lines)
	}
	msgs, _ := filepath.Glob(filepath.Join(dir, "hl7", "*-00000.hl7"))
	if len(msgs) == 0 {
		t.Fatal("no HL7 files")
	}
	for _, m := range msgs {
		data, _ := os.ReadFile(m)
		if len(data) == 0 || data[0] != 0x0B || !bytes.HasSuffix(data, []byte{0x1C, 0x0D}) {
			t.Errorf("%s: not MLLP frames", m)
		}
	}
	// The directory is not reused.
	if code := Main([]string{"synth", "--patients", "10", "--out", dir}, &stdout, &stderr); code != 1 {
		t.Errorf("non-empty directory: exit %d", code)
	}
}

func TestSynthStdout(t *testing.T) {
	defer func(g func(string) string) { getenv = g }(getenv)
	getenv = func(k string) string {
		return map[string]string{"SHAREDCARE_PATIENTS": "12", "SHAREDCARE_SEED": "5"}[k]
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"synth"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if !strings.Contains(lines[0], `"PractitionerRole"`) {
		t.Error("first line is not the reference bundle")
	}
	if len(lines) < 13 || !strings.Contains(stderr.String(), "12 people") {
		t.Errorf("%d lines; %s", len(lines), stderr.String())
	}
	var again bytes.Buffer
	Main([]string{"synth"}, &again, &stderr)
	if !bytes.Equal(stdout.Bytes(), again.Bytes()) {
		t.Error("the same seed gave different output")
	}
}

func TestSynthFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"too few", []string{"--patients", "5"}, 2},
		{"too many", []string{"--patients", "1000001"}, 2},
		{"hl7 needs a directory", []string{"--patients", "10", "--hl7"}, 2},
		{"bad date", []string{"--patients", "10", "--now", "1 Nov 2026"}, 2},
		{"stray argument", []string{"--patients", "10", "extra"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(append([]string{"synth"}, tc.args...), &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr.String())
			}
		})
	}
}
