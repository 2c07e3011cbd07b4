package auth

import (
	"context"
	"crypto"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

const testAud = "https://fhir.example/fhir"

func mustScopes(t testing.TB, s string) access.Scopes {
	t.Helper()
	sc, err := access.ParseScopes(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func newVerifier(t testing.TB, issuers ...Issuer) *Verifier {
	t.Helper()
	v, err := New(issuers)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyRefusals(t *testing.T) {
	ti := newTestIssuer(t)
	other := newTestIssuer(t)
	other.key = ecKey(t) // a second provider with its own key
	other.alg = jose.ES256
	v := newVerifier(t,
		Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare},
		Issuer{URL: other.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare},
	)
	good := ti.sign(t, claimsFor(ti.URL(), nil))
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	now := time.Now()
	parts := strings.Split(good, ".")
	tamperedClaims := claimsFor(ti.URL(), map[string]any{"sharedcare_role": "admin"})
	tb, _ := jsonMarshal(tamperedClaims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(tb) + "." + parts[2]

	stranger := ecKey(t)
	tests := []struct {
		name   string
		token  string
		reason string // a substring of the refusal
	}{
		{"expired", ti.sign(t, claimsFor(ti.URL(), map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), "expired"},
		{"no exp", ti.sign(t, claimsFor(ti.URL(), map[string]any{"exp": nil})), "no expiry"},
		{"exp not a number", ti.sign(t, claimsFor(ti.URL(), map[string]any{"exp": "tomorrow"})), "NumericDate"},
		{"not yet valid", ti.sign(t, claimsFor(ti.URL(), map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})), "not valid yet"},
		{"issued in the future", ti.sign(t, claimsFor(ti.URL(), map[string]any{"iat": now.Add(2 * time.Minute).Unix()})), "issued in the future"},
		{"wrong audience", ti.sign(t, claimsFor(ti.URL(), map[string]any{"aud": "https://elsewhere.example"})), "audience"},
		{"no audience", ti.sign(t, claimsFor(ti.URL(), map[string]any{"aud": nil})), "audience"},
		{"untrusted issuer", ti.sign(t, claimsFor("https://evil.example", nil)), "not trusted"},
		{"issuer differs by a slash", ti.sign(t, claimsFor(ti.URL()+"/", nil)), "not trusted"},
		{"trusted issuer signed by another trusted issuer", other.sign(t, claimsFor(ti.URL(), nil)), "signature"},
		{"signed by an unknown key", signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: "k1"}}, claimsFor(ti.URL(), nil)), "signature"},
		{"unknown key id", signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: "nope"}}, claimsFor(ti.URL(), nil)), "signature"},
		{"alg none unsigned", unsigned(`{"alg":"none","typ":"JWT"}`, claimsFor(ti.URL(), nil), ""), "unsigned"},
		{"alg none with a signature", unsigned(`{"alg":"none"}`, claimsFor(ti.URL(), nil), "c2ln"), `"none" is not accepted`},
		{"alg None", unsigned(`{"alg":"None"}`, claimsFor(ti.URL(), nil), "c2ln"), "not accepted"},
		{"no alg", unsigned(`{"typ":"JWT"}`, claimsFor(ti.URL(), nil), "c2ln"), "no signing algorithm"},
		{"HS256 signed with the public key", signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: publicKeyPEM(t, ti.key.Public())}, claimsFor(ti.URL(), nil)), `"HS256" is not accepted`},
		{"HS256 signed with the DER public key", signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: derOf(t, ti.key.Public())}, claimsFor(ti.URL(), nil)), "not accepted"},
		{"ES512 (not on our list)", signWith(t, jose.SigningKey{Algorithm: jose.ES512, Key: mustP521(t)}, claimsFor(ti.URL(), nil)), "not accepted"},
		{"tampered payload", tampered, "signature"},
		{"signature of another token", parts[0] + "." + strings.Split(ti.sign(t, claimsFor(ti.URL(), map[string]any{"sub": "x"})), ".")[1] + "." + parts[2], "signature"},
		{"empty", "", "empty"},
		{"garbage", "hello", "3 dot-separated parts"},
		{"three dots of garbage", "a.b.c", "not a JWT"},
		{"four parts", good + ".x", "3 dot-separated parts"},
		{"JWE shape", "a.b.c.d.e", "3 dot-separated parts"},
		{"whitespace inside", parts[0] + ". " + parts[1] + "." + parts[2], "outside base64url"},
		{"JSON serialisation", `{"payload":"x","signatures":[]}`, "outside base64url"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], "header is not a JSON object"},
		{"payload not JSON", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("[1,2]")) + "." + parts[2], "payload is not a JSON object"},
		{"oversize", strings.Repeat("a", MaxTokenSize+1), "larger than"},
		{"no subject", ti.sign(t, claimsFor(ti.URL(), map[string]any{"sub": nil})), "no subject"},
		{"malformed clinical scope", ti.sign(t, claimsFor(ti.URL(), map[string]any{"scope": "patient/Observation.x"})), "scopes are malformed"},
		{"role contradicts fhirUser", ti.sign(t, claimsFor(ti.URL(), map[string]any{"fhirUser": "Patient/123"})), "contradicts"},
		{"fhirUser not a reference", ti.sign(t, claimsFor(ti.URL(), map[string]any{"fhirUser": "Observation/1"})), "fhirUser"},
		{"org not an ODS code", ti.sign(t, claimsFor(ti.URL(), map[string]any{"sharedcare_org": "a81 001"})), "ODS"},
		{"sub not a string", ti.sign(t, claimsFor(ti.URL(), map[string]any{"sub": 42})), "not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if k := fhir.KindOf(err); k != fhir.Unauthorized {
				t.Errorf("kind %v, want unauthorized (%v)", k, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("reason %q does not say %q", err, tt.reason)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[:20]) {
				t.Errorf("reason echoes the token: %v", err)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	now := time.Now()
	for name, over := range map[string]map[string]any{
		"expired 30s ago":          {"exp": now.Add(-30 * time.Second).Unix()},
		"valid from 30s from now":  {"nbf": now.Add(30 * time.Second).Unix()},
		"issued 30s from now":      {"iat": now.Add(30 * time.Second).Unix()},
		"fractional exp":           {"exp": float64(now.Add(time.Minute).UnixNano()) / 1e9},
		"audience among several":   {"aud": []string{"other", testAud}},
		"audience as a string":     {"aud": testAud},
		"no nbf, no iat":           {"nbf": nil, "iat": nil},
		"fhirUser as absolute URL": {"fhirUser": "https://fhir.example/fhir/Practitioner/p1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), ti.sign(t, claimsFor(ti.URL(), over))); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestSharedcareMapping(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	base := func(p access.Principal) *access.Principal {
		p.Issuer = ti.URL()
		if p.Subject == "" {
			p.Subject = "user-1"
		}
		return &p
	}
	tests := []struct {
		name string
		over map[string]any
		want *access.Principal
	}{
		{"clinician", map[string]any{"patient": "pat-9", "purpose_of_use": "TREAT"}, base(access.Principal{
			Kind: access.User, Name: "Dr Ada Jones", Role: access.RoleGP, Org: "A81001", FHIRUser: "Practitioner/p1",
			Patient: "pat-9", Purpose: "TREAT", ClientID: "portal", Scopes: mustScopes(t, "openid fhirUser user/*.rs"),
		})},
		{"system by client credentials", map[string]any{"sharedcare_role": "system", "fhirUser": nil, "name": nil, "sub": "feed-engine", "client_id": nil, "azp": "engine", "scope": "system/Patient.rs"}, base(access.Principal{
			Kind: access.System, Subject: "feed-engine", Role: access.RoleSystem, Org: "A81001", ClientID: "engine", Scopes: mustScopes(t, "system/Patient.rs"),
		})},
		{"patient by role", map[string]any{"sharedcare_role": "patient", "fhirUser": "Patient/pat-1", "sharedcare_org": nil, "scope": "patient/*.rs"}, base(access.Principal{
			Kind: access.PatientUser, Name: "Dr Ada Jones", Role: access.RolePatient, FHIRUser: "Patient/pat-1", ClientID: "portal", Scopes: mustScopes(t, "patient/*.rs"),
		})},
		{"delegate by fhirUser, no role", map[string]any{"sharedcare_role": nil, "fhirUser": "RelatedPerson/rp-1", "sharedcare_org": nil, "scope": nil}, base(access.Principal{
			Kind: access.PatientUser, Name: "Dr Ada Jones", Role: access.RolePatient, FHIRUser: "RelatedPerson/rp-1", ClientID: "portal",
		})},
		{"unknown role: user with no role", map[string]any{"sharedcare_role": "wizard"}, base(access.Principal{
			Kind: access.User, Name: "Dr Ada Jones", Org: "A81001", FHIRUser: "Practitioner/p1", ClientID: "portal", Scopes: mustScopes(t, "openid fhirUser user/*.rs"),
		})},
		{"missing role: user with no role", map[string]any{"sharedcare_role": nil}, base(access.Principal{
			Kind: access.User, Name: "Dr Ada Jones", Org: "A81001", FHIRUser: "Practitioner/p1", ClientID: "portal", Scopes: mustScopes(t, "openid fhirUser user/*.rs"),
		})},
		{"scp array", map[string]any{"scope": nil, "scp": []string{"openid", "user/Observation.read"}}, base(access.Principal{
			Kind: access.User, Name: "Dr Ada Jones", Role: access.RoleGP, Org: "A81001", FHIRUser: "Practitioner/p1", ClientID: "portal", Scopes: mustScopes(t, "openid user/Observation.read"),
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), ti.sign(t, claimsFor(ti.URL(), tt.over)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("principal (-want +got):\n%s", d)
			}
		})
	}
}

func TestSMARTMapping(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSMART,
		RoleClaim: "realm_access.roles", OrgClaim: "ods"})
	kc := func(roles ...string) map[string]any {
		return map[string]any{"sharedcare_role": nil, "sharedcare_org": nil, "ods": "RXX01",
			"realm_access": map[string]any{"roles": roles}}
	}
	p, err := v.Verify(context.Background(), ti.sign(t, claimsFor(ti.URL(), kc("offline_access", "nurse", "uma_authorization"))))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != access.User || p.Role != access.RoleNurse || p.Org != "RXX01" {
		t.Errorf("got kind %v role %q org %q", p.Kind, p.Role, p.Org)
	}
	// The sharedcare claims mean nothing from another issuer.
	p, err = v.Verify(context.Background(), ti.sign(t, claimsFor(ti.URL(), map[string]any{"sharedcare_role": "admin"})))
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != "" || p.Org != "" {
		t.Errorf("sharedcare claims read from a smart issuer: role %q org %q", p.Role, p.Org)
	}
	if _, err := v.Verify(context.Background(), ti.sign(t, claimsFor(ti.URL(), kc("gp", "admin")))); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("two roles: %v", err)
	}
}

