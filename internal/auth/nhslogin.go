package auth

import (
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/mpi"
)

// NHSLoginProofing is the identity_proofing_level an NHS login token must
// carry to open a health record: P9, the high-assurance level (identity
// checked against photo ID or a GP's records). P5 (medium) and P0 (none)
// are refused: the person behind them is not known well enough to see a
// health record.
const NHSLoginProofing = "P9"

// mapNHSLogin reads an NHS login token. NHS login identifies a member of
// the public by NHS number; it carries no fhirUser, no SMART scopes and no
// role, so every principal it gives is the person themselves, limited by
// the patient role alone. Their own record is found by the NHS number
// (internal/record, docs/ACCESS.md).
func mapNHSLogin(c claims, is *issuer) (*access.Principal, error) {
	p, err := base(c, is)
	if err != nil {
		return nil, err
	}
	if err := requireSubject(p); err != nil {
		return nil, err
	}
	// NHS login sends no fhirUser or launch patient; one here would be a
	// second, unchecked claim to a record, so it is refused rather than
	// obeyed or ignored.
	if p.FHIRUser != "" || p.Patient != "" {
		return nil, refuse("an NHS login token must not carry fhirUser or patient")
	}
	level, err := c.str("identity_proofing_level")
	if err != nil {
		return nil, err
	}
	switch level {
	case NHSLoginProofing:
	case "":
		return nil, refuse("token has no identity_proofing_level: a health record needs NHS login's high assurance (P9)")
	default:
		return nil, refuse("identity_proofing_level %s is too low: a health record needs NHS login's high assurance (P9)", clip(level, 10))
	}
	n, err := c.str("nhs_number")
	if err != nil {
		return nil, err
	}
	if n == "" {
		return nil, refuse("token has no nhs_number")
	}
	if !tenDigits(n) {
		return nil, refuse("claim nhs_number is not ten digits")
	}
	if _, err := mpi.ParseNHSNumber(n); err != nil {
		return nil, refuse("claim nhs_number is not a valid NHS number (Modulus 11 check failed)")
	}
	given, err := c.str("given_name")
	if err != nil {
		return nil, err
	}
	family, err := c.str("family_name")
	if err != nil {
		return nil, err
	}
	if name := strings.TrimSpace(given + " " + family); name != "" {
		p.Name = name
	}
	p.Kind, p.Role = access.PatientUser, access.RolePatient
	p.NHSNumber = n
	// The person themselves in our own portal: the patient role bounds
	// them, and the policy opens only their own record.
	p.Unscoped = true
	return p, nil
}

// tenDigits is the form NHS login sends an NHS number in: ten digits, no
// spaces.
func tenDigits(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
