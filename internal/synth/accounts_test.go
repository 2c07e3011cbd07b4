package synth_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/synth"
)

const odsSystem = "https://fhir.nhs.uk/Id/ods-organization-code"

// fhirRes is a resource: its type and id, the rest decoded on demand
// (the same field has different shapes in different resources).
type fhirRes struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	raw          json.RawMessage
}

// as decodes the resource into v.
func (r fhirRes) as(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("%s/%s: %v", r.ResourceType, r.ID, err)
	}
}

type fhirRef struct {
	Reference string `json:"reference"`
}

type concept struct {
	Coding []struct{ Code string } `json:"coding"`
	Text   string                  `json:"text"`
}

// The parts of the resources the checks read.
type (
	organization struct {
		Identifier []struct{ System, Value string }
		Type       []concept
	}
	practitionerRole struct {
		Practitioner, Organization fhirRef
	}
	patient struct {
		GeneralPractitioner []fhirRef `json:"generalPractitioner"`
		BirthDate           string    `json:"birthDate"`
		Deceased            string    `json:"deceasedDateTime"`
	}
	consentRes struct {
		Category []concept
		Patient  fhirRef
	}
)

// sharingDissent reports whether r is a Consent that dissents from
// sharing (SNOMED CT 416409005) for Patient/id.
func sharingDissent(t *testing.T, r fhirRes, id string) bool {
	if r.ResourceType != "Consent" {
		return false
	}
	var c consentRes
	r.as(t, &c)
	for _, cat := range c.Category {
		for _, cd := range cat.Coding {
			if cd.Code == "416409005" && c.Patient.Reference == "Patient/"+id {
				return true
			}
		}
	}
	return false
}

func entries(t *testing.T, b []byte) []fhirRes {
	t.Helper()
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	out := make([]fhirRes, len(bundle.Entry))
	for i, e := range bundle.Entry {
		if err := json.Unmarshal(e.Resource, &out[i]); err != nil {
			t.Fatal(err)
		}
		out[i].raw = e.Resource
	}
	return out
}

// output is what a generator wrote, indexed for the checks.
type output struct {
	ref      map[string]fhirRes // "Type/id" in the reference bundle
	orgByODS map[string]organization
	orgODS   map[string]string // "Organization/id" → ODS code
	roles    map[string][]string
	// Patients by id: the resource, the ODS code of the bundle that sent
	// it, and every resource of that person.
	patients map[string]patient
	sentBy   map[string]string
	person   map[string][]fhirRes
}

