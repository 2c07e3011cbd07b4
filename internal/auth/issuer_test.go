package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testIssuer is an OpenID Connect provider in a test: a discovery document
// and a JWKS over HTTP, and a signing key.
type testIssuer struct {
	srv  *httptest.Server
	key  crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
	down atomic.Bool // discovery answers 503
	hits atomic.Int32
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// sharedRSAKey is made once: RSA key generation is slow on a shared CPU.
func sharedRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return rsaKey
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestIssuer(t testing.TB) *testIssuer {
	ti := &testIssuer{key: sharedRSAKey(t), alg: jose.RS256, kid: "k1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ti.hits.Add(1)
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                ti.srv.URL,
			"jwks_uri":                              ti.srv.URL + "/jwks",
			"authorization_endpoint":                ti.srv.URL + "/authorize",
			"token_endpoint":                        ti.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: ti.key.Public(), KeyID: ti.kid, Algorithm: string(ti.alg), Use: "sig",
		}}})
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) URL() string { return ti.srv.URL }

// sign signs claims with the issuer's key.
func (ti *testIssuer) sign(t testing.TB, claims map[string]any) string {
	return signWith(t, jose.SigningKey{Algorithm: ti.alg, Key: jose.JSONWebKey{Key: ti.key, KeyID: ti.kid}}, claims)
}

func signWith(t testing.TB, key jose.SigningKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unsigned builds a token with the given header and no signature check
// possible: alg=none and friends.
func unsigned(header string, claims map[string]any, sig string) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc(b) + "." + sig
}

// publicKeyPEM is the issuer's public key as PEM, the bytes an attacker
// uses as an HMAC secret in the algorithm-confusion attack.
func publicKeyPEM(t testing.TB, pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// claimsFor is a good token's claims for the built-in provider, with
// overrides (a nil value deletes the claim).
func claimsFor(iss string, over map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":             iss,
		"sub":             "user-1",
		"aud":             []string{"https://fhir.example/fhir"},
		"exp":             now.Add(10 * time.Minute).Unix(),
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"name":            "Dr Ada Jones",
		"fhirUser":        "Practitioner/p1",
		"scope":           "openid fhirUser user/*.rs",
		"sharedcare_role": "gp",
		"sharedcare_org":  "A81001",
		"client_id":       "portal",
	}
	return override(c, over)
}

// override applies over to claims c: a nil value removes the claim.
func override(c, over map[string]any) map[string]any {
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func derOf(t testing.TB, pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustP521(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
