package access

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in   string
		want Scopes
		err  string // a substring of the error, "" for none
	}{
		{in: "", want: Scopes{}},
		{in: "openid fhirUser offline_access launch launch/patient online_access", want: Scopes{OpenID: true, FHIRUser: true, Offline: true, Launch: true, LaunchPatient: true}},
		{in: "patient/Observation.read", want: Scopes{Resources: []ResourceScope{{Context: CtxPatient, Type: "Observation", Perms: Read | Search}}}},
		{in: "user/Patient.write", want: Scopes{Resources: []ResourceScope{{Context: CtxUser, Type: "Patient", Perms: Create | Update | Delete}}}},
		{in: "system/*.*", want: Scopes{Resources: []ResourceScope{{Context: CtxSystem, Type: "*", Perms: AllPerms}}}},
		{in: "user/*.cruds", want: Scopes{Resources: []ResourceScope{{Context: CtxUser, Type: "*", Perms: AllPerms}}}},
		{in: "patient/Condition.rs", want: Scopes{Resources: []ResourceScope{{Context: CtxPatient, Type: "Condition", Perms: Read | Search}}}},
		{in: "patient/Condition.cud", want: Scopes{Resources: []ResourceScope{{Context: CtxPatient, Type: "Condition", Perms: Create | Update | Delete}}}},
		{in: "patient/Observation.rs?category=laboratory", want: Scopes{Resources: []ResourceScope{{Context: CtxPatient, Type: "Observation", Perms: Read | Search, Query: "category=laboratory"}}}},
		{in: "profile email launch/encounter", want: Scopes{Other: []string{"profile", "email"}}},
		{in: "openid  \t user/Patient.r", want: Scopes{OpenID: true, Resources: []ResourceScope{{Context: CtxUser, Type: "Patient", Perms: Read}}}},
		{in: "patient/Observation.sr", err: "cruds"},
		{in: "patient/Observation.rr", err: "cruds"},
		{in: "patient/Observation.x", err: "cruds"},
		{in: "patient/Observation.", err: "no permissions"},
		{in: "patient/Observation", err: "context/Type.permissions"},
		{in: "patient/observation.read", err: "not a resource type"},
		{in: "user/Pat1ent.read", err: "not a resource type"},
		{in: "user/.read", err: "not a resource type"},
		{in: "openid user/Patient.READ", err: "cruds"},
		{in: strings.Repeat("openid ", maxScopes+1), err: "too many"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScopes(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one saying %q", err, tt.err)
				}
				if d := cmp.Diff(Scopes{}, got); d != "" {
					t.Errorf("a refused scope string still granted:\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	s, err := ParseScopes("patient/Observation.rs patient/*.c user/Patient.read user/Condition.rs?clinical-status=active system/Encounter.cruds")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ctx, typ string
		want     Perm
	}{
		{CtxPatient, "Observation", Create | Read | Search},
		{CtxPatient, "Condition", Create},
		{CtxUser, "Patient", Read | Search},
		{CtxUser, "Observation", 0}, // patient context grants nothing in user context
		{CtxUser, "Condition", 0},   // a scope with a query grants nothing
		{CtxSystem, "Encounter", AllPerms},
		{CtxSystem, "Patient", 0},
		{"", "Patient", 0},
	}
	for _, tt := range tests {
		if got := s.Grants(tt.ctx, tt.typ); got != tt.want {
			t.Errorf("Grants(%s, %s) = %s, want %s", tt.ctx, tt.typ, got, tt.want)
		}
	}
}

func TestPermString(t *testing.T) {
	for p, want := range map[Perm]string{0: "", Read: "r", Read | Search: "rs", AllPerms: "cruds", Create | Delete: "cd"} {
		if got := p.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", p, got, want)
		}
	}
}
