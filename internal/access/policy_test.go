package access

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPersonDecision is the policy's decision table: who opens a record,
// under each sharing choice, with and without a relationship or a
// break-glass, and what item rules come with it.
func TestPersonDecision(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p := &Policy{Now: func() time.Time { return now }, UnsealOnBreakGlass: []Role{RoleConsultant}}
	gp := &Principal{Kind: User, Subject: "gp", Role: RoleGP, Org: "GP1", FHIRUser: "Practitioner/g"}
	cons := &Principal{Kind: User, Subject: "cons", Role: RoleConsultant, Org: "RHQ"}
	nurse := &Principal{Kind: User, Subject: "nurse", Role: RoleNurse, Org: "RHQ"}
	social := &Principal{Kind: User, Subject: "sw", Role: RoleSocialWorker, Org: "LA1"}
	admin := &Principal{Kind: User, Subject: "adm", Role: RoleAdmin, Org: "QF7"}
	self := &Principal{Kind: PatientUser, Subject: "me", Role: RolePatient, FHIRUser: "Patient/p1"}
	carer := &Principal{Kind: PatientUser, Subject: "mum", Role: RolePatient, FHIRUser: "RelatedPerson/r1"}
	reader := &Principal{Kind: PatientUser, Subject: "dad", Role: RolePatient, FHIRUser: "RelatedPerson/r2"}
	lapsed := &Principal{Kind: PatientUser, Subject: "gran", Role: RolePatient, FHIRUser: "RelatedPerson/r3"}
	other := &Principal{Kind: PatientUser, Subject: "aunt", Role: RolePatient, FHIRUser: "RelatedPerson/r9"}
	physio := &Principal{Kind: User, Subject: "physio", Role: RoleNurse, Org: "PHY1"}
	stranger := &Principal{Kind: PatientUser, Subject: "x", Role: RolePatient, FHIRUser: "Patient/other"}
	app := &Principal{Kind: User, Subject: "gp", Role: RoleGP, Org: "GP1", Patient: "other", Scopes: mustParse(t, "patient/*.rs")}

	base := func() *Facts {
		return &Facts{Patients: []string{"p1", "p2"}, GP: [][]string{{"GP1"}}, Delegates: []Delegate{{Ref: "RelatedPerson/r1", Level: ProxyFull}, {Ref: "RelatedPerson/r2", Level: ProxyRead}, {Ref: "RelatedPerson/r3", Level: ProxyFull, End: now.Add(-time.Hour)}}}
	}
	with := func(f func(*Facts)) *Facts { x := base(); f(x); return x }
	glass := func(who *Principal, reason string, until time.Time) func(*Facts) {
		return func(f *Facts) {
			f.BreakGlass = append(f.BreakGlass, Grant{Who: who.ID(), Reason: reason, Until: until})
		}
	}
	enc := func(org string, start, end time.Time, open bool) func(*Facts) {
		return func(f *Facts) {
			f.Encounters = append(f.Encounters, Care{Ref: "Encounter/e1", Orgs: []string{org, "RHQ"}, Start: start, End: end, Open: open})
		}
	}
	share := func(ods string, until time.Time) func(*Facts) {
		return func(f *Facts) {
			f.OrgShares = append(f.OrgShares, OrgShare{ODS: ods, Name: "Physio", Types: []string{"Observation"}, Until: until, Consent: "Consent/s1"})
		}
	}
	choice := func(s Sharing) func(*Facts) { return func(f *Facts) { f.Sharing = s } }
	day := 24 * time.Hour
	tests := []struct {
		name    string
		who     *Principal
		facts   *Facts
		allowed bool
		check   func(Decision) bool
	}{
		{"registered GP", gp, base(), true, func(d Decision) bool { return !d.Unseal && !d.OwnOrgOnly }},
		{"no relationship", cons, base(), false, func(d Decision) bool { return d.CanBreakGlass }},
		{"open encounter at a ward of the trust", cons, with(enc("RHQ01", now.Add(-day), time.Time{}, true)), true, nil},
		{"encounter ended 30 days ago", cons, with(enc("RHQ01", now.Add(-31*day), now.Add(-30*day), false)), true, nil},
		{"encounter ended 200 days ago", cons, with(enc("RHQ01", now.Add(-201*day), now.Add(-200*day), false)), false, nil},
		{"care team membership by person", nurse, with(func(f *Facts) { f.CareTeams = []string{"Practitioner/n"} }), false, nil},
		{"care team membership by organisation", nurse, with(func(f *Facts) { f.CareTeams = []string{"RHQ"} }), true, nil},
		{"open referral", cons, with(func(f *Facts) { f.Referrals = []Care{{Ref: "ServiceRequest/s", Orgs: []string{"RHQ"}, Open: true}} }), true, nil},
		{"break-glass", cons, with(glass(cons, "direct-care", now.Add(time.Hour))), true, func(d Decision) bool { return d.BreakGlass != nil && d.Purpose == "ETREAT" && d.Unseal }},
		{"break-glass without unsealing", nurse, with(glass(nurse, "direct-care", now.Add(time.Hour))), true, func(d Decision) bool { return !d.Unseal }},
		{"expired break-glass", cons, with(glass(cons, "emergency", now.Add(-time.Minute))), false, nil},
		{"someone else's break-glass", nurse, with(glass(cons, "emergency", now.Add(time.Hour))), false, nil},
		{"emergency only: relationship is not enough", gp, with(choice(Sharing{Choice: EmergencyOnly})), false, func(d Decision) bool { return d.CanBreakGlass }},
		{"emergency only: emergency break-glass", cons, with(func(f *Facts) { f.Sharing.Choice = EmergencyOnly; glass(cons, "emergency", now.Add(time.Hour))(f) }), true, nil},
		{"emergency only: safeguarding break-glass", cons, with(func(f *Facts) { f.Sharing.Choice = EmergencyOnly; glass(cons, "safeguarding", now.Add(time.Hour))(f) }), true, nil},
		{"emergency only: direct-care break-glass", cons, with(func(f *Facts) { f.Sharing.Choice = EmergencyOnly; glass(cons, "direct-care", now.Add(time.Hour))(f) }), false, nil},
		{"dissent: own organisation's entries", gp, with(choice(Sharing{Choice: Dissent})), true, func(d Decision) bool { return d.OwnOrgOnly }},
		{"dissent: break-glass does not help", cons, with(func(f *Facts) { f.Sharing.Choice = Dissent; glass(cons, "emergency", now.Add(time.Hour))(f) }), false, nil},
		{"share until tomorrow", gp, with(choice(Sharing{Choice: ShareUntil, Until: now.Add(day)})), true, nil},
		{"shared until yesterday", gp, with(choice(Sharing{Choice: ShareUntil, Until: now.Add(-day)})), false, nil},
		{"share for the episode: its care", cons, with(func(f *Facts) {
			f.Sharing = Sharing{Choice: ShareEpisode, Episode: "Encounter/e1"}
			enc("RHQ", now.Add(-day), time.Time{}, true)(f)
		}), true, nil},
		{"share for the episode: other care", gp, with(choice(Sharing{Choice: ShareEpisode, Episode: "Encounter/e1"})), false, nil},
		{"social worker with a relationship", social, with(func(f *Facts) { f.CareTeams = []string{"LA1"} }), true, func(d Decision) bool { return d.SocialOnly }},
		{"administrator", admin, base(), false, nil},
		{"the person themselves, any of their records", self, base(), true, func(d Decision) bool { return d.Unseal && d.WithholdFromPatient }},
		{"the person, under their own dissent", self, with(choice(Sharing{Choice: Dissent})), true, nil},
		{"their delegate (full)", carer, base(), true, func(d Decision) bool {
			return !d.Unseal && !d.ReadOnly && d.WithholdFromPatient && d.Purpose == "PATRQT"
		}},
		{"their delegate (read)", reader, base(), true, func(d Decision) bool { return !d.Unseal && d.ReadOnly }},
		{"a delegation that has ended", lapsed, base(), false, nil},
		{"a related person without proxy access", other, base(), false, nil},
		{"an organisation the person shared with", physio, with(share("PHY1", now.Add(day))), true, func(d Decision) bool {
			return d.ReadOnly && !d.Unseal && slices.Equal(d.Types, []string{"Observation"}) && strings.Contains(d.Why, "Consent/s1")
		}},
		{"a share that has ended", physio, with(share("PHY1", now.Add(-day))), false, nil},
		{"a share with another organisation", physio, with(share("PHY2", now.Add(day))), false, nil},
		{"a share stands under dissent", physio, with(func(f *Facts) { share("PHY1", now.Add(day))(f); f.Sharing.Choice = Dissent }), true, nil},
		{"a share does not narrow a relationship", gp, with(share("GP1", now.Add(day))), true, func(d Decision) bool { return d.Types == nil && !d.ReadOnly }},
		{"another member of the public", stranger, base(), false, nil},
		{"an app launched on another patient", app, base(), false, nil},
		{"nobody", nil, base(), false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Person(tc.who, tc.facts)
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed %v, want %v (%s)", d.Allowed, tc.allowed, d.Why)
			}
			if d.Why == "" {
				t.Errorf("no reason given")
			}
			if tc.check != nil && !tc.check(d) {
				t.Errorf("decision %+v", d)
			}
		})
	}
}

