package synth

import (
	"math/rand/v2"
	"strconv"
)

// The organisations of the care system. The integrated care board, the
// NHS trusts and the councils carry their real, public ODS codes and
// names; hospital site codes, GP practices, care homes, pharmacies,
// dentists, optometrists and hospices are made up, in ODS format, and
// named after real places so the data reads naturally. The set is the
// same whatever the number of people (about what 1.4 million people
// use), so that a person depends only on the seed and their index.

type orgKind uint8

const (
	orgICB orgKind = iota
	orgNational
	orgAcute
	orgMentalHealth
	orgGP
	orgCareHome
	orgHospice
	orgPharmacy
	orgCouncil
	orgDentist
	orgOptometrist
)

var orgKindNames = [...]string{
	orgICB: "Integrated care board", orgNational: "National body", orgAcute: "NHS trust (acute)",
	orgMentalHealth: "NHS trust (mental health and community)", orgGP: "GP practice", orgCareHome: "Care home",
	orgHospice: "Hospice", orgPharmacy: "Community pharmacy", orgCouncil: "Local authority (adult social care)",
	orgDentist: "Dental practice", orgOptometrist: "Optometrist",
}

const numRoles = int(roleOptometrist) + 1

type org struct {
	kind    orgKind
	ods     string
	name    string
	area    int // -1: serves all
	id      uid
	addr    address
	phone   string
	staff   [numRoles][]int       // practitioners by job role
	consult [numSpecialties][]int // consultants by specialty (trusts)
	sites   []int                 // hospital sites (locations)
	mrn     string                // prefix of the organisation's patient numbers
	key     uint64                // salt for the organisation's numbers
	apps    [3]string             // HL7 sending applications: ADT, results, documents
}

type locKind uint8

const (
	locSite locKind = iota
	locWard
	locED
	locClinic
	locDayUnit
)

// anySpec matches any specialty.
const anySpec specialty = 0xFF

type location struct {
	id     uid
	kind   locKind
	org    int
	parent int // the site of a ward, -1 for a site
	code   string
	name   string
	spec   specialty
	addr   address
	pl     string // as an HL7 PL
}

type practitioner struct {
	id, roleID uid
	org        int
	role       jobRole
	spec       specialty
	sex        byte
	given      string
	family     string
	reg        string // professional registration number
	sds        string // SDS user id
	xcn        string // as an HL7 XCN
}

// world is the reference data: every organisation, location and member
// of staff, indexed for the person generator.
type world struct {
	orgs  []org
	locs  []location
	pracs []practitioner
	icb   int
	nat   int
	// per place
	acute, childrens, mh, community, council, hospice [numAreas]int
	gps, careHomes, pharmacies, dentists, optoms      [numAreas][]int
	byODS                                             map[string]int
}

// Fixed sizes of the made-up organisations (totals over the ICB).
const (
	numPractices  = 120
	numCareHomes  = 120
	numPharmacies = 100
	numDentists   = 60
	numOptoms     = 40
)

type trustDef struct {
	ods, name, mrn string
	area           int
	kind           orgKind
	sites          []siteDef
}

type siteDef struct {
	code, name, line, town, postcode string
	ed, wards, children              bool
}

