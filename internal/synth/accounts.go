package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Demo sign-ins: who the built-in identity provider's demo users are in
// the synthetic care system, chosen so that signing in as each tells one
// story about the same few people.

// Account is a demo sign-in for the built-in identity provider: who a demo user is in the synthetic care system.
type Account struct {
	Username string // e.g. "gp", "consultant", "patient1"
	Name     string // the practitioner's or person's name
	Role     string // one of: gp, consultant, nurse, district-nurse, pharmacist, social-worker, care-home-nurse, privacy-officer, analyst, admin, patient
	Org      string // ODS code of the organisation they act for ("" for patients)
	FHIRUser string // "Practitioner/<id>" for staff (the Practitioner resource the generator writes), "Patient/<id>" for patients, "RelatedPerson/<id>" for a delegate
	Patient  string // for patients: the id of their own Patient resource (the one written by their registered GP practice); for a delegate, the Patient id of the person they act for
	About    string // one line for the sign-in page: e.g. "GP at Rotherham Road Surgery (C84001); registered GP of patient1"
}

// How far DemoAccounts looks for the people it needs (a care home
// resident, a dissent from sharing), so that it stays cheap however large
// the population; and how many people decide the trust with most
// admissions when demo patient 1 has never been admitted.
const (
	demoScan       = 1000
	demoAdmissions = 50
)