func mustParse(t *testing.T, s string) Scopes {
	sc, err := ParseScopes(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestConsentFacts reads Consents as the portal writes them and as GP
// systems send them; the latest of each kind wins.
func TestConsentFacts(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []Sharing{
		{Choice: Share}, {Choice: ShareUntil, Until: at.Add(48 * time.Hour)}, {Choice: ShareEpisode, Episode: "EpisodeOfCare/e"},
		{Choice: EmergencyOnly}, {Choice: Dissent},
	} {
		var f Facts
		c := SharingConsent("p", s, at)
		c["id"] = "k"
		if !ConsentFacts(c, &f, map[string]time.Time{}, at) {
			t.Fatalf("%v: not read", s.Choice)
		}
		s.Consent = "Consent/k"
		if f.Sharing != s {
			t.Errorf("%v: read back as %+v", s.Choice, f.Sharing)
		}
	}
	// Latest wins, whatever order they come in.
	var f Facts
	latest := map[string]time.Time{}
	ConsentFacts(SharingConsent("p", Sharing{Choice: Dissent}, at.Add(time.Hour)), &f, latest, at)
	ConsentFacts(SharingConsent("p", Sharing{Choice: Share}, at), &f, latest, at)
	if f.Sharing.Choice != Dissent {
		t.Errorf("an older Consent overrode a newer one: %v", f.Sharing.Choice)
	}
	inactive := SharingConsent("p", Sharing{Choice: Dissent}, at)
	inactive["status"] = "inactive"
	if ConsentFacts(inactive, &Facts{}, map[string]time.Time{}, at) {
		t.Errorf("an inactive Consent was read")
	}
}

// TestLabel seals items coded in the sensitive set and leaves others.
func TestLabel(t *testing.T) {
	tests := []struct {
		name string
		res  map[string]any
		want bool
	}{
		{"chlamydia", map[string]any{"resourceType": "Condition", "code": map[string]any{"coding": []any{map[string]any{"system": SysSNOMED, "code": "105629000"}}}}, true},
		{"IVF procedure", map[string]any{"resourceType": "Procedure", "code": map[string]any{"coding": []any{map[string]any{"system": SysSNOMED, "code": "52637005"}}}}, true},
		{"as a reason", map[string]any{"resourceType": "Encounter", "reasonCode": []any{map[string]any{"coding": []any{map[string]any{"system": SysSNOMED, "code": "386639001"}}}}}, true},
		{"hypertension", map[string]any{"resourceType": "Condition", "code": map[string]any{"coding": []any{map[string]any{"system": SysSNOMED, "code": "38341003"}}}}, false},
		{"same code, other system", map[string]any{"resourceType": "Condition", "code": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "105629000"}}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Label(tc.res); got != tc.want || Sealed(tc.res) != tc.want {
				t.Errorf("Label %v, Sealed %v, want %v", got, Sealed(tc.res), tc.want)
			}
			if tc.want && Label(tc.res) {
				t.Errorf("labelled twice")
			}
		})
	}
}