// The real NHS trusts of South Yorkshire. Site codes are in ODS format but
// made up.
var trustDefs = []trustDef{
	{"RHQ", "Sheffield Teaching Hospitals NHS Foundation Trust", "M", areaSheffield, orgAcute, []siteDef{
		{"RHQNG", "Northern General Hospital", "Herries Road", "Sheffield", "S5 7AU", true, true, false},
		{"RHQHH", "Royal Hallamshire Hospital", "Glossop Road", "Sheffield", "S10 2JF", false, true, false},
	}},
	{"RFR", "The Rotherham NHS Foundation Trust", "R", areaRotherham, orgAcute, []siteDef{
		{"RFR01", "Rotherham General Hospital", "Moorgate Road", "Rotherham", "S60 2UD", true, true, false},
	}},
	{"RP5", "Doncaster and Bassetlaw Teaching Hospitals NHS Foundation Trust", "D", areaDoncaster, orgAcute, []siteDef{
		{"RP501", "Doncaster Royal Infirmary", "Armthorpe Road", "Doncaster", "DN2 5LT", true, true, false},
	}},
	{"RFF", "Barnsley Hospital NHS Foundation Trust", "B", areaBarnsley, orgAcute, []siteDef{
		{"RFF01", "Barnsley Hospital", "Gawber Road", "Barnsley", "S75 2EP", true, true, false},
	}},
	{"RCU", "Sheffield Children's NHS Foundation Trust", "C", areaSheffield, orgAcute, []siteDef{
		{"RCU01", "Sheffield Children's Hospital", "Clarkson Street", "Sheffield", "S10 2TH", true, true, true},
	}},
	{"TAH", "Sheffield Health and Social Care NHS Foundation Trust", "S", areaSheffield, orgMentalHealth, nil},
	{"RXE", "Rotherham Doncaster and South Humber NHS Foundation Trust", "X", areaDoncaster, orgMentalHealth, nil},
	{"RXG", "South West Yorkshire Partnership NHS Foundation Trust", "W", areaBarnsley, orgMentalHealth, nil},
}

var hospiceNames = [numAreas]string{
	areaSheffield: "St Aidan's Hospice", areaRotherham: "Wentworth Hospice",
	areaDoncaster: "St Hilda's Hospice", areaBarnsley: "Dearne Valley Hospice",
}

var homeNames = fields(`Beech Willow Oakdene Fairview Ashgrove Hollybank Rosedale Meadowcroft Hawthorne Lindley
	Cherry_Trees Westwood Moorgate Parkside Riverside Larchfield Elmhurst Thornbury Ashfield Woodlands Bramley
	Brookfield Greenacres Highfield Millbrook Springfield Abbeyfield Ferndale Laurel Briar`)

const (
	saltOrg  = 0x4f5247 // "ORG"
	saltLoc  = 0x4c4f43
	saltPrac = 0x505241
	saltRole = 0x524f4c
)

