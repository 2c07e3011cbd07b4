package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/cli"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// staleStore writes n Observations with only the conditional index, as a
// server with the default --search-index does, and closes the store.
func staleStore(t *testing.T, st store.Store, n int) {
	t.Helper()
	defer st.Close()
	svc := record.New(st, nil, fhirdef.IsResourceType)
	svc.IndexScope = index.Conditional // what a server before the planner wrote
	wait, err := svc.StartReindex(t.Context(), record.ReindexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait()
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"urn:uuid:%08d-0000-4000-8000-000000000000","resource":{"resourceType":"Observation","status":"final","code":{"text":"obs %d"},"subject":{"reference":"Patient/p%d"}},"request":{"method":"POST","url":"Observation"}}`, i, i, i%7)
	}
	b.WriteString(`]}`)
	if _, err := svc.Bundle(t.Context(), []byte(b.String()), "http://localhost/fhir"); err != nil {
		t.Fatal(err)
	}
}

// observationState reads the recorded index state of Observation.
func observationState(t *testing.T, st store.Store) store.IndexState {
	t.Helper()
	defer st.Close()
	sts, err := st.(store.Reindexer).IndexStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Type == "Observation" {
			return s
		}
	}
	t.Fatal("no state recorded for Observation")
	return store.IndexState{}
}

func TestReindexCommand(t *testing.T) {
	backends := []struct {
		name string
		// where returns the flags naming a new database, and how to open it.
		where func(t *testing.T) ([]string, func() store.Store)
	}{
		{"sqlite", func(t *testing.T) ([]string, func() store.Store) {
			dir := t.TempDir()
			return []string{"--data", dir}, func() store.Store {
				st, err := sqlite.Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
		}},
		{"postgres", func(t *testing.T) ([]string, func() store.Store) {
			url := postgres.TestURL(t)
			return []string{"--db", url}, func() store.Store {
				st, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			where, open := b.where(t)
			staleStore(t, open(), 30)
			conditional := index.TypeGeneration(index.Conditional, "Observation")
			steps := []struct {
				name   string
				args   []string
				code   int
				want   []string // regexps the output must match, in order
				gen    string   // Observation's recorded generation after
				target string   // and target
			}{
				{"status changes nothing", []string{"--status", "--search-index", "all"}, 0,
					[]string{`search index \(all, generation [0-9]+\.all\.[0-9a-f]{12}\): incomplete`, `(?m)^Observation +pending +0 +30 +0\.0 +[0-9]+\.conditional\.[0-9a-f]{12} +-$`},
					conditional, ""},
				{"status under the generation recorded", []string{"--status", "--search-index", "conditional"}, 0,
					[]string{`search index \(conditional, .*\): complete`, `(?m)^Observation +current +0 +0 +100\.0 +[0-9]+\.conditional\.`},
					conditional, ""},
				{"bad scope", []string{"--search-index", "most"}, 2, nil, conditional, ""},
				{"rebuild", []string{"--search-index", "all", "--batch", "7"}, 0,
					[]string{`(?m)^Observation: rebuilding, 0 of 30 \(0\.0%\)$`, `(?m)^Observation: current, 30 of 30 \(100\.0%\)$`,
						`search index \(all, .*\): complete`, `(?m)^Observation +current +30 +30 +100\.0 +[0-9]+\.all\.[0-9a-f]{12} +-$`},
					index.TypeGeneration(index.All, "Observation"), ""},
				{"rebuild again: nothing to do", []string{"--search-index", "all"}, 0,
					[]string{`\A[^\n]*search index \(all, .*\): complete\n`},
					index.TypeGeneration(index.All, "Observation"), ""},
			}
			for _, step := range steps {
				var out, errb bytes.Buffer
				code := cli.Main(append(append([]string{"reindex"}, where...), step.args...), &out, &errb)
				if code != step.code {
					t.Fatalf("%s: exit %d, want %d\n%s%s", step.name, code, step.code, out.String(), errb.String())
				}
				rest := out.String()
				for _, w := range step.want {
					loc := regexp.MustCompile(w).FindStringIndex(rest)
					if loc == nil {
						t.Fatalf("%s: output lacks %s (in order):\n%s", step.name, w, out.String())
					}
					rest = rest[loc[1]:]
				}
				if st := observationState(t, open()); st.Generation != step.gen || st.Target != step.target || st.Owner != "" {
					t.Errorf("%s: Observation's state %+v, want generation %s target %q", step.name, st, step.gen, step.target)
				}
			}
		})
	}
}

// getJSON fetches url and decodes its JSON.
func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func complete(p map[string]any) bool {
	ps, _ := p["parameter"].([]any)
	for _, x := range ps {
		if m, _ := x.(map[string]any); m["name"] == "complete" {
			return m["valueBoolean"] == true
		}
	}
	return false
}

// TestServeReindexes starts the server on data indexed under another
// setting, stops it (perhaps mid-rebuild), and starts it again: it must
// stop cleanly, and finish the rebuild, which $reindex-status and /metrics
// show.
func TestServeReindexes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	staleStore(t, st, 3000)
	args := []string{"--data", dir, "--search-index", "all"}

	cmd, _ := startServer(t, args...)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not stop after SIGTERM")
	}
	st, err = sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := observationState(t, st); s.Owner != "" {
		t.Errorf("the stopped server kept its claim: %+v", s)
	}

	cmd, base := startServer(t, args...)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !complete(getJSON(t, base+"/$reindex-status")) {
		if time.Now().After(deadline) {
			t.Fatalf("the rebuild did not complete: %v", getJSON(t, base+"/$reindex-status"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(strings.TrimSuffix(base, "/fhir") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"sharedcare_search_index_complete 1", `sharedcare_search_index_current{type="Observation"} 1`, `sharedcare_search_index_rebuild_done{type="Observation"} 3000`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
