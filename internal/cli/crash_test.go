package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/store/postgres"
)

// buildBinary compiles sharedcare once per test binary run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sharedcare-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sharedcare")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/sharedcare/sharedcare/cmd/sharedcare").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs the real binary, with --insecure-demo (these tests are
// about durability, not sign-in), and waits until it is ready.
func startServer(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	return startBinary(t, append([]string{"--insecure-demo"}, args...)...)
}

// startBinary runs the real binary's serve with args and waits until it
// is ready.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, "http://" + addr + "/fhir"
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not become ready")
	return nil, ""
}

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL while
// clients are writing, restarts it, and checks that every resource whose
// create was acknowledged (201) is there.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"--db", postgres.TestURL(t), "--data", t.TempDir()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args(t)
			cmd, base := startServer(t, args...)
			var mu sync.Mutex
			var acked []string
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					client := &http.Client{Timeout: 5 * time.Second}
					for i := 0; ctx.Err() == nil; i++ {
						body := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"crash test %d-%d"},"valueQuantity":{"value":1.50}}`, w, i)
						req, _ := http.NewRequestWithContext(ctx, "POST", base+"/Observation", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/fhir+json")
						req.Header.Set("Prefer", "return=minimal")
						resp, err := client.Do(req)
						if err != nil {
							return // the server is gone
						}
						resp.Body.Close()
						if resp.StatusCode == http.StatusCreated {
							loc := resp.Header.Get("Location")
							mu.Lock()
							acked = append(acked, strings.TrimPrefix(loc, base+"/"))
							mu.Unlock()
						}
					}
				}(w)
			}
			time.Sleep(1500 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			cancel()
			wg.Wait()
			if len(acked) < 50 {
				t.Fatalf("only %d writes acknowledged before the kill; the test needs more", len(acked))
			}
			cmd2, base2 := startServer(t, args...)
			defer func() { cmd2.Process.Signal(syscall.SIGTERM); cmd2.Wait() }()
			missing := 0
			for _, loc := range acked {
				resp, err := http.Get(base2 + "/" + loc)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					missing++
				}
			}
			if missing > 0 {
				t.Fatalf("%d of %d acknowledged writes lost after SIGKILL", missing, len(acked))
			}
			t.Logf("%d acknowledged writes all present after SIGKILL and restart", len(acked))
		})
	}
}

// TestGracefulShutdownFinishesRequests sends SIGTERM while a slow stream of
// requests runs: the server must exit cleanly and everything acknowledged
// must be there on restart.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	cmd, base := startServer(t, "--data", dir)
	resp, err := http.Post(base+"/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := strings.TrimPrefix(resp.Header.Get("Location"), base+"/")
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
	cmd2, base2 := startServer(t, "--data", dir)
	defer func() { cmd2.Process.Signal(syscall.SIGTERM); cmd2.Wait() }()
	r, err := http.Get(base2 + "/" + loc)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("after restart %s: %d", loc, r.StatusCode)
	}
}