func newWorld(seed int64) *world {
	r := rand.New(rand.NewPCG(mix(uint64(seed)^0x7265666572656e63), 0x776f726c64)) // "referenc", "world"
	w := &world{byODS: make(map[string]int)}
	base := mix(uint64(seed))
	add := func(o org) int {
		o.id = makeUID(base^saltOrg, hashString(o.ods))
		o.key = mix(base ^ hashString(o.ods))
		w.orgs = append(w.orgs, o)
		w.byODS[o.ods] = len(w.orgs) - 1
		return len(w.orgs) - 1
	}
	w.icb = add(org{kind: orgICB, ods: "QF7", name: "NHS South Yorkshire Integrated Care Board", area: -1,
		addr: address{line: "197 Eyre Street", town: "Sheffield", postcode: "S1 3FG", area: areaSheffield}})
	w.nat = add(org{kind: orgNational, ods: "X26", name: "NHS England", area: -1,
		addr: address{line: "7 and 8 Wellington Place", town: "Leeds", postcode: "LS1 4AP", area: -1}})
	for i := range w.childrens {
		w.childrens[i] = -1
	}
	for _, t := range trustDefs {
		o := org{kind: t.kind, ods: t.ods, name: t.name, area: t.area, mrn: t.mrn,
			apps: [3]string{"PAS", "PATHOLOGY", "EDMS"}}
		if len(t.sites) > 0 {
			s := t.sites[0]
			o.addr = address{line: s.line, town: s.town, postcode: s.postcode, area: t.area}
		} else {
			o.addr, _ = randomAddress(r, t.area)
		}
		o.phone = phoneNumber(r, t.area)
		i := add(o)
		for _, s := range t.sites {
			w.addSite(base, i, s)
		}
		switch {
		case t.ods == "RCU":
			w.childrens[areaSheffield] = i
		case t.kind == orgAcute:
			w.acute[t.area] = i
		}
	}
	// Mental health trusts by place, and who provides community nursing.
	w.mh = [numAreas]int{w.byODS["TAH"], w.byODS["RXE"], w.byODS["RXE"], w.byODS["RXG"]}
	w.community = [numAreas]int{w.byODS["RHQ"], w.byODS["RFR"], w.byODS["RXE"], w.byODS["RXG"]}
	for a := range areas {
		ar := &areas[a]
		w.council[a] = add(org{kind: orgCouncil, ods: ar.laCode, name: ar.council, area: a,
			addr:  address{line: "Town Hall", town: ar.name, postcode: randomPostcode(r, ar.district[0].outward), area: a},
			phone: phoneNumber(r, a), mrn: "P"})
		hAddr, _ := randomAddress(r, a)
		w.hospice[a] = add(org{kind: orgHospice, ods: "8J" + pad(101+a, 3), name: hospiceNames[a], area: a,
			addr: hAddr, phone: phoneNumber(r, a), mrn: "H"})
	}
	// Made-up local organisations, shared among places by population.
	gpPrefix := [numAreas]string{"C88", "C87", "C86", "C85"}
	for a := range areas {
		n := share(numPractices, a)
		for j := 0; j < n; j++ {
			suburb := spaces(areas[a].suburbs[j%len(areas[a].suburbs)])
			name := suburb + pick(r, []string{" Medical Centre", " Surgery", " Health Centre", " Group Practice", " Medical Practice"})
			if j >= len(areas[a].suburbs) {
				name = "The " + suburb + " Practice"
			}
			ad, _ := randomAddress(r, a)
			w.gps[a] = append(w.gps[a], add(org{kind: orgGP, ods: gpPrefix[a] + pad(901+j, 3), name: name, area: a,
				addr: ad, phone: phoneNumber(r, a), mrn: ""}))
		}
		for j := 0; j < share(numCareHomes, a); j++ {
			name := spaces(homeNames[(j+7*a)%len(homeNames)]) + []string{" House", " Lodge Care Home", " Court Nursing Home", " Grange"}[(j/len(homeNames)+a)%4]
			ad, _ := randomAddress(r, a)
			w.careHomes[a] = append(w.careHomes[a], add(org{kind: orgCareHome, ods: "VM" + code3(len(w.orgs)), name: name, area: a,
				addr: ad, phone: phoneNumber(r, a), mrn: "CH"}))
		}
		for j := 0; j < share(numPharmacies, a); j++ {
			var name string
			if j%3 == 2 {
				name = pick(r, britishFamily) + " Chemist"
			} else {
				name = spaces(areas[a].suburbs[(j*3+1)%len(areas[a].suburbs)]) + " Pharmacy"
			}
			ad, _ := randomAddress(r, a)
			w.pharmacies[a] = append(w.pharmacies[a], add(org{kind: orgPharmacy, ods: "F" + code4(len(w.orgs)), name: name, area: a,
				addr: ad, phone: phoneNumber(r, a)}))
		}
		for j := 0; j < share(numDentists, a); j++ {
			name := spaces(areas[a].suburbs[(j*5+2)%len(areas[a].suburbs)]) + " Dental Practice"
			ad, _ := randomAddress(r, a)
			w.dentists[a] = append(w.dentists[a], add(org{kind: orgDentist, ods: "V9" + pad(len(w.orgs), 4), name: name, area: a,
				addr: ad, phone: phoneNumber(r, a), mrn: "DP"}))
		}
		for j := 0; j < share(numOptoms, a); j++ {
			name := pick(r, britishFamily) + " Opticians"
			ad, _ := randomAddress(r, a)
			w.optoms[a] = append(w.optoms[a], add(org{kind: orgOptometrist, ods: "TP" + code3(len(w.orgs)), name: name, area: a,
				addr: ad, phone: phoneNumber(r, a), mrn: "OP"}))
		}
	}
	w.addStaff(r, base)
	// What HL7 messages repeat of locations and staff, written once.
	for l := range w.locs {
		w.locs[l].pl = plOf(w, l)
	}
	for i := range w.pracs {
		w.pracs[i].xcn = xcnOf(&w.pracs[i])
	}
	return w
}