// DemoAccounts returns the demo sign-ins for a generated population: one
// per professional role, and some patients.
//
//   - gp: patient1's usual GP, at the practice where patient1 is
//     registered (the Organization and Practitioner of patient1's
//     generalPractitioner).
//   - consultant, nurse: at the acute trust of patient1's latest
//     admission (or, if patient1 has none, the trust with most admissions
//     among the first people): the consultant in charge of that admission
//     and the sister or charge nurse of its last ward.
//   - district-nurse: a community nurse of the trust that provides
//     community nursing where patient1 lives.
//   - pharmacist: at patient1's community pharmacy.
//   - social-worker: at the adult social care of patient1's council.
//
// Of the district nurse, pharmacist and social worker, the one who last
// saw patient1 if any did, else the first of the organisation's staff.
//   - care-home-nurse: the manager (a registered nurse) of the care home
//     of the first resident among the people (a care home in patient1's
//     place if none of them lives in one).
//   - privacy-officer, analyst, admin: at the integrated care board. The
//     generator writes no Practitioner for the board, so their FHIRUser is
//     empty and their names are made up from the seed.
//   - patient1..patient3: the first three people by index who are adults,
//     alive, and have no Consent at all (no dissent from sharing, no type 1
//     or national data opt-out).
//   - patient-dissent: the first living person with a recorded dissent
//     from sharing, if any.
//
// The generator writes a next of kin only as a contact in the Patient, not
// as a RelatedPerson resource, so there is no delegate ("carer") account.
//
// Only the people needed are generated (their model, not their bundles),
// and among at most the first 1000; the result depends only on the
// Config (seed, number of people, now).
func (g *Generator) DemoAccounts() []Account {
	d := &demo{g: g, w: g.world, limit: min(g.cfg.Patients, demoScan)}
	w := d.w

	// The patients.
	var patients []*person
	for i := 0; i < d.limit && len(patients) < 3; i++ {
		p := d.person(i)
		if p.alive() && p.age(p.now) >= 18 && !hasConsent(p, anyConsent) {
			patients = append(patients, p)
		}
	}
	if len(patients) == 0 {
		// Not in any population the generator makes from 10 people up,
		// but never leave the demo without a patient.
		patients = append(patients, d.person(0))
	}
	p1 := patients[0]

	var out []Account
	staff := func(username, role string, prac int, about string) {
		pr := &w.pracs[prac]
		out = append(out, Account{Username: username, Name: pracName(w, prac), Role: role, Org: w.orgs[pr.org].ods,
			FHIRUser: "Practitioner/" + pr.id.String(), About: about})
	}

	// The GP.
	staff("gp", "gp", p1.usualGP, "GP at "+orgLabel(w, p1.gp)+"; registered GP of patient1")

	// The consultant and the nurse.
	trust, adm := d.admission(p1)
	story := "admitted patient1"
	if adm.p != p1 {
		story = "the trust with most admissions; admitted " + personName(adm.p)
	}
	if adm.p != nil {
		e := &adm.rc.encs[adm.enc]
		when := string(appendDate(nil, e.start))
		cons := e.consultant
		if cons < 0 || w.pracs[cons].org != trust {
			cons = w.staffOf(demoRNG(g.cfg.Seed, "consultant"), trust, roleConsultant)
		}
		staff("consultant", "consultant", cons, "Consultant in "+specialties[w.pracs[cons].spec].name+" at "+
			orgLabel(w, trust)+"; "+story+" on "+when)
		ward := -1
		if len(e.stays) > 0 {
			ward = e.stays[len(e.stays)-1].loc
		}
		nurse, wardName := d.wardSister(trust, ward)
		about := "Ward sister at " + orgLabel(w, trust)
		if wardName != "" {
			about = "Sister, " + wardName + ", " + orgLabel(w, trust)
			if adm.p == p1 {
				about += "; patient1's ward on the admission of " + when
			}
		}
		staff("nurse", "nurse", nurse, about)
	} else {
		// No admission among the first people at all.
		r := demoRNG(g.cfg.Seed, "trust")
		staff("consultant", "consultant", w.staffOf(r, trust, roleConsultant), "Consultant at "+orgLabel(w, trust))
		staff("nurse", "nurse", w.staffOf(r, trust, roleWardSister), "Ward sister at "+orgLabel(w, trust))
	}

	// Community, pharmacy, social care.
	comm := w.community[p1.area]
	dn, visited := d.staffFor(p1, comm, roleDistrictNurse)
	about := "Community nurse at " + orgLabel(w, comm)
	if visited {
		about += "; visits patient1 at home"
	} else {
		about += ", which provides community nursing where patient1 lives"
	}
	staff("district-nurse", "district-nurse", dn, about)

	ph, served := d.staffFor(p1, p1.pharmacy, rolePharmacist)
	about = "Pharmacist at " + orgLabel(w, p1.pharmacy)
	if served {
		about += "; has seen patient1"
	} else {
		about += ", patient1's community pharmacy"
	}
	staff("pharmacist", "pharmacist", ph, about)

	la := w.council[p1.area]
	sw, assessed := d.staffFor(p1, la, roleSocialWorker)
	about = "Social worker, adult social care, " + orgLabel(w, la)
	if assessed {
		about += "; assessed patient1"
	} else {
		about += ", patient1's council"
	}
	staff("social-worker", "social-worker", sw, about)

	// The care home.
	home, resident := d.careHome(p1)
	about = "Registered nurse and manager at " + orgLabel(w, home)
	if resident != nil {
		about += "; " + personName(resident) + " lives there"
	} else {
		about += ", a care home in patient1's place (none of the first people lives in one)"
	}
	staff("care-home-nurse", "care-home-nurse", w.orgs[home].staff[roleCareHomeManager][0], about)

	// The integrated care board.
	icb := &w.orgs[w.icb]
	r := demoRNG(g.cfg.Seed, "icb")
	for _, a := range []struct{ username, about string }{
		{"privacy-officer", "Privacy officer (Caldicott and data protection) at "},
		{"analyst", "Population health analyst at "},
		{"admin", "Shared care record administrator at "},
	} {
		sex := byte('F')
		if chance(r, 0.4) {
			sex = 'M'
		}
		name := givenName(r, namesBritish, sex, between(r, 1965, 1995)) + " " + familyName(r, namesBritish)
		out = append(out, Account{Username: a.username, Name: name, Role: a.username, Org: icb.ods,
			About: a.about + icb.name + " (" + icb.ods + ")"})
	}

	// The patients.
	for n, p := range patients {
		u := "patient" + string(rune('1'+n))
		out = append(out, d.patient(u, p, "adult, shares their record"))
	}
	for i := 0; i < d.limit; i++ {
		p := d.person(i)
		if p.alive() && hasConsent(p, consentKindSharing) {
			out = append(out, d.patient("patient-dissent", p, "has dissented from sharing their record"))
			break
		}
	}
	// A child, and a parent who acts for them: the generator writes no
	// RelatedPerson, so the demo makes the parent's (ParentID) with proxy
	// access when it loads.
	for i := 0; i < d.limit; i++ {
		p := d.person(i)
		if !p.alive() || p.age(p.now) >= 16 || hasConsent(p, anyConsent) {
			continue
		}
		child := d.patient("child1", p, "a child")
		child.About = personName(p) + ", " + strconv.Itoa(p.age(p.now)) + ", a child: their parent signs in as parent"
		r := demoRNG(g.cfg.Seed, "parent")
		sex := byte('F')
		if chance(r, 0.4) {
			sex = 'M'
		}
		family := p.family
		parent := Account{Username: "parent", Name: givenName(r, namesBritish, sex, between(r, 1975, 1995)) + " " + family, Role: "patient",
			FHIRUser: "RelatedPerson/" + ParentID(child.Patient), Patient: child.Patient,
			About: "parent of " + personName(p) + " (child1), with proxy access to their record"}
		out = append(out, child, parent)
		break
	}
	return out
}

// ParentID is the id of the RelatedPerson the demo writes for the parent
// of the child whose Patient id is child.
func ParentID(child string) string { return "parent-" + child }

// demo generates people's models on demand, each once.
type demo struct {
	g      *Generator
	w      *world
	limit  int
	people []*person
}

func (d *demo) person(i int) *person {
	for len(d.people) <= i {
		d.people = append(d.people, nil)
	}
	if d.people[i] == nil {
		d.people[i] = d.g.demoPerson(i)
	}
	return d.people[i]
}

// demoPerson builds person i as generate does, without writing anything.
func (g *Generator) demoPerson(i int) *person {
	key := personKey(g.cfg.Seed, i)
	p := &person{g: g, w: g.world, index: i, key: key, r: personRNG(key), now: g.now, allergy: -1}
	p.demographics()
	p.history()
	return p
}

