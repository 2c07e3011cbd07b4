package idp

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/access"
)

func statKey(dir string) (fs.FileInfo, error) { return os.Stat(filepath.Join(dir, KeyFile)) }

func TestIDPGrantScopes(t *testing.T) {
	allowed := []string{"openid", "launch/patient", "patient/*.rs", "user/Observation.cruds", "system/*.rs"}
	tests := []struct {
		name, requested string
		who             grantee
		want            string
	}{
		{"as asked", "openid patient/Observation.rs", granteeUnknown, "openid patient/Observation.rs"},
		{"narrowed perms", "patient/*.cruds", granteeUnknown, "patient/*.rs"},
		{"v1 read", "patient/*.read", granteeUnknown, "patient/*.read"},
		{"v1 write not allowed", "patient/*.write", granteeUnknown, ""},
		{"wildcard narrowed to type", "user/*.rs", granteeUnknown, "user/Observation.rs"},
		{"identity scope not allowed", "offline_access fhirUser", granteeUnknown, ""},
		{"system for users dropped", "system/*.rs", granteeUnknown, ""},
		{"patient user no user scopes", "user/Observation.r patient/Patient.r", granteePatient, "patient/Patient.r"},
		{"system only system", "openid system/Patient.rs patient/*.rs", granteeSystem, "system/Patient.rs"},
		{"query only word for word", "patient/Observation.rs?category=vital-signs", granteeUnknown, ""},
		{"duplicates once", "openid openid", granteeUnknown, "openid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := grantScopes(strings.Fields(tt.requested), allowed, tt.who)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, strings.Join(got, " ")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := grantScopes([]string{"patient/Observation.xyz"}, allowed, granteeUnknown); err == nil {
		t.Error("malformed scope accepted")
	}
}

// FuzzGrantScopes checks grantScopes never grants more than was asked or
// more than is allowed, whatever the strings.
func FuzzGrantScopes(f *testing.F) {
	f.Add("openid patient/*.cruds user/Observation.rs", "patient/*.rs user/*.r openid")
	f.Add("system/*.read launch/patient", "system/Patient.cruds launch/patient")
	f.Add("patient/Observation.rs?x=1", "patient/Observation.rs?x=1")
	f.Fuzz(func(t *testing.T, requested, allowed string) {
		for _, who := range []grantee{granteeUnknown, granteePatient, granteeSystem} {
			got, err := grantScopes(strings.Fields(requested), strings.Fields(allowed), who)
			if err != nil {
				continue
			}
			req, err1 := access.ParseScopes(requested)
			alw, err2 := access.ParseScopes(allowed)
			g, err3 := access.ParseScopes(strings.Join(got, " "))
			if err3 != nil {
				t.Fatalf("granted %q does not parse: %v", got, err3)
			}
			for _, s := range got {
				if !strings.Contains(" "+requested+" ", " "+s+" ") && !strings.Contains(s, "/") {
					t.Fatalf("granted %q, not asked for", s)
				}
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for _, r := range g.Resources {
				if r.Query != "" {
					continue
				}
				if r.Perms&^req.Grants(r.Context, r.Type) != 0 {
					t.Fatalf("granted %s beyond the request %q", r, requested)
				}
				if r.Perms&^alw.Grants(r.Context, r.Type) != 0 {
					t.Fatalf("granted %s beyond what is allowed %q", r, allowed)
				}
				if !contextAllowed(r.Context, who) {
					t.Fatalf("granted %s to grantee %d", r, who)
				}
			}
		}
	})
}
