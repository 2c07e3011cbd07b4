// Package access is the one decision of who may see and change what in the
// shared record: a signed-in principal (a professional in a role at an
// organisation, a patient or their delegate, or a system), the SMART scopes
// their token carries, their legitimate relationship with the person, the
// person's sharing choices and the sealing of sensitive items. The record
// service asks it on every path (read, search, history, includes,
// operations, writes); nothing else in the code base decides access.
package access

import (
	"context"
	"strings"
)

// Kind is what sort of party a principal is.
type Kind uint8

const (
	// Anonymous is nobody: every clinical request is refused.
	Anonymous Kind = iota
	// User is a professional signed in with a role at an organisation.
	User
	// PatientUser is a member of the public signed in as themselves (and
	// perhaps acting for people they are a delegate of).
	PatientUser
	// System is a trusted system: a feed (the MLLP listener, bulk import),
	// an integration engine with client credentials, the platform itself.
	System
)

func (k Kind) String() string {
	switch k {
	case User:
		return "user"
	case PatientUser:
		return "patient"
	case System:
		return "system"
	}
	return "anonymous"
}

// Role is a principal's job, which grants actions by resource type.
type Role string

// The roles the platform knows. Clinical roles read and write clinical
// resources with a legitimate relationship; the social worker sees the
// social care view; the privacy officer reads the audit; the analyst works
// only through the analytics path; the administrator manages users and
// organisations and reads no clinical data.
const (
	RoleGP             Role = "gp"
	RoleConsultant     Role = "consultant"
	RoleNurse          Role = "nurse"
	RoleDistrictNurse  Role = "district-nurse"
	RolePharmacist     Role = "pharmacist"
	RoleSocialWorker   Role = "social-worker"
	RoleCareHomeNurse  Role = "care-home-nurse"
	RolePrivacyOfficer Role = "privacy-officer"
	RoleAnalyst        Role = "analyst"
	RoleAdmin          Role = "admin"
	RolePatient        Role = "patient"
	RoleSystem         Role = "system"
)

// Roles lists every role, in the order sign-in pages show them.
var Roles = []Role{RoleGP, RoleConsultant, RoleNurse, RoleDistrictNurse, RolePharmacist,
	RoleSocialWorker, RoleCareHomeNurse, RolePrivacyOfficer, RoleAnalyst, RoleAdmin, RolePatient, RoleSystem}

// ParseRole returns the role named s, and false for an unknown name.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// Clinical reports whether the role is direct care by a health professional.
func (r Role) Clinical() bool {
	switch r {
	case RoleGP, RoleConsultant, RoleNurse, RoleDistrictNurse, RolePharmacist, RoleCareHomeNurse:
		return true
	}
	return false
}

// Principal is who is asking: taken from a verified token (internal/auth),
// or made by the server for its own feeds.
type Principal struct {
	Kind Kind
	// Issuer and Subject identify the account (the token's iss and sub).
	Issuer, Subject string
	// Name is for people to read (audit reports, portal banners).
	Name string
	Role Role
	// Org is the ODS code of the organisation the principal acts for.
	Org string
	// FHIRUser is the principal's own resource: "Practitioner/…",
	// "PractitionerRole/…", "Patient/…" or "RelatedPerson/…".
	FHIRUser string
	// Patient is the SMART launch context: the Patient an app was opened
	// on ("" when none).
	Patient string
	// NHSNumber is the person's NHS number (ten digits, checked) when
	// their identity provider vouches for it (NHS login). A patient
	// principal with neither a Patient/ fhirUser nor a Patient finds their
	// own record by it: the record service takes the Patient carrying it
	// as their own (docs/ACCESS.md).
	NHSNumber string
	// Purpose is the purpose of use (HL7 v3 PurposeOfUse code: TREAT,
	// ETREAT, HOPERAT, HRESCH…); "" means the role's usual purpose.
	Purpose string
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// Scopes are what the token grants; Unscoped principals (the server's
	// own feeds) are limited by their role alone.
	Scopes   Scopes
	Unscoped bool
}

// ID is the principal's stable identifier for audit: issuer and subject.
func (p *Principal) ID() string {
	if p == nil {
		return ""
	}
	if p.Issuer == "" {
		return p.Subject
	}
	return strings.TrimSuffix(p.Issuer, "/") + "#" + p.Subject
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal ctx carries, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// SystemPrincipal is the server's own identity for a feed it runs (the
// MLLP listener, bulk import from the command line): trusted, unscoped,
// attributed to org when known.
func SystemPrincipal(name, org string) *Principal {
	return &Principal{Kind: System, Subject: name, Name: name, Role: RoleSystem, Org: org, Unscoped: true}
}
