// Package auth turns the bearer token of a request into an
// access.Principal: it verifies the token against the issuers the server
// trusts (the built-in provider, NHS CIS2, any SMART on FHIR or OpenID
// Connect provider), then maps the issuer's claims onto who is asking.
// It decides only who the principal is; what they may do is for package
// access.
//
// A token is refused unless every check passes: a compact JWS no larger
// than MaxTokenSize, an asymmetric signature (see Algorithms) by a key of
// the issuer its unverified iss names, then, on the verified payload, the
// exact iss, an aud holding one of the issuer's audiences, exp (required),
// nbf and iat with a Leeway of clock skew, and claims that map cleanly.
// Every refusal carries a short reason for the audit and the client; no
// reason ever repeats the token.
//
// See docs/AUTH.md for the claim mappings and configuration.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

// MaxTokenSize bounds a token: an identity token is a few kilobytes, and
// everything the verifier does costs in proportion to the input.
const MaxTokenSize = 16 << 10

// Leeway is the clock skew allowed between the issuer and this server.
const Leeway = 60 * time.Second

// Algorithms are the signing algorithms accepted. Only asymmetric ones:
// with HMAC the verifying key is the signing key, and a server that
// accepted HS256 could be fooled by a token "signed" with the issuer's
// public key.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA,
}

// The claim mappings an Issuer can use.
const (
	ClaimsSharedcare = "sharedcare" // the built-in provider
	ClaimsCIS2       = "cis2"       // NHS Care Identity Service 2
	ClaimsSMART      = "smart"      // a generic SMART on FHIR / OpenID Connect provider
	ClaimsNHSLogin   = "nhslogin"   // NHS login, the NHS's identity service for the public
)

// Issuer is one token issuer the server trusts.
type Issuer struct {
	// URL is the issuer identifier, compared byte for byte with iss.
	URL string
	// Audiences are the aud values accepted: the server's client id or
	// resource URL at this issuer. A token must carry at least one.
	Audiences []string
	// Claims names the claim mapping: ClaimsSharedcare, ClaimsCIS2,
	// ClaimsSMART or ClaimsNHSLogin.
	Claims string
	// Keys is a local key set (for the built-in provider, which cannot
	// fetch its own discovery document while the server is starting).
	// When nil the keys come from OpenID Connect discovery at URL, fetched
	// on first use and retried with backoff while the issuer is down.
	Keys oidc.KeySet
	// RoleClaim and OrgClaim name the claims holding the role and the
	// organisation's ODS code for the "smart" mapping; a dot walks into
	// an object ("realm_access.roles"). Empty means not supplied.
	RoleClaim, OrgClaim string
	// CIS2Roles adds to or overrides the National RBAC job role table of
	// the "cis2" mapping (keys are R codes, "R8000").
	CIS2Roles map[string]access.Role
}

// Verifier checks bearer tokens against a fixed list of issuers. It is
// safe for concurrent use.
type Verifier struct {
	// Client fetches discovery documents and key sets; nil means
	// http.DefaultClient. Set it before the first Verify.
	Client *http.Client
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time

	issuers map[string]*issuer
}

type issuer struct {
	Issuer
	local oidc.KeySet

	mu       sync.Mutex
	remote   oidc.KeySet
	inflight chan struct{}
	next     time.Time // earliest next discovery attempt after a failure
	backoff  time.Duration
}

// New returns a verifier trusting issuers. It does no network I/O:
// discovery happens on first use, so the server starts while an issuer is
// down (see Prefetch).
func New(issuers []Issuer) (*Verifier, error) {
	v := &Verifier{issuers: map[string]*issuer{}}
	for i, is := range issuers {
		if err := checkIssuer(is); err != nil {
			return nil, fmt.Errorf("auth: issuer %d (%s): %v", i, is.URL, err)
		}
		if _, dup := v.issuers[is.URL]; dup {
			return nil, fmt.Errorf("auth: issuer %s is listed twice", is.URL)
		}
		v.issuers[is.URL] = &issuer{Issuer: is, local: is.Keys}
	}
	return v, nil
}

