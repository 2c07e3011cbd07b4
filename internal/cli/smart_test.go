package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/synth"
)

// TestSMARTStandaloneLaunch runs a real SMART app: the fhirclient library
// (npm), in scripts/smart/standalone.js, completes a standalone launch
// against the demo (discovery, authorization code with PKCE, the patient
// signs in, the token exchange with patient context) and reads the
// patient's record. It needs node and `npm install` in scripts/smart (CI does
// both); elsewhere it skips.
func TestSMARTStandaloneLaunch(t *testing.T) {
	dir, _ := filepath.Abs("../../scripts/smart")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules", "fhirclient")); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs node and scripts/smart/node_modules (npm install): %v %v", err, serr)
		}
		t.Skip("node or scripts/smart/node_modules missing (run npm install in scripts/smart)")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout syncBuffer
	loaded := make(chan string, 1)
	done := make(chan error, 1)
	cfg := demoConfig{addr: "127.0.0.1:0", patients: 10, seed: 5, log: newLogger(io.Discard, "warn", "text")}
	go func() { done <- demo(ctx, cfg, &stdout, io.Discard, loaded) }()
	var base string
	select {
	case base = <-loaded:
	case err := <-done:
		t.Fatalf("demo stopped: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("the demo did not load")
	}
	password := strings.Fields(strings.SplitN(stdout.String(), "with the password ", 2)[1])[0]
	g, _ := synth.New(synth.Config{Seed: 5, Patients: 10})
	var patient1 string
	for _, a := range g.DemoAccounts() {
		if a.Username == "patient1" {
			patient1 = a.Patient
		}
	}
	cmd := exec.CommandContext(ctx, node, "standalone.js", base, "patient1", password)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the SMART app failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"patient":"`+patient1+`"`) || !strings.Contains(string(out), `"user":"Patient/`+patient1+`"`) {
		t.Errorf("the app read someone else's record, or nothing (patient1 is %s):\n%s", patient1, out)
	}
	cancel()
	<-done
}
