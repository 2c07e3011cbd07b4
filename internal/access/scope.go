package access

import (
	"fmt"
	"strings"
)

// Perm is a set of SMART v2 permissions: create, read, update, delete,
// search (http://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
type Perm uint8

const (
	Create Perm = 1 << iota
	Read
	Update
	Delete
	Search
	// AllPerms is "cruds".
	AllPerms = Create | Read | Update | Delete | Search
)

func (p Perm) String() string {
	var b strings.Builder
	for i, c := range "cruds" {
		if p&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Scope context: whose data a resource scope reaches.
const (
	CtxPatient = "patient" // the launch patient's (or the signed-in patient's) compartment
	CtxUser    = "user"    // whatever the user may see
	CtxSystem  = "system"  // whatever the client may see
)

// ResourceScope is one clinical scope: context/Type.perms, perhaps with a
// query that narrows it (which this server does not honour: a scope with a
// query grants nothing, so an app never gets more than it asked for).
type ResourceScope struct {
	Context string
	Type    string // a resource type or "*"
	Perms   Perm
	Query   string
}

func (r ResourceScope) String() string {
	s := r.Context + "/" + r.Type + "." + r.Perms.String()
	if r.Query != "" {
		s += "?" + r.Query
	}
	return s
}

// Scopes is a parsed OAuth scope string.
type Scopes struct {
	Resources []ResourceScope
	// OpenID, FHIRUser, Offline, LaunchPatient, Launch are the identity
	// and launch scopes.
	OpenID, FHIRUser, Offline, Launch, LaunchPatient bool
	// Other holds scopes this server does not interpret (profile, email…).
	Other []string
}

// maxScopes bounds a scope string's parts: tokens come from outside.
const maxScopes = 200

// ParseScopes reads a space-separated scope string. SMART v1 permissions
// (read, write, *) are accepted as their v2 equivalents. A malformed
// clinical scope is an error, so a client cannot slip a typo past review
// and be surprised by what it was granted.
func ParseScopes(s string) (Scopes, error) {
	var out Scopes
	parts := strings.Fields(s)
	if len(parts) > maxScopes {
		return out, fmt.Errorf("too many scopes (%d, at most %d)", len(parts), maxScopes)
	}
	for _, p := range parts {
		switch p {
		case "openid":
			out.OpenID = true
			continue
		case "fhirUser":
			out.FHIRUser = true
			continue
		case "offline_access":
			out.Offline = true
			continue
		case "online_access":
			continue
		case "launch":
			out.Launch = true
			continue
		case "launch/patient":
			out.LaunchPatient = true
			continue
		}
		ctx, rest, ok := strings.Cut(p, "/")
		if !ok || (ctx != CtxPatient && ctx != CtxUser && ctx != CtxSystem) {
			if strings.HasPrefix(p, "launch/") {
				continue // launch/encounter and the like: context we do not supply
			}
			out.Other = append(out.Other, p)
			continue
		}
		rs, err := parseResourceScope(ctx, rest)
		if err != nil {
			return Scopes{}, fmt.Errorf("scope %q: %v", p, err)
		}
		out.Resources = append(out.Resources, rs)
	}
	return out, nil
}

func parseResourceScope(ctx, s string) (ResourceScope, error) {
	rs := ResourceScope{Context: ctx}
	s, rs.Query, _ = strings.Cut(s, "?")
	typ, perms, ok := strings.Cut(s, ".")
	if !ok {
		return rs, fmt.Errorf("want context/Type.permissions")
	}
	if typ != "*" && !validType(typ) {
		return rs, fmt.Errorf("%q is not a resource type name", typ)
	}
	rs.Type = typ
	switch perms {
	case "read":
		rs.Perms = Read | Search
	case "write":
		rs.Perms = Create | Update | Delete
	case "*":
		rs.Perms = AllPerms
	default:
		// v2: a non-empty subsequence of "cruds", in that order.
		last := -1
		for _, c := range perms {
			i := strings.IndexRune("cruds", c)
			if i < 0 || i <= last {
				return rs, fmt.Errorf("permissions %q are not in the form cruds", perms)
			}
			last = i
			rs.Perms |= 1 << i
		}
		if rs.Perms == 0 {
			return rs, fmt.Errorf("no permissions")
		}
	}
	return rs, nil
}

// validType is the shape of a FHIR resource type name: an upper-case
// letter then letters, at most 64 of them.
func validType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// Grants returns the permissions the scopes give on typ in the given
// context (and, for user and system contexts, nothing narrower). Scopes
// with a query grant nothing (see ResourceScope).
func (s Scopes) Grants(ctx, typ string) Perm {
	var p Perm
	for _, r := range s.Resources {
		if r.Context != ctx || r.Query != "" || (r.Type != "*" && r.Type != typ) {
			continue
		}
		p |= r.Perms
	}
	return p
}

// String writes the scopes back in a canonical form.
func (s Scopes) String() string {
	var parts []string
	if s.OpenID {
		parts = append(parts, "openid")
	}
	if s.FHIRUser {
		parts = append(parts, "fhirUser")
	}
	if s.Launch {
		parts = append(parts, "launch")
	}
	if s.LaunchPatient {
		parts = append(parts, "launch/patient")
	}
	if s.Offline {
		parts = append(parts, "offline_access")
	}
	for _, r := range s.Resources {
		parts = append(parts, r.String())
	}
	parts = append(parts, s.Other...)
	return strings.Join(parts, " ")
}
