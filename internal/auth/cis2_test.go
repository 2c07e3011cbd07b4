package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
)

func nrbac(id, org, code string) map[string]any {
	return map[string]any{
		"person_orgid":   "5557" + id,
		"person_roleid":  id,
		"org_code":       org,
		"role_code":      code,
		"role_name":      `"Clinical":"Clinical Provision":"Nurse Access Role"`,
		"activity_codes": []string{"B0825", "B0380"},
	}
}

func cis2Claims(iss string, roles []map[string]any, selected string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":               iss,
		"sub":               "910000000001",
		"aud":               testAud,
		"exp":               now.Add(5 * time.Minute).Unix(),
		"iat":               now.Unix(),
		"name":              "Nurse Nia Evans",
		"nhsid_useruid":     "910000000001",
		"nhsid_nrbac_roles": roles,
	}
	if selected != "" {
		c["selected_roleid"] = selected
	}
	return c
}

func TestCIS2(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, Issuer{URL: ti.URL(), Audiences: []string{testAud}, Claims: ClaimsCIS2,
		CIS2Roles: map[string]access.Role{"R8003": access.RoleCareHomeNurse}})
	gpAtA := nrbac("111", "A81001", "S0010:G0020:R0260")
	nurseAtB := nrbac("222", "RXX01", "S8000:G8000:R8001")
	tests := []struct {
		name     string
		roles    []map[string]any
		selected string
		role     access.Role
		org      string
		refusal  string
	}{
		{name: "one role, none selected", roles: []map[string]any{nurseAtB}, role: access.RoleNurse, org: "RXX01"},
		{name: "one role, selected", roles: []map[string]any{gpAtA}, selected: "111", role: access.RoleGP, org: "A81001"},
		{name: "several roles, the selected one's org", roles: []map[string]any{gpAtA, nurseAtB}, selected: "222", role: access.RoleNurse, org: "RXX01"},
		{name: "several roles, the other selected", roles: []map[string]any{gpAtA, nurseAtB}, selected: "111", role: access.RoleGP, org: "A81001"},
		{name: "several roles, none selected", roles: []map[string]any{gpAtA, nurseAtB}, refusal: "none is selected"},
		{name: "selected names no role", roles: []map[string]any{gpAtA, nurseAtB}, selected: "333", refusal: "names none"},
		{name: "selected matches twice", roles: []map[string]any{gpAtA, nrbac("111", "RXX01", "R8001")}, selected: "111", refusal: "more than one"},
		{name: "no roles", roles: nil, refusal: "no National RBAC role"},
		{name: "selected role has no org", roles: []map[string]any{nrbac("111", "", "R8001")}, refusal: "organisation"},
		{name: "unmapped job role: no role", roles: []map[string]any{nrbac("111", "RXX01", "S8000:G8000:R8009")}, role: "", org: "RXX01"},
		{name: "bare R code", roles: []map[string]any{nrbac("111", "RXX01", "R1290")}, role: access.RolePharmacist, org: "RXX01"},
		{name: "issuer's own table", roles: []map[string]any{nrbac("111", "RXX01", "S8000:G8000:R8003")}, role: access.RoleCareHomeNurse, org: "RXX01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), ti.sign(t, cis2Claims(ti.URL(), tt.roles, tt.selected)))
			if tt.refusal != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refusal) {
					t.Fatalf("got %v, %v; want a refusal saying %q", p, err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != access.User || p.Role != tt.role || p.Org != tt.org || p.Name != "Nurse Nia Evans" || p.Subject != "910000000001" {
				t.Errorf("got kind %v role %q org %q name %q subject %q; want role %q org %q", p.Kind, p.Role, p.Org, p.Name, p.Subject, tt.role, tt.org)
			}
		})
	}
	// A malformed roles claim refuses rather than being read as none.
	c := cis2Claims(ti.URL(), nil, "")
	c["nhsid_nrbac_roles"] = "R8000"
	if _, err := v.Verify(context.Background(), ti.sign(t, c)); err == nil {
		t.Error("malformed nhsid_nrbac_roles accepted")
	}
	// The subject falls back on nhsid_useruid.
	c = cis2Claims(ti.URL(), []map[string]any{nurseAtB}, "")
	delete(c, "sub")
	if p, err := v.Verify(context.Background(), ti.sign(t, c)); err != nil || p.Subject != "910000000001" {
		t.Errorf("no sub: %v, %v", p, err)
	}
}

func TestCIS2TableNamesKnownRoles(t *testing.T) {
	for code, r := range CIS2Roles {
		if _, ok := access.ParseRole(string(r)); !ok || len(code) != 5 || code[0] != 'R' {
			t.Errorf("%s → %q", code, r)
		}
	}
}
