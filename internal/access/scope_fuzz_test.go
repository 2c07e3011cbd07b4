package access

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseScopes: ParseScopes never panics, and whatever it accepts
// writes back (String) to a form that parses to the same grants.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{
		"openid fhirUser launch/patient offline_access",
		"patient/*.rs user/Observation.read system/Patient.*",
		"patient/Observation.rs?category=laboratory",
		"user/Patient.write profile launch/encounter",
		"patient/Observation.sr",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseScopes(s)
		if err != nil {
			return
		}
		b, err := ParseScopes(a.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String %q does not: %v", s, a.String(), err)
		}
		if d := cmp.Diff(a, b); d != "" {
			t.Fatalf("%q → %q changed the scopes (-first +second):\n%s", s, a.String(), d)
		}
		for _, ctx := range []string{CtxPatient, CtxUser, CtxSystem} {
			for _, typ := range []string{"Patient", "Observation", "*"} {
				if a.Grants(ctx, typ) != b.Grants(ctx, typ) {
					t.Fatalf("%q: grants on %s/%s differ after a round trip", s, ctx, typ)
				}
			}
		}
	})
}