// TestBuilders: what the portal writes reads back as the facts it means.
func TestBuilders(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rp := Delegation("p1", "Jo Bloggs", "MTH", "mother", ProxyRead, now.Add(24*time.Hour))
	rp["id"] = "r1"
	d, ok := DelegateOf("r1", rp)
	if !ok || d.Level != ProxyRead || d.Ref != "RelatedPerson/r1" || !d.ActiveAt(now) || d.ActiveAt(now.Add(25*time.Hour)) {
		t.Errorf("delegation: %+v %v", d, ok)
	}
	delete(rp, "extension")
	if _, ok := DelegateOf("r1", rp); ok {
		t.Errorf("a RelatedPerson without proxy access delegates")
	}
	c := OrgShareConsent("p1", "PHY1", "Physio Ltd", []string{"Observation", "Condition"}, now.Add(24*time.Hour), now)
	c["id"] = "s1"
	var f Facts
	if !ConsentFacts(c, &f, map[string]time.Time{}, now) || len(f.OrgShares) != 1 {
		t.Fatalf("org share not read: %+v", f)
	}
	if s := f.OrgShares[0]; s.ODS != "PHY1" || s.Name != "Physio Ltd" || !slices.Equal(s.Types, []string{"Observation", "Condition"}) || !s.Until.Equal(now.Add(24*time.Hour)) || s.Consent != "Consent/s1" {
		t.Errorf("org share: %+v", s)
	}
	if f.Sharing.Choice != Share {
		t.Errorf("an org share changed the sharing choice: %v", f.Sharing.Choice)
	}
	c["status"] = "inactive"
	f = Facts{}
	if ConsentFacts(c, &f, map[string]time.Time{}, now); len(f.OrgShares) != 0 {
		t.Errorf("a revoked share counts")
	}
	q := AccessQuery("p1", []string{"ae1"}, "who is this?", now)
	if str(q, "description") != "who is this?" || len(arr(q, "input")) != 1 {
		t.Errorf("access query: %v", q)
	}
}
