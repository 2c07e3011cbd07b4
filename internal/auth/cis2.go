package auth

import (
	"encoding/json"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
)

// CIS2Roles maps National RBAC job role codes (the R code of a CIS2 role,
// "S8000:G8000:R8000") to sharedcare roles. The codes and their names are
// listed, with sources and the codes we could not confirm, in
// docs/AUTH.md. A code missing here gives a user with no role, whom the
// policy refuses: a new or unusual job role is granted nothing until
// someone decides what it should see. Issuer.CIS2Roles adds to and
// overrides this table for one deployment.
var CIS2Roles = map[string]access.Role{
	// General practice.
	"R0260": access.RoleGP, // General Medical Practitioner
	"R0270": access.RoleGP, // Salaried General Practitioner
	"R6200": access.RoleGP, // GP Registrar
	"R6300": access.RoleGP, // Sessional GP

	// Hospital and community doctors. R8000 is the generic "Clinical
	// Practitioner Access Role" most doctors now hold, GPs included; we map
	// it to consultant (clinical, hospital) and a GP-led deployment maps it
	// to gp in Issuer.CIS2Roles.
	"R8000": access.RoleConsultant, // Clinical Practitioner Access Role
	"R0050": access.RoleConsultant, // Consultant
	"R0010": access.RoleConsultant, // Medical Director
	"R0020": access.RoleConsultant, // Clinical Director - Medical
	"R0070": access.RoleConsultant, // Associate Specialist
	"R0080": access.RoleConsultant, // Staff Grade
	"R0110": access.RoleConsultant, // Specialist Registrar
	"R0140": access.RoleConsultant, // Senior House Officer
	"R1981": access.RoleConsultant, // Psychiatrist

	// Nurses.
	"R8001": access.RoleNurse, // Nurse Access Role
	"R8002": access.RoleNurse, // Nurse Manager Access Role
	"R0570": access.RoleNurse, // Nurse Consultant
	"R0580": access.RoleNurse, // Nurse Manager
	"R0600": access.RoleNurse, // Specialist Nurse Practitioner
	"R0610": access.RoleNurse, // Sister/Charge Nurse
	"R0620": access.RoleNurse, // Staff Nurse

	// Community nursing: no national code says "district nurse" (only the
	// student's, R0390); Community Nurse is the nearest.
	"R0700": access.RoleDistrictNurse, // Community Nurse

	"R1290": access.RolePharmacist, // Pharmacist

	"R8014": access.RoleSocialWorker, // Social Worker Access Role
	"R1330": access.RoleSocialWorker, // Social Worker
	"R1340": access.RoleSocialWorker, // Approved Social Worker

	"R0001": access.RolePrivacyOfficer, // Privacy Officer
	"R5105": access.RolePrivacyOfficer, // Caldicott Guardian

	"R8012": access.RoleAnalyst, // Information Officer Access Role
	"R1840": access.RoleAnalyst, // Analyst

	// Registration Authority staff manage who holds which role; that is
	// our administrator. Admin/Clinical Support (R8008) is not: it is front
	// office work on patients' records, and our admin role manages users.
	"R5080": access.RoleAdmin, // Registration Authority Manager
	"R5090": access.RoleAdmin, // Registration Authority Agent
}

// nrbacRole is one entry of nhsid_nrbac_roles.
type nrbacRole struct {
	PersonRoleID  string   `json:"person_roleid"`
	OrgCode       string   `json:"org_code"`
	RoleCode      string   `json:"role_code"`
	RoleName      string   `json:"role_name"`
	ActivityCodes []string `json:"activity_codes"`
}

// mapCIS2 reads an NHS CIS2 token. The user acts in exactly one role, the
// one selected_roleid names; nothing from any other role (its organisation
// above all) is ever used, since a user may hold roles at organisations
// that have no business with the record in front of them.
func mapCIS2(c claims, is *issuer) (*access.Principal, error) {
	p, err := base(c, is)
	if err != nil {
		return nil, err
	}
	if p.Subject == "" {
		if p.Subject, err = c.str("nhsid_useruid"); err != nil {
			return nil, err
		}
	}
	if err := requireSubject(p); err != nil {
		return nil, err
	}
	var roles []nrbacRole
	if raw := c.lookup("nhsid_nrbac_roles"); !absent(raw) {
		if json.Unmarshal(raw, &roles) != nil {
			return nil, refuse("claim nhsid_nrbac_roles is not an array of roles")
		}
	}
	selected, err := c.str("selected_roleid")
	if err != nil {
		return nil, err
	}
	var role *nrbacRole
	switch {
	case selected != "":
		for i := range roles {
			if roles[i].PersonRoleID != selected {
				continue
			}
			if role != nil {
				return nil, refuse("selected_roleid matches more than one role")
			}
			role = &roles[i]
		}
		if role == nil {
			return nil, refuse("selected_roleid names none of the user's roles")
		}
	case len(roles) == 1:
		role = &roles[0]
	case len(roles) == 0:
		return nil, refuse("token carries no National RBAC role (ask for the nationalrbacaccess scope)")
	default:
		return nil, refuse("user holds several roles and none is selected (ask for the selectedrole scope)")
	}
	if !odsCode(role.OrgCode) {
		return nil, refuse("the selected role has no valid organisation code")
	}
	p.Org = role.OrgCode
	p.Kind = access.User
	p.Role = cis2Role(role.RoleCode, is.CIS2Roles)
	// A CIS2 session is a professional signed in to our own applications,
	// not an app acting with delegated scopes: without clinical scopes
	// their role alone bounds what they may do.
	p.Unscoped = len(p.Scopes.Resources) == 0
	return p, nil
}

// cis2Role finds the job role (the R part) of a role code such as
// "S8000:G8000:R8000" and looks it up, the issuer's table first.
func cis2Role(code string, local map[string]access.Role) access.Role {
	var job string
	for _, part := range strings.Split(code, ":") {
		if strings.HasPrefix(part, "R") {
			job = part
		}
	}
	if job == "" {
		return ""
	}
	if r, ok := local[job]; ok {
		return r
	}
	return CIS2Roles[job]
}
