package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the demo and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demo end to end, briefly: it serves, loads a small
// population through the API, prints the guide, answers the guide's
// queries, and stops cleanly, removing its temporary data directory.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	loaded := make(chan string, 1)
	done := make(chan error, 1)
	cfg := demoConfig{addr: "127.0.0.1:0", patients: 20, seed: 3, log: newLogger(io.Discard, "warn", "text")}
	go func() { done <- demo(ctx, cfg, &stdout, &stderr, loaded) }()
	var base string
	select {
	case base = <-loaded:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the demo did not load 20 people in 3 minutes\n%s\n%s", stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"serving " + base, "loaded 20 people", "Try:", base + "/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|999"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "20/20 people") {
		t.Errorf("no progress reached 20/20:\n%s", stderr.String())
	}
	// The guide's queries answer, with data.
	total := func(q string) int {
		t.Helper()
		resp, err := http.Get(base + "/" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			Total *int `json:"total"`
			Entry []any
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&b) != nil {
			t.Fatalf("GET %s: status %d", q, resp.StatusCode)
		}
		if b.Total != nil {
			return *b.Total
		}
		return len(b.Entry)
	}
	nhs := strings.SplitN(strings.SplitN(out, "nhs-number|", 2)[1], "\n", 2)[0]
	if n := total("Patient?identifier=" + url.QueryEscape("https://fhir.nhs.uk/Id/nhs-number|"+strings.TrimSpace(nhs))); n < 2 {
		t.Errorf("the first person is held by %d organisations, want at least 2 (GP and another)", n)
	}
	if n := total("Observation?_summary=count"); n < 100 {
		t.Errorf("%d Observations loaded for 20 people", n)
	}
	if n := total("Organization?_summary=count"); n < 100 {
		t.Errorf("%d Organizations loaded", n)
	}
	dir := strings.TrimSuffix(strings.SplitN(strings.SplitN(out, "(data in ", 2)[1], ")", 2)[0], "")
	if _, err := os.Stat(filepath.Join(dir, "sharedcare.db")); err != nil {
		t.Errorf("no database in %s: %v", dir, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the temporary data directory %s is still there", dir)
	}
}

// TestDemoRefusesUsedData checks the demo will not load into a data
// directory that holds something.
func TestDemoRefusesUsedData(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sharedcare.db"), []byte("x"), 0o600)
	err := demo(t.Context(), demoConfig{addr: "127.0.0.1:0", data: dir, patients: 10, seed: 1, log: newLogger(io.Discard, "warn", "text")}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("demo into a used directory: %v", err)
	}
}