func readOutput(t *testing.T, g *synth.Generator) *output {
	t.Helper()
	o := &output{ref: map[string]fhirRes{}, orgByODS: map[string]organization{}, orgODS: map[string]string{},
		roles: map[string][]string{}, patients: map[string]patient{}, sentBy: map[string]string{}, person: map[string][]fhirRes{}}
	for _, r := range entries(t, g.Reference()) {
		o.ref[r.ResourceType+"/"+r.ID] = r
		if r.ResourceType == "Organization" {
			var org organization
			r.as(t, &org)
			for _, id := range org.Identifier {
				if id.System == odsSystem {
					o.orgByODS[id.Value] = org
					o.orgODS["Organization/"+r.ID] = id.Value
				}
			}
		}
	}
	for _, r := range o.ref {
		if r.ResourceType == "PractitionerRole" {
			var pr practitionerRole
			r.as(t, &pr)
			o.roles[pr.Practitioner.Reference] = append(o.roles[pr.Practitioner.Reference], o.orgODS[pr.Organization.Reference])
		}
	}
	err := g.People(context.Background(), 4, func(p synth.Person) error {
		var all []fhirRes
		var ids []string
		for _, b := range p.Bundles {
			for _, r := range entries(t, b.JSON) {
				all = append(all, r)
				if r.ResourceType == "Patient" {
					var pat patient
					r.as(t, &pat)
					o.patients[r.ID] = pat
					o.sentBy[r.ID] = b.Source
					ids = append(ids, r.ID)
				}
			}
		}
		for _, id := range ids {
			o.person[id] = all
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// registered returns the ODS code of the practice and the Practitioner
// reference in a Patient's generalPractitioner.
func (o *output) registered(p patient) (ods, prac string) {
	for _, r := range p.GeneralPractitioner {
		switch {
		case strings.HasPrefix(r.Reference, "Organization/"):
			ods = o.orgODS[r.Reference]
		case strings.HasPrefix(r.Reference, "Practitioner/"):
			prac = r.Reference
		}
	}
	return ods, prac
}

func adult(birth string) bool {
	b, err := time.Parse(time.DateOnly, birth)
	return err == nil && !b.AddDate(18, 0, 0).After(synth.DefaultNow)
}

func TestAccounts(t *testing.T) {
	for _, tc := range []struct {
		seed     int64
		patients int
	}{
		{1, 50}, {7, 50},
		{16, 50}, // patient1 never admitted, a care home resident, a dissent
		{3, 10},
	} {
		t.Run("seed"+strconv.FormatInt(tc.seed, 10)+"x"+strconv.Itoa(tc.patients), func(t *testing.T) {
			g, err := synth.New(synth.Config{Seed: tc.seed, Patients: tc.patients})
			if err != nil {
				t.Fatal(err)
			}
			accounts := g.DemoAccounts()
			checkAccounts(t, accounts)
			o := readOutput(t, g)
			byUser := map[string]synth.Account{}
			for _, a := range accounts {
				byUser[a.Username] = a
				t.Logf("%-16s %-15s %-5s %-45s %s | %s", a.Username, a.Role, a.Org, a.FHIRUser, a.Name, a.About)
				checkResolves(t, o, a)
			}

			// The GP acts for patient1's registered practice and is their
			// usual GP.
			p1 := o.patients[byUser["patient1"].Patient]
			ods, prac := o.registered(p1)
			if gp := byUser["gp"]; gp.Org != ods || gp.FHIRUser != prac {
				t.Errorf("gp is %s at %s; patient1 is registered with %s at %s", gp.FHIRUser, gp.Org, prac, ods)
			}
			// Hospital staff are at one acute trust; the board's at QF7.
			if c, n := byUser["consultant"], byUser["nurse"]; c.Org != n.Org || orgType(o, c.Org) != "NHS trust (acute)" {
				t.Errorf("consultant at %s (%s), nurse at %s", c.Org, orgType(o, c.Org), n.Org)
			}
			// The care home holds a record of a resident, when the
			// account names one.
			if ch := byUser["care-home-nurse"]; strings.Contains(ch.About, "lives there") {
				resident := false
				for id := range o.patients {
					resident = resident || o.sentBy[id] == ch.Org
				}
				if !resident {
					t.Errorf("care home %s sent no Patient", ch.Org)
				}
			}
			wantType := map[string]string{
				"pharmacist": "Community pharmacy", "social-worker": "Local authority (adult social care)",
				"care-home-nurse": "Care home", "privacy-officer": "Integrated care board",
				"analyst": "Integrated care board", "admin": "Integrated care board",
			}
			for u, want := range wantType {
				if got := orgType(o, byUser[u].Org); got != want {
					t.Errorf("%s at %s, a %q, want a %q", u, byUser[u].Org, got, want)
				}
			}
		})
	}
}

func orgType(o *output, ods string) string {
	if org, ok := o.orgByODS[ods]; ok && len(org.Type) > 0 {
		return org.Type[0].Text
	}
	return ""
}

// checkAccounts checks the list itself: every role, unique usernames.
func checkAccounts(t *testing.T, accounts []synth.Account) {
	t.Helper()
	seen := map[string]bool{}
	roles := map[string]bool{}
	for _, a := range accounts {
		if seen[a.Username] {
			t.Errorf("username %q twice", a.Username)
		}
		seen[a.Username] = true
		roles[a.Role] = true
		if a.Name == "" || a.About == "" {
			t.Errorf("%s: no name or about: %+v", a.Username, a)
		}
	}
	for _, r := range []string{"gp", "consultant", "nurse", "district-nurse", "pharmacist", "social-worker",
		"care-home-nurse", "privacy-officer", "analyst", "admin", "patient"} {
		if !roles[r] {
			t.Errorf("no account with role %s", r)
		}
	}
	for _, u := range []string{"patient1", "patient2", "patient3"} {
		if !seen[u] {
			t.Errorf("no %s", u)
		}
	}
}

// checkResolves checks that what an account names is in the output.
func checkResolves(t *testing.T, o *output, a synth.Account) {
	t.Helper()
	switch a.Role {
	case "patient":
		delegate := a.FHIRUser == "RelatedPerson/"+synth.ParentID(a.Patient)
		if a.Org != "" || (a.FHIRUser != "Patient/"+a.Patient && !delegate) {
			t.Errorf("%s: org %q, fhirUser %q, patient %q", a.Username, a.Org, a.FHIRUser, a.Patient)
		}
		p, ok := o.patients[a.Patient]
		if !ok {
			t.Errorf("%s: no Patient/%s in the people's bundles", a.Username, a.Patient)
			return
		}
		ods, _ := o.registered(p)
		if o.sentBy[a.Patient] != ods {
			t.Errorf("%s: Patient/%s sent by %s, not by the registered practice %s", a.Username, a.Patient, o.sentBy[a.Patient], ods)
		}
		if p.Deceased != "" || adult(p.BirthDate) != (a.Username != "child1" && !delegate) {
			t.Errorf("%s: born %s, died %q: want a living adult (a child for child1 and the parent's)", a.Username, p.BirthDate, p.Deceased)
		}
		sharing := false
		consents := 0
		for _, r := range o.person[a.Patient] {
			if r.ResourceType != "Consent" {
				continue
			}
			consents++
			sharing = sharing || sharingDissent(t, r, a.Patient)
		}
		if dissent := a.Username == "patient-dissent"; dissent != sharing || !dissent && consents > 0 {
			t.Errorf("%s: %d consents, dissent from sharing %v", a.Username, consents, sharing)
		}
	case "privacy-officer", "analyst", "admin":
		// The board has no Practitioner resources.
		if a.FHIRUser != "" {
			t.Errorf("%s: fhirUser %s", a.Username, a.FHIRUser)
		}
	default:
		if a.Patient != "" {
			t.Errorf("%s: patient %q", a.Username, a.Patient)
		}
		if _, ok := o.ref[a.FHIRUser]; !ok || !strings.HasPrefix(a.FHIRUser, "Practitioner/") {
			t.Errorf("%s: %q is no Practitioner in the reference bundle", a.Username, a.FHIRUser)
		}
		if !contains(o.roles[a.FHIRUser], a.Org) {
			t.Errorf("%s: %s has roles at %v, not at %s", a.Username, a.FHIRUser, o.roles[a.FHIRUser], a.Org)
		}
	}
	if _, ok := o.orgByODS[a.Org]; a.Org != "" && !ok {
		t.Errorf("%s: no Organization with ODS code %s", a.Username, a.Org)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestAccountsDeterministic: the same seed and size give the same
// accounts, from the same generator or a new one; another seed does not.
func TestAccountsDeterministic(t *testing.T) {
	cfg := synth.Config{Seed: 7, Patients: 50}
	g1, _ := synth.New(cfg)
	g2, _ := synth.New(cfg)
	a, b, c := g1.DemoAccounts(), g1.DemoAccounts(), g2.DemoAccounts()
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("two calls differ (-first +second):\n%s", d)
	}
	if d := cmp.Diff(a, c); d != "" {
		t.Errorf("two generators differ (-first +second):\n%s", d)
	}
	g3, _ := synth.New(synth.Config{Seed: 8, Patients: 50})
	if cmp.Equal(a, g3.DemoAccounts()) {
		t.Error("seeds 7 and 8 give the same accounts")
	}
}

// TestAccountsDissent: in a larger population there is a person who has
// dissented from sharing, found without generating everyone; their
// Patient, from their registered practice, carries the Consent.
func TestAccountsDissent(t *testing.T) {
	g, err := synth.New(synth.Config{Seed: 1, Patients: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	accounts := g.DemoAccounts()
	t.Logf("%d accounts in %v", len(accounts), time.Since(start))
	checkAccounts(t, accounts)
	var dissent *synth.Account
	for i := range accounts {
		if accounts[i].Username == "patient-dissent" {
			dissent = &accounts[i]
		}
	}
	if dissent == nil {
		t.Fatal("no patient-dissent among 100,000 people")
	}
	// A person's ids begin with their index (8 hex digits).
	i, err := strconv.ParseUint(dissent.Patient[:8], 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	p := g.Person(int(i))
	var found, consent bool
	for _, b := range p.Bundles {
		for _, r := range entries(t, b.JSON) {
			if r.ResourceType == "Patient" && r.ID == dissent.Patient {
				found = true
			}
			consent = consent || sharingDissent(t, r, dissent.Patient)
		}
	}
	if !found || !consent {
		t.Errorf("person %d: Patient/%s found %v, dissent from sharing %v", i, dissent.Patient, found, consent)
	}
}
