package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/idp"
)

// TestPortalsExternalIssuer signs people in to the portals through an
// external OpenID Connect provider: server B runs without its own
// provider (--no-idp) and trusts A's (--oidc-issuer), where the portals
// are one registered client (--portal-client-id). A is another sharedcare
// server's built-in provider, which speaks the same protocol as
// Keycloak, CIS2 or NHS login.
func TestPortalsExternalIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers")
	}
	addrA, addrB := localAddr(t), localAddr(t)
	rootA, rootB := "http://"+addrA, "http://"+addrB
	const secret = "external-portal-secret-for-this-test-only"
	start := func(c serveConfig) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ready := make(chan string, 1)
		go func() { done <- serve(ctx, c, newLogger(io.Discard, "error", "text"), ready) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("serve %s: %v", c.addr, err)
		case <-time.After(time.Minute):
			t.Fatalf("serve %s did not start", c.addr)
		}
	}
	// A: the provider, with a GP and the portals' client.
	a := serveConfig{addr: addrA, data: t.TempDir(), validation: "strict", searchIndex: "all", maxBody: 1 << 20, shutdownGrace: 5 * time.Second}
	a.auth.demoPassword = "not-a-real-password"
	a.seed = func(ctx context.Context, p *idp.Provider) error {
		return p.SeedDemo(ctx, []idp.User{{Username: "gp", Password: a.auth.demoPassword, Name: "Dr External", Role: access.RoleGP, Org: "C84001"}},
			[]idp.Client{{ID: "portals", Secret: secret, Name: "sharedcare portals", RedirectURIs: []string{rootB + "/app/callback", rootB + "/my/callback"},
				Scopes: append(append([]string(nil), portalScopes...), patientPortalScopes...), GrantTypes: []string{idp.GrantCode, idp.GrantRefresh}}})
	}
	start(a)
	// B: no provider of its own; A's tokens name A's FHIR base.
	b := serveConfig{addr: addrB, data: t.TempDir(), validation: "strict", searchIndex: "all", maxBody: 1 << 20, shutdownGrace: 5 * time.Second}
	b.auth = authConfig{noIDP: true, issuer: rootA + "/auth", issuerClaims: "sharedcare", audience: rootA + "/fhir", portalClient: "portals", portalSecret: secret}
	start(b)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(u string) (int, string, string) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Request.URL.String()
	}
	status, page, at := get(rootB + "/app/signin")
	if status != 200 || !strings.HasPrefix(at, rootA+"/auth/") {
		t.Fatalf("sign-in did not go to the external provider: %d at %s", status, at)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the provider's page has no %s:\n%.400s", name, page)
		}
		return m[1]
	}
	resp, err := c.PostForm(rootA+"/auth/login", url.Values{"id": {field("id")}, "csrf": {field("csrf")}, "username": {"gp"}, "password": {a.auth.demoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.String(), rootB+"/app/") || !strings.Contains(string(body), "Dr External") {
		t.Fatalf("after signing in at the provider: %d at %s\n%.600s", resp.StatusCode, resp.Request.URL, body)
	}
	// B's API, called by its portal with A's token, answers as the GP.
	if status, page, _ = get(rootB + "/app/search?by=nhs&nhs=9434765919"); status != 200 || !strings.Contains(page, "0 people found") {
		t.Errorf("a search through B's portal: %d\n%.400s", status, mainOf(page))
	}
}

// localAddr is a free address on loopback for a server to listen on.
func localAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
