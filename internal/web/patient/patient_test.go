package patient

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/web"
)

func TestWhose(t *testing.T) {
	for _, c := range []struct {
		name string
		p    access.Principal
		want string
	}{
		{"the person", access.Principal{Kind: access.PatientUser, FHIRUser: "Patient/p1", Patient: "p1"}, "p1"},
		{"a parent", access.Principal{Kind: access.PatientUser, FHIRUser: "RelatedPerson/r1", Patient: "child"}, "child"},
		{"a professional", access.Principal{Kind: access.User, FHIRUser: "Practitioner/x", Patient: "p1"}, ""},
		{"a system", access.Principal{Kind: access.System, Patient: "p1"}, ""},
		{"a bad id", access.Principal{Kind: access.PatientUser, FHIRUser: "Patient/<x>"}, ""},
	} {
		if got := whose(&web.Session{User: c.p}); got != c.want {
			t.Errorf("%s: whose = %q, want %q", c.name, got, c.want)
		}
	}
	// Signed in by NHS number (NHS login): the record found at sign-in.
	for _, c := range []struct {
		name string
		s    *web.Session
		want string
	}{
		{"found at sign-in", &web.Session{User: access.Principal{Kind: access.PatientUser, NHSNumber: "9434765919"}, Patient: "p9"}, "p9"},
		{"none found", &web.Session{User: access.Principal{Kind: access.PatientUser, NHSNumber: "9434765919"}}, ""},
		{"a professional", &web.Session{User: access.Principal{Kind: access.User, NHSNumber: "9434765919"}, Patient: "p9"}, ""},
	} {
		if got := whose(c.s); got != c.want {
			t.Errorf("%s: whose = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidRefAndODS(t *testing.T) {
	for ref, ok := range map[string]bool{"Condition/abc-1": true, "condition/1": false, "Condition/": false, "Condition/<x>": false, "/1": false, "Condition/a/_history/1": false, "C0ndition/1": false} {
		if validRef(ref) != ok {
			t.Errorf("validRef(%q) = %v", ref, !ok)
		}
	}
	for code, ok := range map[string]bool{"RHQ": true, "C88922": true, "rhq": false, "R": false, "RHQ ": false, "ABCDEFGHIJKLM": false} {
		if odsRE(code) != ok {
			t.Errorf("odsRE(%q) = %v", code, !ok)
		}
	}
}

func TestGoalOf(t *testing.T) {
	g, ok := goalOf(json.RawMessage(`{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"HbA1c below 48"},
		"target":[{"measure":{"coding":[{"system":"http://loinc.org","code":"59261-8"}]},"detailQuantity":{"value":48,"comparator":"<"},"dueDate":"2027-01-01"}]}`))
	if !ok || g.Trend != "hba1c" || g.Target == nil || *g.Target != 48 || g.Due != "2027-01-01" || g.Text != "HbA1c below 48" {
		t.Errorf("goal %+v", g)
	}
	if _, ok := goalOf(json.RawMessage(`{"resourceType":"Observation"}`)); ok {
		t.Errorf("an Observation read as a goal")
	}
}

// TestShareOf reads back what access.OrgShareConsent writes, as the
// sharing page lists it.
func TestShareOf(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := access.OrgShareConsent("p1", "NPH01", "Physio & Co", []string{"Observation", "DiagnosticReport", "Condition"}, now.AddDate(0, 1, 0), now)
	c["id"] = "s1"
	raw, _ := json.Marshal(c)
	row, ok := shareOf(raw, now)
	if !ok || row.ID != "s1" || row.ODS != "NPH01" || row.Org != "Physio & Co" || !row.Active || len(row.Parts) != 2 || row.Until != "1 December 2026" {
		t.Errorf("share %+v", row)
	}
	if row, _ := shareOf(raw, now.AddDate(0, 2, 0)); row.Active {
		t.Errorf("a share past its end is active")
	}
	c["status"] = "inactive"
	raw, _ = json.Marshal(c)
	if row, _ := shareOf(raw, now); row.Active {
		t.Errorf("a revoked share is active")
	}
	sharing := access.SharingConsent("p1", access.Sharing{Choice: access.Dissent}, now)
	raw, _ = json.Marshal(sharing)
	if _, ok := shareOf(raw, now); ok {
		t.Errorf("a sharing choice read as a share with an organisation")
	}
}

func TestLookOf(t *testing.T) {
	raw := json.RawMessage(`{"resourceType":"AuditEvent","id":"42","recorded":"2026-11-22T10:00:00Z","action":"E","outcome":"4",
		"subtype":[{"code":"operation"},{"code":"$everything"}],
		"agent":[{"requestor":true,"who":{"display":"Dr A","identifier":{"value":"iss#a"}},"role":[{"coding":[{"code":"gp"}]}]},
		         {"requestor":false,"type":{"coding":[{"code":"PROV"}]},"who":{"identifier":{"value":"C88922"}}}],
		"purposeOfEvent":[{"coding":[{"code":"ETREAT"}],"text":"Unconscious"}]}`)
	row, ok := lookOf(raw)
	if !ok || row.ID != "42" || row.Who != "Dr A" || row.Role != "GP" || row.Org != "C88922" || !row.BreakGlass || row.Reason != "Unconscious" || row.Outcome != "refused" || row.agent != "iss#a" {
		t.Errorf("look %+v", row)
	}
}