func checkIssuer(is Issuer) error {
	u, err := url.Parse(is.URL)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("URL must be an absolute https URL without query or fragment")
	}
	// Plain http would let anyone on the path swap the keys; it is allowed
	// only on the loopback interface, for development and tests.
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("URL must use https (http only for localhost)")
	}
	if len(is.Audiences) == 0 {
		return fmt.Errorf("no audiences: every token would be refused")
	}
	for _, a := range is.Audiences {
		if a == "" {
			return fmt.Errorf("an empty audience")
		}
	}
	switch is.Claims {
	case ClaimsSharedcare, ClaimsCIS2, ClaimsSMART, ClaimsNHSLogin:
	default:
		return fmt.Errorf("claims must be %q, %q, %q or %q, not %q", ClaimsSharedcare, ClaimsCIS2, ClaimsSMART, ClaimsNHSLogin, is.Claims)
	}
	for code, r := range is.CIS2Roles {
		if _, ok := access.ParseRole(string(r)); !ok {
			return fmt.Errorf("CIS2 role %s maps to unknown role %q", code, r)
		}
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Prefetch discovers the key sets of the remote issuers now rather than on
// the first request; failures are left for Verify to retry. Call it in a
// goroutine at start-up.
func (v *Verifier) Prefetch(ctx context.Context) {
	for _, is := range v.issuers {
		if is.local == nil {
			v.keySet(ctx, is)
		}
	}
}

// refuse is an authentication failure: 401 with the reason.
func refuse(format string, args ...any) *fhir.Error {
	return fhir.E(fhir.Unauthorized, format, args...)
}

// Verify checks raw and returns the principal it identifies. Errors are
// *fhir.Error of kind Unauthorized (the token is not acceptable) or
// Unavailable (its issuer's keys cannot be fetched just now); the message
// is the reason, safe to show and to audit.
func (v *Verifier) Verify(ctx context.Context, raw string) (*access.Principal, error) {
	if len(raw) > MaxTokenSize {
		return nil, refuse("token is larger than %d bytes", MaxTokenSize)
	}
	hdr, payload, err := split(raw)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(hdr); err != nil {
		return nil, err
	}
	// The unverified iss only chooses whose keys to try; it is checked
	// again on the verified payload below.
	var unverified struct {
		Iss any `json:"iss"`
	}
	if json.Unmarshal(payload, &unverified) != nil {
		return nil, refuse("token payload is not a JSON object")
	}
	issURL, _ := unverified.Iss.(string)
	is := v.issuers[issURL]
	if is == nil {
		return nil, refuse("token issuer is not trusted")
	}
	// Parse once more with the algorithm list, as the key sets do, so no
	// path through go-jose sees an algorithm checkHeader did not.
	if _, err := jose.ParseSignedCompact(raw, Algorithms); err != nil {
		return nil, refuse("token is not a well-formed JWS")
	}
	keys, ferr := v.keySet(ctx, is)
	if ferr != nil {
		return nil, ferr
	}
	verified, err := keys.VerifySignature(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fhir.E(fhir.Unavailable, "request cancelled while fetching the issuer's keys")
		}
		return nil, refuse("token signature is not valid for any key of its issuer")
	}
	c, err := decodeClaims(verified)
	if err != nil {
		return nil, err
	}
	if err := v.checkRegistered(c, is); err != nil {
		return nil, err
	}
	switch is.Claims {
	case ClaimsSharedcare:
		return mapSharedcare(c, is)
	case ClaimsCIS2:
		return mapCIS2(c, is)
	case ClaimsNHSLogin:
		return mapNHSLogin(c, is)
	default:
		return mapSMART(c, is)
	}
}

// split checks the compact serialisation by hand, before any library sees
// the token, so that whitespace, JSON serialisation and JWE (five parts)
// are refused with a clear reason.
func split(raw string) (header, payload []byte, err error) {
	if raw == "" {
		return nil, nil, refuse("token is empty")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, nil, refuse("token is not a JWT: it holds characters outside base64url")
		}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, refuse("token is not a signed JWT: want 3 dot-separated parts, have %d", len(parts))
	}
	if parts[2] == "" {
		return nil, nil, refuse("token is unsigned")
	}
	header, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return nil, nil, refuse("token is not a JWT: a part is not base64url")
	}
	return header, payload, nil
}

