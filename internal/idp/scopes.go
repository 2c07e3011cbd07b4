package idp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
)

// grantee is who a token is for, which bounds the clinical scopes it may
// carry whatever the client is allowed.
type grantee uint8

const (
	granteeProfessional grantee = iota // patient/ and user/ scopes
	granteePatient                     // patient/ scopes only
	granteeSystem                      // system/ scopes only
	granteeUnknown                     // before sign-in: patient/ and user/, narrowed after
)

// identityScopes are the non-clinical scopes a user's token may carry.
var identityScopes = []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "profile"}

// grantScopes returns the scopes to grant: each requested scope that the
// client's allowed scopes cover, narrowed to what they allow, and never
// wider than asked. A clinical scope that does not parse is an error
// (invalid_scope), so a typo is not silently dropped.
func grantScopes(requested, allowed []string, who grantee) ([]string, error) {
	var allow []access.ResourceScope
	for _, a := range allowed {
		ps, err := access.ParseScopes(a)
		if err != nil {
			continue // refused when the client was added; skip if edited by hand
		}
		allow = append(allow, ps.Resources...)
	}
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, r := range requested {
		if slices.Contains(identityScopes, r) {
			if who != granteeSystem && slices.Contains(allowed, r) {
				add(r)
			}
			continue
		}
		ps, err := access.ParseScopes(r)
		if err != nil {
			return nil, err
		}
		for _, rs := range ps.Resources {
			if !contextAllowed(rs.Context, who) {
				continue
			}
			if rs.Query != "" {
				// A narrowing query is honoured nowhere (see
				// access.ResourceScope), so grant it only when allowed
				// word for word.
				if slices.Contains(allowed, r) {
					add(r)
				}
				continue
			}
			for _, a := range allow {
				if g, ok := intersect(rs, a); ok {
					if g == rs {
						add(r) // as asked, in the client's own spelling
					} else {
						add(g.String())
					}
				}
			}
		}
	}
	return out, nil
}

func contextAllowed(ctx string, who grantee) bool {
	switch who {
	case granteeSystem:
		return ctx == access.CtxSystem
	case granteePatient:
		return ctx == access.CtxPatient
	default:
		return ctx == access.CtxPatient || ctx == access.CtxUser
	}
}

// intersect is what both scopes grant, if anything.
func intersect(r, a access.ResourceScope) (access.ResourceScope, bool) {
	if r.Context != a.Context || a.Query != "" {
		return access.ResourceScope{}, false
	}
	g := access.ResourceScope{Context: r.Context, Perms: r.Perms & a.Perms}
	switch {
	case r.Type == a.Type || a.Type == "*":
		g.Type = r.Type
	case r.Type == "*":
		g.Type = a.Type
	default:
		return access.ResourceScope{}, false
	}
	return g, g.Perms != 0
}

// narrowForUser keeps the scopes granted at authorize time that suit the
// user who signed in: patients get no user/ scopes.
func narrowForUser(scopes []string, patientUser bool) []string {
	if !patientUser {
		return scopes
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool {
		return strings.HasPrefix(s, access.CtxUser+"/")
	})
}

// scopeError is an invalid_scope description.
func scopeError(err error) string { return fmt.Sprintf("invalid scope: %v", err) }