// share divides a total among places by population, at least one each.
func share(total, a int) int {
	n := int(float64(total)*areas[a].share + 0.5)
	if n < 1 {
		n = 1
	}
	return n
}

// code3 and code4 make short alphanumeric codes from a number, in a
// letter-digit pattern like real ODS codes of these kinds.
func code3(n int) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXY"
	return string([]byte{letters[n%len(letters)], byte('0' + n/len(letters)%10), letters[n/230%len(letters)]})
}

func code4(n int) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXY"
	return string([]byte{letters[n/23%len(letters)], byte('0' + n%10), letters[n%len(letters)], byte('0' + n/10%10)})
}

func (w *world) addSite(base uint64, o int, s siteDef) {
	tr := &w.orgs[o]
	site := len(w.locs)
	w.locs = append(w.locs, location{id: makeUID(base^saltLoc, hashString(s.code)), kind: locSite, org: o, parent: -1,
		code: s.code, name: s.name, addr: address{line: s.line, town: s.town, postcode: s.postcode, area: tr.area}})
	tr.sites = append(tr.sites, site)
	sub := func(kind locKind, name string, spec specialty) {
		w.locs = append(w.locs, location{id: makeUID(base^saltLoc, hashString(s.code+"/"+name)), kind: kind, org: o,
			parent: site, name: name, spec: spec})
	}
	if s.ed {
		if s.children {
			sub(locED, "Children's Emergency Department", specEmergency)
		} else {
			sub(locED, "Emergency Department", specEmergency)
		}
	}
	sub(locClinic, "Outpatients Department", specMedicine)
	sub(locDayUnit, "Day Surgery Unit", specSurgery)
	if !s.wards {
		return
	}
	letter := byte('A')
	for sp := specialty(0); sp < numSpecialties; sp++ {
		ward := specialties[sp].ward
		if ward == "" || (sp == specPaediatrics) != s.children {
			continue
		}
		for n := 1; n <= 2; n++ {
			name := "Ward " + string(letter) + strconv.Itoa(n) + " (" + ward + ")"
			if sp == specMedicine {
				name = [...]string{"", ward, "Ward " + string(letter) + "2 (General Medicine)"}[n]
			}
			sub(locWard, name, sp)
		}
		letter++
	}
}

