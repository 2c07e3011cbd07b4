package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
)

func nhsLoginClaims(iss string, over map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":                     iss,
		"sub":                     "49f470a1-cc52-49b7-beba-0f9cec937c46",
		"aud":                     testAud,
		"exp":                     now.Add(5 * time.Minute).Unix(),
		"iat":                     now.Unix(),
		"nhs_number":              "9434765919",
		"identity_proofing_level": "P9",
		"given_name":              "Mona",
		"family_name":             "Millar",
		"scope":                   "openid profile nhs_number",
	}
	return override(c, over)
}

func TestNHSLogin(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsNHSLogin})
	tests := []struct {
		name    string
		over    map[string]any
		nhs     string
		who     string
		refusal string
	}{
		{name: "P9 with a valid number", nhs: "9434765919", who: "Mona Millar"},
		{name: "family name only", over: map[string]any{"given_name": nil}, nhs: "9434765919", who: "Millar"},
		{name: "no names: name claim kept", over: map[string]any{"given_name": nil, "family_name": nil, "name": "M Millar"}, nhs: "9434765919", who: "M Millar"},
		{name: "P5 refused", over: map[string]any{"identity_proofing_level": "P5"}, refusal: "P5 is too low"},
		{name: "P0 refused", over: map[string]any{"identity_proofing_level": "P0"}, refusal: "P0 is too low"},
		{name: "no proofing level", over: map[string]any{"identity_proofing_level": nil}, refusal: "no identity_proofing_level"},
		{name: "proofing level not a string", over: map[string]any{"identity_proofing_level": 9}, refusal: "not a string"},
		{name: "no NHS number", over: map[string]any{"nhs_number": nil}, refusal: "no nhs_number"},
		{name: "empty NHS number", over: map[string]any{"nhs_number": ""}, refusal: "no nhs_number"},
		{name: "NHS number as a JSON number", over: map[string]any{"nhs_number": 9434765919}, refusal: "not a string"},
		{name: "NHS number with spaces", over: map[string]any{"nhs_number": "943 476 5919"}, refusal: "not ten digits"},
		{name: "nine digits", over: map[string]any{"nhs_number": "943476591"}, refusal: "not ten digits"},
		{name: "wrong check digit", over: map[string]any{"nhs_number": "9434765918"}, refusal: "Modulus 11"},
		{name: "no check digit exists", over: map[string]any{"nhs_number": "1000000010"}, refusal: "Modulus 11"},
		{name: "placeholder zeros", over: map[string]any{"nhs_number": "0000000000"}, refusal: "not a valid NHS number"},
		{name: "no subject", over: map[string]any{"sub": nil}, refusal: "no subject"},
		{name: "fhirUser refused", over: map[string]any{"fhirUser": "Patient/other"}, refusal: "must not carry fhirUser"},
		{name: "launch patient refused", over: map[string]any{"patient": "other"}, refusal: "must not carry fhirUser or patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), ti.sign(t, nhsLoginClaims(ti.URL(), tt.over)))
			if tt.refusal != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refusal) {
					t.Fatalf("got %+v, %v; want a refusal saying %q", p, err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := access.Principal{Kind: access.PatientUser, Role: access.RolePatient, Issuer: ti.URL(),
				Subject: "49f470a1-cc52-49b7-beba-0f9cec937c46", Name: tt.who, NHSNumber: tt.nhs, Unscoped: true}
			if p.Kind != want.Kind || p.Role != want.Role || p.Issuer != want.Issuer || p.Subject != want.Subject ||
				p.Name != want.Name || p.NHSNumber != want.NHSNumber || !p.Unscoped || p.FHIRUser != "" || p.Patient != "" || p.Org != "" {
				t.Errorf("got %+v\nwant %+v", *p, want)
			}
		})
	}
}

func TestNHSLoginIssuerConfig(t *testing.T) {
	if _, err := New([]Issuer{{URL: "https://auth.login.nhs.uk", Audiences: []string{"sharedcare"}, Claims: ClaimsNHSLogin}}); err != nil {
		t.Fatal(err)
	}
	if _, err := New([]Issuer{{URL: "https://auth.login.nhs.uk", Audiences: []string{"sharedcare"}, Claims: "nhs-login"}}); err == nil || !strings.Contains(err.Error(), `"nhslogin"`) {
		t.Errorf("unknown mapping: %v", err)
	}
}
