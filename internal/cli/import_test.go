package cli_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/cli"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
)

func run(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := cli.Main(args, &stdout, &stderr); code != want {
		t.Fatalf("sharedcare %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// exported reads the NDJSON files of dir as Type/id → resource, without
// what a store sets (meta.versionId, meta.lastUpdated).
func exported(t *testing.T, dir string) map[string]any {
	t.Helper()
	out := map[string]any{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if len(files) == 0 {
		t.Fatalf("no NDJSON in %s", dir)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			m, err := fhir.DecodeResource(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if want := strings.TrimSuffix(filepath.Base(f), ".ndjson"); m["resourceType"] != want {
				t.Errorf("a %s in %s", m["resourceType"], f)
			}
			meta, _ := m["meta"].(map[string]any)
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
			out[m["resourceType"].(string)+"/"+m["id"].(string)] = m
		}
		fh.Close()
	}
	return out
}

// TestImportExportCommands: the generator's output imported, exported,
// the export imported into another database and exported again, on each
// store; the same resources each time.
func TestImportExportCommands(t *testing.T) {
	pop := filepath.Join(t.TempDir(), "pop")
	run(t, 0, "synth", "--patients", "10", "--out", pop)
	stores := []struct {
		name  string
		where func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"--db", postgres.TestURL(t)} }},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			first := sc.where(t)
			out, _ := run(t, 0, append(append([]string{"import"}, first...), pop)...)
			m := regexp.MustCompile(`imported (\d+) resources in [0-9.]+ s: \d+ resources/s`).FindStringSubmatch(out)
			if m == nil || !regexp.MustCompile(`(?m)^\s+Patient\s+\d+$`).MatchString(out) || strings.Contains(out, "rejected") {
				t.Fatalf("import summary:\n%s", out)
			}
			dir1 := filepath.Join(t.TempDir(), "one")
			out, _ = run(t, 0, append(append([]string{"export"}, first...), "--out", dir1)...)
			if !strings.Contains(out, "exported "+m[1]+" resources") || !strings.Contains(out, "Patient.ndjson") {
				t.Errorf("export summary (imported %s):\n%s", m[1], out)
			}
			second := sc.where(t)
			run(t, 0, append(append([]string{"import"}, second...), dir1)...)
			dir2 := filepath.Join(t.TempDir(), "two")
			run(t, 0, append(append([]string{"export"}, second...), "--out", dir2)...)
			one, two := exported(t, dir1), exported(t, dir2)
			if d := cmp.Diff(one, two); d != "" {
				t.Errorf("second export differs (-first +second):\n%s", d)
			}
			if got := len(one); m[1] != strconv.Itoa(got) {
				t.Errorf("exported %d, imported %s", got, m[1])
			}
			// --type and --patients.
			dir3 := filepath.Join(t.TempDir(), "three")
			run(t, 0, append(append([]string{"export"}, second...), "--patients", "--type", "Patient,Condition", "--out", dir3)...)
			files, _ := filepath.Glob(filepath.Join(dir3, "*.ndjson"))
			var names []string
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			if d := cmp.Diff([]string{"Condition.ndjson", "Patient.ndjson"}, names); d != "" {
				t.Errorf("--patients --type files (-want +got):\n%s", d)
			}
		})
	}
}

// TestImportRejects: bad lines are listed with their line and why, the
// rest load, and the exit status says something was rejected.
func TestImportRejects(t *testing.T) {
	dir := t.TempDir()
	lines := strings.Join([]string{
		`{"resourceType":"Patient","id":"a"}`,
		`{"resourceType":"Patient","id":"b","colour":"blue"}`,
		`{oops`,
		`{"resourceType":"Patient","id":"c"}`,
		`{"resourceType":"Patient"}`,
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "p.ndjson"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a"}}}]}`
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not data"), 0o600)
	data := t.TempDir()
	out, _ := run(t, 1, "import", "--data", data, "--show", "2", dir)
	for _, want := range []string{
		"imported 3 resources",
		"Observation  1", "Patient  2",
		"rejected 3:",
		"p.ndjson line 2 (Patient/b): Patient failed validation",
		"colour",
		"p.ndjson line 3: ",
		"and 1 more",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Usage errors.
	for _, args := range [][]string{
		{"import", "--data", data},
		{"import", "--data", data, filepath.Join(dir, "README.txt")},
		{"import", "--data", data, filepath.Join(dir, "nope.ndjson")},
		{"import", "--search-index", "some", dir},
		{"export", "--data", data},
		{"export", "--data", data, "--out", t.TempDir(), "--patients", "--group", "g"},
		{"export", "--data", data, "--out", t.TempDir(), "--since", "yesterday"},
		{"export", "--data", data, "--out", t.TempDir(), "--type", "Nonsense"},
		{"export", "--data", data, "--out", t.TempDir(), "--group", "nope"},
		{"export", "--data", data, "--out", t.TempDir(), "extra"},
	} {
		run(t, 2, args...)
	}
	run(t, 1, "export", "--data", data, "--out", dir) // not empty
	out, _ = run(t, 0, "export", "--data", data, "--type", "Observation", "--out", filepath.Join(t.TempDir(), "o"))
	if !strings.Contains(out, "exported 1 resources") {
		t.Errorf("export of one type:\n%s", out)
	}
	_, usage := run(t, 2)
	for _, cmd := range []string{"import", "export"} {
		if !slices.ContainsFunc(strings.Split(usage, "\n"), func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), cmd+" ") }) {
			t.Errorf("usage does not list %s:\n%s", cmd, usage)
		}
	}
}
