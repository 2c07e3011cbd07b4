package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/auth"
	"github.com/sharedcare/sharedcare/internal/idp"
)

// authConfig is how serve signs people in: the built-in identity
// provider, an external OpenID Connect issuer, or (for a demo on a
// laptop only) nothing.
type authConfig struct {
	publicURL    string // the server's public root URL; default http://ADDR
	keys         string // where keys live (outside the database); default DATA/keys
	noIDP        bool   // do not run the built-in provider
	issuer       string // an external OpenID Connect issuer
	issuerClaims string // its claim mapping: cis2, smart or sharedcare
	audience     string // the aud its tokens carry (default the FHIR base)
	roleClaim    string // for smart: the claim holding the role
	orgClaim     string // for smart: the claim holding the ODS code
	insecureDemo bool   // requests without a token act as the system
	demoPassword string // the demo users' password (demo only)
	// portalClient and portalSecret are the portals' client at
	// --oidc-issuer, when they sign people in there (with --no-idp).
	portalClient, portalSecret string
}

func (a *authConfig) flags(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&a.publicURL, "public-url", "", "the server's public root URL, which issues and checks tokens (default http://ADDR)")
	fs.StringVar(&a.keys, "keys", "", "directory of the signing and audit keys, kept outside the database (default DATA/keys)")
	fs.BoolVar(&a.noIDP, "no-idp", false, "do not run the built-in identity provider at /auth (sign in through --oidc-issuer instead)")
	fs.StringVar(&a.issuer, "oidc-issuer", "", "an external OpenID Connect issuer whose tokens the API accepts (e.g. CIS2, NHS login, Keycloak)")
	fs.StringVar(&a.issuerClaims, "oidc-claims", "smart", "how --oidc-issuer's claims map to a user: cis2 (staff), nhslogin (people, by NHS number), smart or sharedcare")
	fs.StringVar(&a.audience, "oidc-audience", "", "the audience --oidc-issuer's tokens carry (default the FHIR base URL)")
	fs.StringVar(&a.roleClaim, "oidc-role-claim", "", "for --oidc-claims smart: the claim naming the user's role (e.g. realm_access.roles)")
	fs.StringVar(&a.orgClaim, "oidc-org-claim", "", "for --oidc-claims smart: the claim holding the user's ODS organisation code")
	fs.BoolVar(&a.insecureDemo, "insecure-demo", false, "INSECURE, for a demo on your own machine only: requests without a token act as the system, with full access")
	fs.StringVar(&a.portalClient, "portal-client-id", "", "with --no-idp: the portals' client id at --oidc-issuer (redirect URIs PUBLIC/app/callback and PUBLIC/my/callback), so that people sign in to the portals there")
	fs.StringVar(&a.portalSecret, "portal-client-secret", "", "the secret of --portal-client-id (better from the environment: SHAREDCARE_PORTAL_CLIENT_SECRET)")
}

// authStack is sign-in as serve runs it.
type authStack struct {
	idp        *idp.Provider // nil with --no-idp
	middleware func(http.Handler) http.Handler
	verifier   *auth.Verifier
	fhirBase   string
	root       string // the server's public root URL
}

func (s *authStack) close() {
	if s != nil && s.idp != nil {
		s.idp.Close()
	}
}

// publicPath reports the requests served without a token.
func publicPath(r *http.Request) bool {
	p := r.URL.Path
	switch p {
	case "/", "/healthz", "/readyz", "/metrics", "/fhir/metadata", "/fhir/.well-known/smart-configuration":
		return true
	}
	// The portals keep their own sessions and call the API with the
	// signed-in user's token.
	return strings.HasPrefix(p, "/auth/") || strings.HasPrefix(p, "/.well-known/") || p == "/app" || strings.HasPrefix(p, "/app/") ||
		p == "/my" || strings.HasPrefix(p, "/my/")
}

// setupAuth builds sign-in for a server listening on addr.
func setupAuth(ctx context.Context, c serveConfig, addr string, log *slog.Logger, onRefused func(*http.Request, int, string)) (*authStack, error) {
	a := c.auth
	root := strings.TrimSuffix(a.publicURL, "/")
	if root == "" {
		root = "http://" + addr
	}
	st := &authStack{fhirBase: root + "/fhir", root: root}
	if c.baseURL != "" {
		st.fhirBase = strings.TrimSuffix(c.baseURL, "/")
	}
	keys := a.keys
	if keys == "" {
		keys = filepath.Join(c.data, "keys")
	}
	var issuers []auth.Issuer
	if !a.noIDP {
		store := idp.SQLitePath(c.data)
		if c.db != "" {
			store = c.db
		}
		p, err := idp.New(ctx, idp.Config{Issuer: root + "/auth", Audience: st.fhirBase, Store: store, KeyDir: keys,
			Demo: a.demoPassword != "", DemoPassword: a.demoPassword, Log: log})
		if err != nil {
			return nil, fmt.Errorf("identity provider: %w", err)
		}
		st.idp = p
		issuers = append(issuers, auth.Issuer{URL: p.Issuer(), Audiences: []string{st.fhirBase}, Claims: auth.ClaimsSharedcare, Keys: p.KeySet()})
	}
	if a.issuer != "" {
		aud := a.audience
		if aud == "" {
			aud = st.fhirBase
		}
		issuers = append(issuers, auth.Issuer{URL: a.issuer, Audiences: []string{aud}, Claims: a.issuerClaims, RoleClaim: a.roleClaim, OrgClaim: a.orgClaim})
	}
	if len(issuers) == 0 && !a.insecureDemo {
		st.close()
		return nil, fmt.Errorf("nobody could sign in: --no-idp needs --oidc-issuer (or, on your own machine only, --insecure-demo)")
	}
	v, err := auth.New(issuers)
	if err != nil {
		st.close()
		return nil, err
	}
	go v.Prefetch(ctx)
	opts := auth.Options{Public: publicPath, OnRefused: onRefused}
	if a.insecureDemo {
		opts.Insecure = access.SystemPrincipal("insecure-demo", "")
		for range 3 {
			log.Warn("INSECURE: --insecure-demo is on: anyone who can reach this server reads and writes every record without signing in. Never use it with real data.")
		}
	}
	st.middleware = auth.Middleware(v, opts)
	st.verifier = v
	return st, nil
}

// keysDir is where the server's keys live: never in the database.
func keysDir(c serveConfig) string {
	if c.auth.keys != "" {
		return c.auth.keys
	}
	return filepath.Join(c.data, "keys")
}

// openServerAudit opens the audit log beside the record: its own SQLite file in
// the data directory, or its tables in the PostgreSQL database.
func openServerAudit(ctx context.Context, c serveConfig, log *slog.Logger) (*audit.Log, error) {
	key, err := audit.LoadKey(keysDir(c))
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	o := audit.Options{Key: key, Logger: log}
	if c.db != "" {
		return audit.OpenPostgres(ctx, c.db, o)
	}
	return audit.OpenSQLite(ctx, c.data, o)
}
