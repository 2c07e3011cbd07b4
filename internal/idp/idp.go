// Package idp is the built-in OpenID Connect provider for the demo,
// development and small sites: it signs in the people and systems that use
// the FHIR API and issues the SMART on FHIR tokens the API verifies.
// Production sites point the API at an external provider (CIS2, NHS login)
// instead; this one stays small.
//
// The protocol is zitadel's op package; what is ours is the storage (users,
// clients, auth requests, codes, refresh tokens and launches in SQLite or
// PostgreSQL), the sign-in pages, the SMART scopes and launch context, and
// the claims access tokens carry for internal/auth. docs/IDP.md has the
// endpoints, flows and the claim contract.
package idp

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Config configures a Provider.
type Config struct {
	// Issuer is the provider's public URL, e.g. http://host:8080/auth;
	// Handler serves under its path.
	Issuer string
	// Audience is the FHIR base URL; access tokens name it in aud.
	Audience string
	// Store is the database: a SQLite file (see SQLitePath) or a
	// postgres:// URL.
	Store string
	// KeyDir holds the signing key, made on first start.
	KeyDir string
	// AccessTTL and RefreshTTL are token lifetimes (default 1 hour and
	// 30 days).
	AccessTTL, RefreshTTL time.Duration
	// Demo lists the users on the sign-in page, with DemoPassword when
	// it is set: for a demo site only.
	Demo         bool
	DemoPassword string
	Log          *slog.Logger
}

func (c *Config) issuerPath() string {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

// Provider is the OpenID provider.
type Provider struct {
	cfg     Config
	store   *Store
	st      *storage
	key     *signingKey
	op      *op.Provider
	handler http.Handler
	tmpl    *template.Template
}

// New opens the database and the signing key (making both on first start)
// and returns the provider.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("idp: issuer %q must be an http(s) URL without query or fragment", cfg.Issuer)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	key, err := loadOrCreateKey(cfg.KeyDir)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, store: store, key: key, tmpl: pageTemplates}
	p.st = &storage{Store: store, cfg: &p.cfg, key: key}
	opCfg := &op.Config{
		CryptoKey:                key.cryptoKey(),
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.BritishEnglish},
		DefaultLogoutRedirectURI: p.cfg.issuerPath() + "/signed-out",
		SupportedScopes:          []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "profile"},
		SupportedClaims:          []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "name", "preferred_username", "fhirUser"},
	}
	var opts []op.Option
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(opCfg, p.st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("idp: %w", err)
	}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint("authorize"),
		Token:         op.NewEndpoint("oauth/token"),
		Userinfo:      op.NewEndpoint("userinfo"),
		Revocation:    op.NewEndpoint("revoke"),
		EndSession:    op.NewEndpoint("end_session"),
		JwksURI:       op.NewEndpoint("keys"),
	}
	srv := &server{LegacyServer: op.NewLegacyServer(p.op, endpoints), p: p}
	protocol := op.RegisterLegacyServer(srv, op.AuthorizeCallbackHandler(p.op))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.loginSubmit)
	mux.HandleFunc("GET /login/patient", p.patientPage)
	mux.HandleFunc("POST /login/patient", p.patientSubmit)
	mux.HandleFunc("POST /launch", p.launchHandler)
	mux.HandleFunc("GET /signed-out", p.signedOut)
	mux.Handle("/", protocol)
	p.handler = http.StripPrefix(p.cfg.issuerPath(), securityHeaders(mux))
	return p, nil
}

// Close closes the database.
func (p *Provider) Close() error { return p.store.Close() }

// Store is the provider's account store (users, clients).
func (p *Provider) Store() *Store { return p.store }

// SeedDemo creates the demo's users and clients if they do not exist yet.
func (p *Provider) SeedDemo(ctx context.Context, users []User, clients []Client) error {
	return p.store.SeedDemo(ctx, users, clients)
}

// Handler serves the provider under the issuer's path (mount it at
// "/auth/" for an issuer ending in /auth).
func (p *Provider) Handler() http.Handler { return p.handler }

// KeySet is the provider's public keys, for a server that verifies the
// provider's tokens without fetching its discovery document.
func (p *Provider) KeySet() *gooidc.StaticKeySet {
	return &gooidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&p.key.priv.PublicKey}}
}

// Issuer is the provider's issuer URL, as tokens carry it.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// SmartConfiguration is the document the FHIR server serves at
// fhirBase/.well-known/smart-configuration (SMART App Launch v2).
func (p *Provider) SmartConfiguration(fhirBase string) []byte {
	iss := p.cfg.Issuer
	doc := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/keys",
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/oauth/token",
		"revocation_endpoint":                   iss + "/revoke",
		"userinfo_endpoint":                     iss + "/userinfo",
		"grant_types_supported":                 []string{"authorization_code", "client_credentials", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported": []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access",
			"patient/*.cruds", "patient/*.rs", "user/*.cruds", "user/*.rs", "system/*.cruds", "system/*.rs"},
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities": []string{"launch-standalone", "launch-ehr", "client-public", "client-confidential-symmetric",
			"context-standalone-patient", "context-ehr-patient", "permission-v2", "permission-v1", "permission-patient",
			"permission-user", "permission-offline", "sso-openid-connect"},
	}
	if fhirBase != "" && fhirBase != p.cfg.Audience {
		// Tokens name one FHIR base; a server mounted elsewhere would
		// refuse them, so say which.
		p.cfg.Log.Warn("smart-configuration served for a FHIR base that is not the tokens' audience", "base", fhirBase, "audience", p.cfg.Audience)
	}
	b, _ := json.Marshal(doc)
	return b
}

// NewLaunch makes an EHR launch: an opaque id, good once within ttl, that
// an app passes as launch=<id> with the launch scope to get a token whose
// patient is patientID.
func (p *Provider) NewLaunch(ctx context.Context, patientID string, ttl time.Duration) (string, error) {
	if !ValidPatientID(patientID) {
		return "", fmt.Errorf("idp: %q is not a Patient id", patientID)
	}
	if ttl <= 0 || ttl > time.Hour {
		ttl = 5 * time.Minute
	}
	id := randomToken(24)
	_, err := p.store.db.exec(ctx, "INSERT INTO idp_launch (id_hash, patient, expires_at) VALUES (?, ?, ?)", hashToken(id), patientID, unix(time.Now().Add(ttl)))
	if err != nil {
		return "", err
	}
	p.store.db.exec(ctx, "DELETE FROM idp_launch WHERE expires_at < ?", unix(time.Now()))
	return id, nil
}

var errLaunchUnknown = errors.New("unknown, expired or already used launch")

// consumeLaunch returns a launch's patient and forgets the launch.
func (s *Store) consumeLaunch(ctx context.Context, id string) (string, error) {
	var patient string
	var exp int64
	err := s.db.queryRow(ctx, "DELETE FROM idp_launch WHERE id_hash = ? RETURNING patient, expires_at", hashToken(id)).Scan(&patient, &exp)
	if err != nil || exp < unix(time.Now()) {
		return "", errLaunchUnknown
	}
	return patient, nil
}

// securityHeaders keeps the sign-in pages out of frames (clickjacking) and
// out of caches. No form-action: browsers apply it to the redirect chain
// after sign-in, which ends at the app's own redirect URI.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