// demoRNG is a random stream for the demo's own choices, apart from any
// person's.
func demoRNG(seed int64, what string) *rand.Rand {
	k := mix(uint64(seed) ^ hashString("demo/"+what))
	return rand.New(rand.NewPCG(k, mix(k)))
}

func (d *demo) patient(username string, p *person, what string) Account {
	w := d.w
	id := d.gpRecord(p).pid.String()
	age := p.age(p.now)
	return Account{Username: username, Name: personName(p), Role: "patient", FHIRUser: "Patient/" + id, Patient: id,
		About: personName(p) + ", " + strconv.Itoa(age) + ", " + what + "; registered at " + orgLabel(w, p.gp)}
}

// gpRecord is the record of p's registered practice (always made first).
func (d *demo) gpRecord(p *person) *record {
	for _, rc := range p.recs {
		if rc.org == p.gp {
			return rc
		}
	}
	panic("synth: person without a GP record")
}

// anyConsent matches a Consent of any kind.
const anyConsent consentKind = 0xFF

// hasConsent reports whether any of p's records holds a Consent of kind k
// (or of any kind).
func hasConsent(p *person, k consentKind) bool {
	for _, rc := range p.recs {
		for _, c := range rc.consents {
			if k == anyConsent || c.kind == k {
				return true
			}
		}
	}
	return false
}

// admissionAt is one admission: whose, in which record, which encounter.
type admissionAt struct {
	p   *person
	rc  *record
	enc int
}

// admissions lists p's admissions to hospital, latest last.
func admissions(p *person) []admissionAt {
	var out []admissionAt
	for _, rc := range p.recs {
		if !rc.hospital {
			continue
		}
		for i := range rc.encs {
			if k := rc.encs[i].kind; k == encEmergencyAdmission || k == encElectiveAdmission {
				out = append(out, admissionAt{p, rc, i})
			}
		}
	}
	// Latest by start; records are few, a simple selection will do.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].rc.encs[out[j].enc].start < out[j-1].rc.encs[out[j-1].enc].start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// admission finds the trust for the consultant and the nurse: that of
// p1's latest admission, else the trust with most admissions among the
// first people (the first of them there as the story), else p1's local
// trust.
func (d *demo) admission(p1 *person) (int, admissionAt) {
	if a := admissions(p1); len(a) > 0 {
		last := a[len(a)-1]
		return last.rc.org, last
	}
	count := map[int]int{}
	first := map[int]admissionAt{}
	for i := 0; i < min(d.limit, demoAdmissions); i++ {
		for _, a := range admissions(d.person(i)) {
			if _, ok := first[a.rc.org]; !ok {
				first[a.rc.org] = a
			}
			count[a.rc.org]++
		}
	}
	best := -1
	for o, n := range count {
		if best < 0 || n > count[best] || n == count[best] && o < best {
			best = o
		}
	}
	if best < 0 {
		return d.w.acute[p1.area], admissionAt{}
	}
	return best, first[best]
}

// wardSister is the sister or charge nurse of ward (a location of trust
// o; -1 for any): the trust has one per ward, added in the order of its
// wards.
func (d *demo) wardSister(o, ward int) (int, string) {
	w := d.w
	sisters := w.orgs[o].staff[roleWardSister]
	k := 0
	for _, s := range w.orgs[o].sites {
		for l := range w.locs {
			if w.locs[l].parent != s || w.locs[l].kind != locWard {
				continue
			}
			if (l == ward || ward < 0) && k < len(sisters) {
				return sisters[k], w.locs[l].name + ", " + w.locs[s].name
			}
			k++
		}
	}
	return sisters[0], ""
}

// staffFor is the member of staff of o in role who saw p most recently,
// if any did (true), else the first of o's staff in role.
func (d *demo) staffFor(p *person, o int, role jobRole) (int, bool) {
	w := d.w
	best, at := -1, ts(0)
	for _, rc := range p.recs {
		if rc.org != o {
			continue
		}
		for i := range rc.encs {
			e := &rc.encs[i]
			if e.prac >= 0 && w.pracs[e.prac].role == role && w.pracs[e.prac].org == o && (best < 0 || e.start > at) {
				best, at = e.prac, e.start
			}
		}
	}
	if best >= 0 {
		return best, true
	}
	return w.orgs[o].staff[role][0], false
}

// careHome is the care home of the first living resident among the
// people (else the first resident), or the first care home in p1's place.
func (d *demo) careHome(p1 *person) (int, *person) {
	var dead *person
	for i := 0; i < d.limit; i++ {
		p := d.person(i)
		if p.careHome < 0 || p.homeFrom > p.end {
			continue
		}
		if p.alive() {
			return p.careHome, p
		}
		if dead == nil {
			dead = p
		}
	}
	if dead != nil {
		return dead.careHome, dead
	}
	return d.w.careHomes[p1.area][0], nil
}

func personName(p *person) string {
	return strings.Join(strings.Fields(p.given+" "+p.family), " ")
}

func orgLabel(w *world, o int) string {
	return w.orgs[o].name + " (" + w.orgs[o].ods + ")"
}