func checkHeader(b []byte) error {
	var h struct {
		Alg any `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return refuse("token header is not a JSON object")
	}
	alg, ok := h.Alg.(string)
	if !ok {
		return refuse("token header has no signing algorithm")
	}
	for _, a := range Algorithms {
		if string(a) == alg {
			return nil
		}
	}
	return refuse("signing algorithm %q is not accepted (asymmetric algorithms only)", clip(alg, 16))
}

// checkRegistered checks the registered claims of RFC 7519 on the verified
// payload.
func (v *Verifier) checkRegistered(c claims, is *issuer) error {
	iss, err := c.str("iss")
	if err != nil || iss != is.URL {
		return refuse("token issuer does not match the key set that verified it")
	}
	aud, err := c.strs("aud")
	if err != nil {
		return refuse("token aud is malformed")
	}
	if !anyIn(aud, is.Audiences) {
		return refuse("token audience is not this server")
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	exp, ok, err := c.time("exp")
	if err != nil {
		return err
	}
	if !ok {
		return refuse("token has no expiry (exp)")
	}
	if now.After(exp.Add(Leeway)) {
		return refuse("token has expired")
	}
	if nbf, ok, err := c.time("nbf"); err != nil {
		return err
	} else if ok && now.Add(Leeway).Before(nbf) {
		return refuse("token is not valid yet (nbf)")
	}
	if iat, ok, err := c.time("iat"); err != nil {
		return err
	} else if ok && now.Add(Leeway).Before(iat) {
		return refuse("token was issued in the future (iat)")
	}
	return nil
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// keySet returns the issuer's keys, discovering them on first use. One
// discovery runs at a time per issuer; after a failure the next attempt
// waits (5 s, doubling to 5 min) so a dead issuer is not hammered by every
// request, and requests meanwhile get a quick 503.
func (v *Verifier) keySet(ctx context.Context, is *issuer) (oidc.KeySet, *fhir.Error) {
	if is.local != nil {
		return is.local, nil
	}
	is.mu.Lock()
	if is.remote != nil {
		defer is.mu.Unlock()
		return is.remote, nil
	}
	if ch := is.inflight; ch != nil {
		is.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fhir.E(fhir.Unavailable, "request cancelled while fetching the issuer's keys")
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		if is.remote != nil {
			return is.remote, nil
		}
		return nil, unavailable()
	}
	if time.Now().Before(is.next) {
		is.mu.Unlock()
		return nil, unavailable()
	}
	ch := make(chan struct{})
	is.inflight = ch
	is.mu.Unlock()

	keys, err := v.discover(is.URL)

	is.mu.Lock()
	defer is.mu.Unlock()
	is.inflight = nil
	close(ch)
	if err != nil {
		if is.backoff == 0 {
			is.backoff = 5 * time.Second
		} else if is.backoff < 5*time.Minute {
			is.backoff *= 2
		}
		is.next = time.Now().Add(is.backoff)
		return nil, unavailable()
	}
	is.remote, is.backoff = keys, 0
	return keys, nil
}

func unavailable() *fhir.Error {
	return fhir.E(fhir.Unavailable, "the token's issuer cannot be reached to fetch its keys; try again shortly")
}

// discover reads the issuer's discovery document and returns a key set
// that caches the JWKS and refetches it when a token names an unknown key
// (go-oidc's RemoteKeySet). Discovery is detached from the request that
// triggered it: other requests wait on it too.
func (v *Verifier) discover(issuerURL string) (oidc.KeySet, error) {
	ctx := context.Background()
	if v.Client != nil {
		ctx = oidc.ClientContext(ctx, v.Client)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, issuerURL)
	if err != nil {
		return nil, err
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil || doc.JWKS == "" {
		return nil, fmt.Errorf("discovery document has no jwks_uri")
	}
	return oidc.NewRemoteKeySet(ctx, doc.JWKS), nil
}

// clip shortens s for a reason string and keeps only printable ASCII, so
// nothing a client sends can forge a log line or a header.
func clip(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
