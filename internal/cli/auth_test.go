package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestServeSignIn runs the real binary as a user would, without
// --insecure-demo: the API refuses requests without a token (except the
// public documents), a system client registered with `sharedcare admin`
// gets a token from the built-in provider's token endpoint (found through
// the SMART configuration), and the token opens what its scopes allow.
func TestServeSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	cmd, base := startBinary(t, "--data", dir)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	get := func(path, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for path, want := range map[string]int{"/metadata": 200, "/.well-known/smart-configuration": 200, "/Patient": 401, "/Observation?patient=x": 401} {
		if got, b := get(path, ""); got != want {
			t.Errorf("GET %s without a token: %d, want %d: %s", path, got, want, b)
		}
	}
	if _, b := get("/Patient", "not.a.token"); !bytes.Contains(b, []byte("OperationOutcome")) {
		t.Errorf("a bad token's refusal is not an OperationOutcome: %s", b)
	}

	out, err := exec.Command(binary(t), "admin", "client", "add", "--data", dir, "--name", "integration engine", "--org", "RHQ", "--scope", "system/Patient.cruds system/Observation.rs").CombinedOutput()
	if err != nil {
		t.Fatalf("admin client add: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`client_id: (\S+)`).FindSubmatch(out)
	secret := regexp.MustCompile(`client_secret: (\S+)`).FindSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("admin client add printed no credentials:\n%s", out)
	}
	_, b := get("/.well-known/smart-configuration", "")
	var smart struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(b, &smart); err != nil || smart.TokenEndpoint == "" {
		t.Fatalf("smart-configuration: %v %s", err, b)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.cruds system/Observation.rs"}}
	req, _ := http.NewRequest("POST", smart.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(string(id[1])), url.QueryEscape(string(secret[1])))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(tb, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", resp.StatusCode, tb)
	}
	if got, b := get("/Patient", tok.AccessToken); got != 200 {
		t.Errorf("GET /Patient with a system token: %d %s", got, b)
	}
	if got, b := get("/Condition?patient=x", tok.AccessToken); got != 403 {
		t.Errorf("GET /Condition outside the token's scopes: %d %s", got, b)
	}

	// Everything above, refusals included, is in the audit log, which
	// verifies once the server has stopped and signed its last checkpoint.
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	out, err = exec.Command(binary(t), "audit", "verify", "--data", dir).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	var n int
	if _, err := fmt.Sscanf(string(out), "%d entries", &n); err != nil || n < 5 {
		t.Errorf("the log holds %d entries, want the 5 requests to records (three refused):\n%s", n, out)
	}
}
