package auth

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
)

// claims is a verified payload, each claim kept raw until a mapping asks
// for it with the type it expects; a claim of the wrong type refuses the
// token rather than being read as empty.
type claims map[string]json.RawMessage

func decodeClaims(b []byte) (claims, error) {
	var c claims
	if err := json.Unmarshal(b, &c); err != nil || c == nil {
		return nil, refuse("token payload is not a JSON object")
	}
	return c, nil
}

func absent(raw json.RawMessage) bool {
	return raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// lookup finds a claim by name; a dot walks into objects, for providers
// that nest roles (Keycloak's realm_access.roles).
func (c claims) lookup(name string) json.RawMessage {
	if raw, ok := c[name]; ok || !strings.Contains(name, ".") {
		return raw
	}
	head, rest, _ := strings.Cut(name, ".")
	var inner claims
	if json.Unmarshal(c[head], &inner) != nil {
		return nil
	}
	return inner.lookup(rest)
}

// str returns a string claim, "" when absent.
func (c claims) str(name string) (string, error) {
	raw := c.lookup(name)
	if absent(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", refuse("claim %s is not a string", clip(name, 40))
	}
	return s, nil
}

// strs returns a claim that may be one string or an array of strings.
func (c claims) strs(name string) ([]string, error) {
	raw := c.lookup(name)
	if absent(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, refuse("claim %s is neither a string nor an array of strings", clip(name, 40))
	}
	return list, nil
}

// time reads a NumericDate (seconds since 1970, perhaps fractional).
func (c claims) time(name string) (time.Time, bool, error) {
	raw := c.lookup(name)
	if absent(raw) {
		return time.Time{}, false, nil
	}
	var f float64
	// Bounded to years 1970–5138 so the conversion cannot overflow.
	if json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, false, refuse("claim %s is not a NumericDate", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// scopes reads scope (a space-separated string, as RFC 8693 and SMART
// say) or, failing that, scp (an array in Okta and Azure, sometimes a
// string), and parses them: a malformed clinical scope refuses the token.
func (c claims) scopes() (access.Scopes, error) {
	name := "scope"
	if absent(c.lookup(name)) {
		name = "scp"
	}
	list, err := c.strs(name)
	if err != nil {
		return access.Scopes{}, err
	}
	s, err := access.ParseScopes(strings.Join(list, " "))
	if err != nil {
		return access.Scopes{}, refuse("token scopes are malformed: %s", clip(err.Error(), 160))
	}
	return s, nil
}

// base fills what every mapping reads the same way: the account, the
// scopes, the launch context, the client.
func base(c claims, is *issuer) (*access.Principal, error) {
	p := &access.Principal{Issuer: is.URL}
	var err error
	if p.Subject, err = c.str("sub"); err != nil {
		return nil, err
	}
	if p.Name, err = c.str("name"); err != nil {
		return nil, err
	}
	fu, err := c.str("fhirUser")
	if err != nil {
		return nil, err
	}
	if p.FHIRUser, err = fhirUser(fu); err != nil {
		return nil, err
	}
	if p.Patient, err = c.str("patient"); err != nil {
		return nil, err
	}
	if p.Patient != "" && !fhirID(p.Patient) {
		return nil, refuse("claim patient is not a FHIR resource id")
	}
	if p.Purpose, err = c.str("purpose_of_use"); err != nil {
		return nil, err
	}
	if p.Purpose != "" && !purposeCode(p.Purpose) {
		return nil, refuse("claim purpose_of_use is not a PurposeOfUse code")
	}
	if p.ClientID, err = c.str("client_id"); err != nil {
		return nil, err
	}
	if p.ClientID == "" {
		if p.ClientID, err = c.str("azp"); err != nil {
			return nil, err
		}
	}
	if p.Scopes, err = c.scopes(); err != nil {
		return nil, err
	}
	return p, nil
}

func requireSubject(p *access.Principal) error {
	if p.Subject == "" {
		return refuse("token has no subject (sub)")
	}
	return nil
}

// mapSharedcare reads the claims of the built-in provider (the contract is
// written down in docs/AUTH.md).
func mapSharedcare(c claims, is *issuer) (*access.Principal, error) {
	p, err := base(c, is)
	if err != nil {
		return nil, err
	}
	if err := requireSubject(p); err != nil {
		return nil, err
	}
	role, err := c.str("sharedcare_role")
	if err != nil {
		return nil, err
	}
	if p.Org, err = c.str("sharedcare_org"); err != nil {
		return nil, err
	}
	if p.Org != "" && !odsCode(p.Org) {
		return nil, refuse("claim sharedcare_org is not an ODS code")
	}
	if err := setKind(p, role); err != nil {
		return nil, err
	}
	return p, nil
}

// mapSMART reads a generic SMART on FHIR provider, with the role and
// organisation in the claims the issuer is configured with.
func mapSMART(c claims, is *issuer) (*access.Principal, error) {
	p, err := base(c, is)
	if err != nil {
		return nil, err
	}
	if err := requireSubject(p); err != nil {
		return nil, err
	}
	var role string
	if is.RoleClaim != "" {
		names, err := c.strs(is.RoleClaim)
		if err != nil {
			return nil, err
		}
		// Providers list every role of the account, most of them not ours
		// (offline_access, uma_authorization); more than one of ours is
		// ambiguous, and guessing would grant the wrong one.
		for _, n := range names {
			r, ok := access.ParseRole(n)
			if !ok || string(r) == role {
				continue
			}
			if role != "" {
				return nil, refuse("token carries more than one sharedcare role in %s; one must be chosen", clip(is.RoleClaim, 40))
			}
			role = string(r)
		}
	}
	if is.OrgClaim != "" {
		if p.Org, err = c.str(is.OrgClaim); err != nil {
			return nil, err
		}
		if p.Org != "" && !odsCode(p.Org) {
			return nil, refuse("claim %s is not an ODS code", clip(is.OrgClaim, 40))
		}
	}
	if err := setKind(p, role); err != nil {
		return nil, err
	}
	return p, nil
}

// setKind decides the kind of principal from the role claim and fhirUser.
// An unknown or missing role leaves a user with no role, whom the policy
// refuses by default: that is a matter for authorisation, not a failure of
// authentication. A role that contradicts fhirUser (a GP whose fhirUser is
// a Patient) refuses the token: one of the two is wrong, and either guess
// could grant too much.
func setKind(p *access.Principal, roleName string) error {
	r, known := access.ParseRole(roleName)
	public := strings.HasPrefix(p.FHIRUser, "Patient/") || strings.HasPrefix(p.FHIRUser, "RelatedPerson/")
	switch {
	case known && r == access.RoleSystem:
		if public {
			return refuse("role system contradicts fhirUser %s", p.FHIRUser)
		}
		p.Kind, p.Role = access.System, r
	case known && r == access.RolePatient:
		if p.FHIRUser != "" && !public {
			return refuse("role patient contradicts fhirUser %s", p.FHIRUser)
		}
		p.Kind, p.Role = access.PatientUser, r
	case public:
		if known {
			return refuse("role %s contradicts fhirUser %s", r, p.FHIRUser)
		}
		p.Kind, p.Role = access.PatientUser, access.RolePatient
	case known:
		p.Kind, p.Role = access.User, r
	default:
		p.Kind, p.Role = access.User, ""
	}
	return nil
}

// fhirUser reduces the fhirUser claim to "Type/id". SMART allows an
// absolute URL; its base is not compared with this server's (see
// docs/AUTH.md, gaps).
func fhirUser(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	ref := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", refuse("claim fhirUser is not a reference")
		}
		segs := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
		if len(segs) < 2 {
			return "", refuse("claim fhirUser is not a reference")
		}
		ref = segs[len(segs)-2] + "/" + segs[len(segs)-1]
	}
	typ, id, ok := strings.Cut(ref, "/")
	switch typ {
	case "Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person":
	default:
		ok = false
	}
	if !ok || !fhirID(id) {
		return "", refuse("claim fhirUser is not a reference to a Practitioner, PractitionerRole, Patient, RelatedPerson or Person")
	}
	return ref, nil
}

// fhirID is the FHIR id datatype: [A-Za-z0-9\-\.]{1,64}.
func fhirID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// odsCode is the shape of an ODS organisation or site code: upper-case
// letters and digits ("A81001", "RXX", "RXX01").
func odsCode(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// purposeCode is the shape of an HL7 v3 PurposeOfUse code (TREAT, ETREAT,
// HOPERAT, HRESCH…).
func purposeCode(s string) bool {
	if len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
