package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/bench"
	"github.com/sharedcare/sharedcare/internal/cli"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
)

// inProcessServer is the FHIR API in this process on a fresh embedded
// database; it returns the FHIR base URL.
func inProcessServer(t *testing.T) string { return resttest.Server(t).URL + "/fhir" }

func TestBenchCommand(t *testing.T) {
	base := inProcessServer(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"bench", "--url", base, "--dir", filepath.Join("..", "bench", "testdata"),
		"--concurrency", "3", "--duration", "0", "--requests", "40", "--warmup", "0", "--json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	// The table: a header, then a row per workload, query and operation.
	rows := []string{`^workload +requests +rate +p50 ms +p95 ms +p99 ms +max ms +errors$`,
		`^ingest +7 +[0-9]+ res/s( +[0-9.]+){4} +0$`,
		`^read +40 +[0-9]+ req/s( +[0-9.]+){4} +0$`}
	for _, q := range bench.SearchMix(bench.SearchParams{}) {
		rows = append(rows, `^search/`+regexp.QuoteMeta(q.Name)+` +40 +[0-9]+ req/s( +[0-9.]+){4} +0$`)
	}
	rows = append(rows, `^everything +40 `, `^crud +72 `, `^crud/create +18 `, `^crud/read +18 `, `^crud/update +18 `, `^crud/delete +18 +[0-9]+ req/s( +[0-9.]+){4} +0$`)
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != len(rows) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(rows), stdout.String())
	}
	for i, re := range rows {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	env := r.Environment
	if env.Target != base || env.Server != "sharedcare test (FHIR 4.0.1)" || env.GoVersion == "" || env.NumCPU == 0 || env.GOMAXPROCS == 0 ||
		env.Concurrency != 3 || env.Date.IsZero() || env.Hostname == "" || env.Command[1] != "bench" {
		t.Errorf("environment %+v", env)
	}
	if len(r.Results) != len(rows)-1 || r.SearchParams == nil || r.SearchParams.PatientIdentifier == "" || r.Err() != nil {
		t.Errorf("report: %d results, search params %+v, err %v", len(r.Results), r.SearchParams, r.Err())
	}

	// The report's search values given back: the same queries run.
	stdout.Reset()
	stderr.Reset()
	code = cli.Main([]string{"bench", "--url", base, "--workloads", "search", "--params", out,
		"--duration", "0", "--requests", "5", "--warmup", "0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("with --params: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "Patient:"+r.SearchParams.Patient+" ") {
		t.Errorf("with --params, another Patient:\n%s", stderr.String())
	}
}

func TestBenchCommandFails(t *testing.T) {
	base := inProcessServer(t)
	// A server whose reads all answer 404: the run fails and says so.
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			w.Write([]byte(`{"resourceType":"CapabilityStatement","software":{"name":"broken"}}`))
		case r.URL.Query().Get("_elements") == "id":
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"gone"}}]}`))
		default:
			http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusNotFound)
		}
	}))
	defer notFound.Close()

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"404s", []string{"--url", notFound.URL, "--workloads", "read"}, 1, "read: 20 failed (404 ×20), first: GET " + notFound.URL + "/Patient/gone: 404"},
		{"no server", []string{"--url", "http://127.0.0.1:1/fhir"}, 1, "CapabilityStatement"},
		{"unknown workload", []string{"--url", base, "--workloads", "read,write"}, 2, `unknown workload "write"`},
		{"ingest without a source", []string{"--url", base, "--workloads", "ingest"}, 2, "ingest needs a source"},
		{"no bound", []string{"--url", base, "--duration", "0", "--requests", "0"}, 2, "give a --duration or --requests"},
		{"missing directory", []string{"--url", base, "--dir", "no-such-dir", "--workloads", "ingest"}, 1, "no-such-dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"bench", "--requests", "20", "--duration", "10s", "--warmup", "0"}, tc.args...)
			code := cli.Main(args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.want, stderr.String())
			}
		})
	}
}

// TestBenchSynth loads the generator's bundles through the ingest
// workload: the reference bundle first, then everyone's, all accepted.
func TestBenchSynth(t *testing.T) {
	base := inProcessServer(t)
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"bench", "--url", base, "--synth", "10", "--seed", "4", "--workloads", "ingest,read",
		"--concurrency", "4", "--duration", "0", "--requests", "20", "--warmup", "0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	m := regexp.MustCompile(`(?m)^ingest +([0-9]+) `).FindStringSubmatch(stdout.String())
	if m == nil || m[1] == "1" || m[1] == "0" {
		t.Fatalf("ingest row: %q\n%s", m, stdout.String())
	}
	resp, err := http.Get(base + "/Patient?_summary=count")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Total int }
	json.NewDecoder(resp.Body).Decode(&b)
	if b.Total <= 10 {
		t.Errorf("%d Patients after loading 10 people from several organisations each", b.Total)
	}
	if code := cli.Main([]string{"bench", "--url", base, "--synth", "10", "--dir", "x"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("--synth with --dir: exit %d, want 2", code)
	}
}