func TestLocalKeySet(t *testing.T) {
	k := ecKey(t)
	const url = "https://sharedcare.example/auth"
	v := newVerifier(t, Issuer{URL: url, Audiences: []string{testAud}, Claims: ClaimsSharedcare,
		Keys: &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{k.Public()}}})
	tok := signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: k}, claimsFor(url, nil))
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != access.RoleGP || p.ID() != url+"#user-1" {
		t.Errorf("got %+v", p)
	}
	other := signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: ecKey(t)}, claimsFor(url, nil))
	if _, err := v.Verify(context.Background(), other); err == nil {
		t.Error("token by another key accepted")
	}
}

func TestIssuerDown(t *testing.T) {
	ti := newTestIssuer(t)
	ti.down.Store(true)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	tok := ti.sign(t, claimsFor(ti.URL(), nil))
	_, err := v.Verify(context.Background(), tok)
	if fhir.KindOf(err) != fhir.Unavailable {
		t.Fatalf("issuer down: %v, want unavailable", err)
	}
	// Within the backoff the issuer is not asked again.
	hits := ti.hits.Load()
	if _, err := v.Verify(context.Background(), tok); fhir.KindOf(err) != fhir.Unavailable {
		t.Fatalf("issuer down, second try: %v", err)
	}
	if ti.hits.Load() != hits {
		t.Error("discovery retried within the backoff")
	}
	// Once it is back and the backoff has passed, tokens verify.
	ti.down.Store(false)
	v.issuers[ti.URL()].mu.Lock()
	v.issuers[ti.URL()].next = time.Time{}
	v.issuers[ti.URL()].mu.Unlock()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("issuer back: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, is := range map[string]Issuer{
		"no URL":         {Audiences: []string{"a"}, Claims: ClaimsSMART},
		"plain http":     {URL: "http://idp.example", Audiences: []string{"a"}, Claims: ClaimsSMART},
		"no audience":    {URL: "https://idp.example", Claims: ClaimsSMART},
		"empty aud":      {URL: "https://idp.example", Audiences: []string{""}, Claims: ClaimsSMART},
		"unknown claims": {URL: "https://idp.example", Audiences: []string{"a"}, Claims: "okta"},
		"bad CIS2 role":  {URL: "https://idp.example", Audiences: []string{"a"}, Claims: ClaimsCIS2, CIS2Roles: map[string]access.Role{"R8000": "doctor"}},
	} {
		if _, err := New([]Issuer{is}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dup := Issuer{URL: "https://idp.example", Audiences: []string{"a"}, Claims: ClaimsSMART}
	if _, err := New([]Issuer{dup, dup}); err == nil {
		t.Error("duplicate issuer accepted")
	}
}

// Requests arriving together while an issuer is first discovered share one
// discovery and all succeed.
func TestConcurrentFirstUse(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsSharedcare})
	tok := ti.sign(t, claimsFor(ti.URL(), nil))
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := ti.hits.Load(); n != 1 {
		t.Errorf("%d discoveries, want 1", n)
	}
}