// Staff per organisation, by job role.
func (w *world) addStaff(r *rand.Rand, base uint64) {
	add := func(o int, role jobRole, spec specialty) {
		sex := byte('F')
		if role == roleConsultant || role == roleGP || role == rolePsychiatrist {
			if chance(r, 0.55) {
				sex = 'M'
			}
		} else if chance(r, 0.2) {
			sex = 'M'
		}
		birthYear := between(r, 1960, 1995)
		g := namesBritish
		if chance(r, 0.2) {
			g = []nameGroup{namesPakistani, namesIndian, namesAfrican, namesChinese}[r.IntN(4)]
		}
		n := len(w.pracs)
		p := practitioner{
			id:     makeUID(base^saltPrac, uint64(n)),
			roleID: makeUID(base^saltRole, uint64(n)),
			org:    o, role: role, spec: spec, sex: sex,
			given:  givenName(r, g, sex, birthYear),
			family: familyName(r, g),
			sds:    "5" + pad(r.IntN(100000000), 8) + pad(n%1000, 3),
		}
		switch jobRoles[role].reg {
		case sysGMC:
			p.reg = "9" + pad(100000+n, 6)
		case sysGMP:
			p.reg = "G9" + pad(100000+n, 6)
		case sysNMC:
			p.reg = pad(r.IntN(100), 2) + string(rune('A'+r.IntN(26))) + pad(r.IntN(10000), 4) + string(rune('A'+r.IntN(26)))
		case sysGPhC:
			p.reg = "29" + pad(r.IntN(100000), 5)
		case sysGDC:
			p.reg = pad(200000+n, 6)
		}
		w.pracs = append(w.pracs, p)
		oo := &w.orgs[o]
		oo.staff[role] = append(oo.staff[role], n)
		if role == roleConsultant {
			oo.consult[spec] = append(oo.consult[spec], n)
		}
	}
	for o := range w.orgs {
		switch w.orgs[o].kind {
		case orgGP:
			for j := 0; j < 4; j++ {
				add(o, roleGP, 0)
			}
			add(o, rolePracticeNurse, 0)
		case orgAcute:
			big := w.orgs[o].ods == "RHQ"
			for sp := specialty(0); sp < numSpecialties; sp++ {
				n := 2
				if big {
					n = 3
				}
				if w.orgs[o].ods == "RCU" {
					switch sp {
					case specPaediatrics:
						n = 4
					case specEmergency, specOrthopaedics, specSurgery:
						n = 1
					default:
						n = 0
					}
				} else if sp == specPaediatrics {
					n = 1
				}
				for j := 0; j < n; j++ {
					add(o, roleConsultant, sp)
				}
			}
			for _, s := range w.orgs[o].sites {
				for l := range w.locs {
					if w.locs[l].parent == s && w.locs[l].kind == locWard {
						add(o, roleWardSister, w.locs[l].spec)
					}
				}
			}
		case orgMentalHealth:
			for j := 0; j < 3; j++ {
				add(o, rolePsychiatrist, 0)
			}
			for j := 0; j < 4; j++ {
				add(o, roleMHNurse, 0)
			}
		case orgCouncil:
			for j := 0; j < 5; j++ {
				add(o, roleSocialWorker, 0)
			}
		case orgCareHome:
			add(o, roleCareHomeManager, 0)
		case orgHospice:
			add(o, rolePalliative, 0)
			add(o, roleDistrictNurse, 0)
		case orgPharmacy:
			add(o, rolePharmacist, 0)
		case orgDentist:
			add(o, roleDentist, 0)
			add(o, roleDentist, 0)
		case orgOptometrist:
			add(o, roleOptometrist, 0)
		}
	}
	// Community nursing teams belong to the trusts that provide them.
	for a := range areas {
		for j := 0; j < 6; j++ {
			add(w.community[a], roleDistrictNurse, 0)
		}
	}
}

// staffOf picks a member of staff of o in role, or -1 if it has none.
func (w *world) staffOf(r *rand.Rand, o int, role jobRole) int {
	s := w.orgs[o].staff[role]
	if len(s) == 0 {
		return -1
	}
	return pick(r, s)
}

// consultant picks a consultant of trust o in spec, or any consultant.
func (w *world) consultant(r *rand.Rand, o int, spec specialty) int {
	if c := w.orgs[o].consult[spec]; len(c) > 0 {
		return pick(r, c)
	}
	return w.staffOf(r, o, roleConsultant)
}

// siteFor picks the hospital site of trust o that has what is needed:
// an emergency department, or a ward of spec.
func (w *world) siteFor(r *rand.Rand, o int, needED bool) int {
	sites := w.orgs[o].sites
	if !needED {
		return pick(r, sites)
	}
	for _, s := range sites {
		if w.sub(s, locED, anySpec) >= 0 {
			return s
		}
	}
	return sites[0]
}

// sub finds a location of kind (and, for wards, specialty, anySpec for any)
// within site; for wards of a specialty the site lacks, the first ward of
// general medicine, then any ward.
func (w *world) sub(site int, kind locKind, spec specialty) int {
	fallback := -1
	for l := site + 1; l < len(w.locs) && w.locs[l].parent == site; l++ {
		loc := &w.locs[l]
		if loc.kind != kind {
			continue
		}
		if spec == anySpec || loc.spec == spec {
			return l
		}
		if fallback < 0 || (loc.spec == specMedicine && w.locs[fallback].spec != specMedicine) {
			fallback = l
		}
	}
	return fallback
}

// ward picks a ward of spec at site (the second ward of the specialty
// half the time).
func (w *world) ward(r *rand.Rand, site int, spec specialty) int {
	l := w.sub(site, locWard, spec)
	if l >= 0 && l+1 < len(w.locs) && w.locs[l+1].parent == site && w.locs[l+1].kind == locWard &&
		w.locs[l+1].spec == w.locs[l].spec && chance(r, 0.5) {
		return l + 1
	}
	return l
}
