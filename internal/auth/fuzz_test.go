package auth

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify: no input panics, and none is accepted. The seeds are signed
// by the trusted key but expired or for another audience, so the fuzzer
// starts from well-formed tokens it cannot make valid without the key
// (base64url's spare bits in the last character decode to the same bytes,
// so even those variants stay refused).
func FuzzVerify(f *testing.F) {
	k := ecKey(f)
	const url = "https://sharedcare.example/auth"
	v, err := New([]Issuer{{URL: url, Audiences: []string{testAud}, Claims: ClaimsSharedcare,
		Keys: &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{k.Public()}}}})
	if err != nil {
		f.Fatal(err)
	}
	sk := jose.SigningKey{Algorithm: jose.ES256, Key: k}
	old := time.Now().Add(-time.Hour).Unix()
	f.Add(signWith(f, sk, claimsFor(url, map[string]any{"exp": old})))
	f.Add(signWith(f, sk, claimsFor(url, map[string]any{"aud": "elsewhere"})))
	cis2 := cis2Claims(url, nil, "1")
	cis2["exp"] = old
	f.Add(signWith(f, sk, cis2))
	f.Add(unsigned(`{"alg":"none"}`, claimsFor(url, nil), ""))
	f.Add(unsigned(`{"alg":"ES256"}`, claimsFor(url, nil), "AAAA"))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		if p, err := v.Verify(context.Background(), tok); err == nil {
			t.Fatalf("accepted %q as %+v", tok, p)
		}
	})
}
