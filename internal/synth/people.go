package synth

import (
	"math"
	"math/rand/v2"
)

// A person: who they are, where they live, what is wrong with them. Their
// history (history.go) is drawn from this.
type person struct {
	g     *Generator
	w     *world
	index int
	key   uint64
	r     *rand.Rand
	next  uint64 // counter for resource ids

	nhs            string
	sex            byte   // 'M' or 'F': sex registered at birth
	gender         string // administrative gender, FHIR code
	title          string
	given, middle  string
	family         string
	birth, death   ts // death 0: alive at now
	deathPlace     deathPlace
	eth            int
	area, district int
	addr           address
	prevAddr       address // before a move into a care home
	imd            int
	phone, mobile  string
	gp             int // registered practice
	usualGP        int // practitioner
	pharmacy       int
	kin            kin
	allergy        int // index in allergies, -1 for none

	onset    [numLTC]ts // 0: does not have it
	ltcCode  [numLTC]code
	depEnd   ts // a depression that resolved
	smoking  int
	height   float64 // cm, adult
	bmi      float64 // adult baseline
	sbpBase  float64
	hba1cDx  float64 // HbA1c at diagnosis of diabetes
	chol     float64
	careHome int // -1: none
	homeFrom ts
	eol      bool // known to be dying in the last months

	start, end ts // the history window: up to ten years, ending at now or death
	now        ts

	recs []*record
	// socialTriggers are moments that lead to a social care assessment
	// (a discharge after a broken hip, a crisis).
	socialTriggers []ts

	hl7Cache hl7Cache
	hl7Buf   []byte
}

type deathPlace uint8

const (
	diedHospital deathPlace = iota
	diedHome
	diedCareHome
	diedHospice
)

type kin struct {
	given, family string
	relation      string // "Wife", "Son", ...
	phone         string
}

func (p *person) alive() bool { return p.death == 0 }

// refTime is when the person's state is judged: now, or their death.
func (p *person) refTime() ts {
	if p.death != 0 {
		return p.death
	}
	return p.now
}

func (p *person) age(t ts) int { return ageAt(p.birth, t) }

func (p *person) has(c ltc) bool { return p.onset[c] != 0 }

// hasAt reports whether condition c had been diagnosed by t.
func (p *person) hasAt(c ltc, t ts) bool { return p.onset[c] != 0 && p.onset[c] <= t }

func (p *person) newID() uid {
	p.next++
	return personUID(p.index, p.key, p.next)
}

// calibration holds, per long-term condition, the factor that makes the
// all-ages prevalence come out at its target given the age pyramid, the
// deprivation mix and the sex ratio.
type calibration [numLTC]float64

func calibrate() calibration {
	var c calibration
	dec := imdWeights()
	total := 0.0
	for _, w := range agePyramid {
		total += w
	}
	for k := ltc(0); k < numLTC; k++ {
		d := &ltcs[k]
		e := 0.0
		for b, w := range agePyramid {
			for decile := 1; decile <= 10; decile++ {
				e += w / total * dec[decile] * d.byAge[b] * depMult(d.dep, decile)
			}
		}
		c[k] = d.prevalence / e
	}
	return c
}

// depMult is the risk at a decile relative to the middle: ratio between
// decile 1 and decile 10, geometric in between.
func depMult(ratio float64, decile int) float64 {
	return math.Pow(ratio, (5.5-float64(decile))/9)
}

// sexMult keeps the average over both sexes at 1.
func sexMult(maleRatio float64, sex byte) float64 {
	if sex == 'M' {
		return 2 * maleRatio / (1 + maleRatio)
	}
	return 2 / (1 + maleRatio)
}

var pyramidCum = newCumulative(agePyramid[:])

// annualMortality is a rough chance of dying within a year at an age.
func annualMortality(age int) float64 {
	var m float64
	switch {
	case age < 1:
		m = 0.004
	case age < 40:
		m = 0.0006
	case age < 55:
		m = 0.002
	case age < 65:
		m = 0.006
	case age < 75:
		m = 0.015
	case age < 85:
		m = 0.045
	case age < 90:
		m = 0.12
	default:
		m = 0.22
	}
	return m
}

// demographics draws everything about person p that is not history.
func (p *person) demographics() {
	r := p.r
	g := p.g
	p.nhs = nhsNumber(g.cfg.Seed, p.index)
	// Age at now, from the pyramid; uniform within the band, and a tail
	// past 90.
	b := pyramidCum.draw(r)
	age := b*5 + r.IntN(5)
	if b == numBands-1 {
		age = 90 + int(math.Min(15, r.ExpFloat64()*3.5))
	}
	p.birth = (p.now - ts(age)*year - ts(r.Int64N(int64(year)))).midnight()
	if p.birth > p.now-day {
		p.birth = p.now - day
	}
	p.sex = 'F'
	if chance(r, 0.493) {
		p.sex = 'M'
	}
	p.gender = "female"
	if p.sex == 'M' {
		p.gender = "male"
	}
	p.eth = ethnicCum.draw(r)
	by, _, _ := p.birth.ymd()
	group := ethnicities[p.eth].names
	p.given = givenName(r, group, p.sex, by)
	if chance(r, 0.55) {
		p.middle = givenName(r, group, p.sex, by)
		if p.middle == p.given {
			p.middle = ""
		}
	}
	p.family = familyName(r, group)
	// Where they live.
	p.area = areaCumulative.draw(r)
	p.addr, p.district = randomAddress(r, p.area)
	p.imd = imdDecile(r, areas[p.area].district[p.district].imd)
	if chance(r, 0.7) {
		p.phone = phoneNumber(r, p.area)
	}
	if age >= 12 && chance(r, 0.85) {
		p.mobile = mobileNumber(r)
	}
	w := p.w
	p.gp = pick(r, w.gps[p.area])
	p.usualGP = w.staffOf(r, p.gp, roleGP)
	p.pharmacy = pick(r, w.pharmacies[p.area])
	// Death within the last three years.
	if chance(r, 1-math.Pow(1-annualMortality(age), 3)) {
		p.death = p.now - ts(r.Int64N(int64(3*year)))
		if p.death <= p.birth+day {
			p.death = 0
		}
	}
	p.start = max(p.now-10*year, p.birth)
	p.end = p.now
	if p.death != 0 {
		p.end = p.death
	}
	p.conditions()
	p.physiology()
	p.title = titleFor(r, p)
	p.kin = p.nextOfKin()
	p.careHome = -1
	refAge := p.age(p.refTime())
	if refAge >= 75 {
		pHome := 0.02
		switch {
		case refAge >= 90:
			pHome = 0.15
		case refAge >= 85:
			pHome = 0.06
		}
		if p.has(ltcDementia) {
			pHome *= 3
		}
		if chance(r, pHome) {
			p.careHome = pick(r, w.careHomes[p.area])
			p.homeFrom = max(p.start, p.refTime()-ts(r.Int64N(int64(4*year))))
			p.prevAddr = p.addr
			p.addr = w.orgs[p.careHome].addr
		}
	}
	if p.death != 0 {
		p.deathPlace = diedHospital
		x := r.Float64()
		switch {
		case p.careHome >= 0 && x < 0.6:
			p.deathPlace = diedCareHome
		case p.has(ltcCancer) && x < 0.35:
			p.deathPlace = diedHospice
		case x < 0.3:
			p.deathPlace = diedHome
		}
		p.eol = p.has(ltcCancer) || p.has(ltcHeartFailure) || p.has(ltcDementia) || p.has(ltcCOPD) || refAge >= 85
	}
	// A small share of adults live in a gender other than that registered
	// at birth; the fact is in the RCGP sensitive set (history.go).
	if age >= 18 && chance(r, 0.0015) {
		if p.sex == 'M' {
			p.gender = "female"
		} else {
			p.gender = "male"
		}
	}
}

// conditions decides which long-term conditions a person has by their
// reference time, and since when.
func (p *person) conditions() {
	r := p.r
	ref := p.refTime()
	age := p.age(ref)
	for k := ltc(0); k < numLTC; k++ {
		d := &ltcs[k]
		pr := p.g.calib[k] * d.byAge[band(age)] * depMult(d.dep, p.imd) * sexMult(d.male, p.sex)
		if !chance(r, math.Min(pr, 0.95)) {
			continue
		}
		// How long they have had it: some years, never before a typical
		// first age.
		minAge, maxYears := 18.0, 20.0
		switch k {
		case ltcHypertension:
			minAge, maxYears = 25, 25
		case ltcDiabetes:
			minAge, maxYears = 25, 20
		case ltcAsthma:
			minAge, maxYears = 2, 60
		case ltcCOPD:
			minAge, maxYears = 40, 15
		case ltcHeartFailure:
			minAge, maxYears = 45, 8
		case ltcDementia:
			minAge, maxYears = 60, 7
		case ltcDepression:
			minAge, maxYears = 12, 15
		case ltcCancer:
			minAge, maxYears = 18, 10
		}
		span := math.Min(float64(age)-minAge, maxYears)
		if span < 0.2 {
			span = math.Max(0.2, float64(age)*0.5)
		}
		years := r.Float64() * span
		p.onset[k] = (ref - ts(years*float64(year))).midnight() + 9*hour + ts(r.IntN(8))*hour
		if p.onset[k] < p.birth+day {
			p.onset[k] = p.birth + 180*day
		}
		if p.onset[k] > ref {
			p.onset[k] = ref - day
		}
		p.ltcCode[k] = d.code
		switch k {
		case ltcDiabetes:
			if age-int(years) < 25 || chance(r, 0.06) {
				p.ltcCode[k] = diabetesType1
			}
		case ltcCancer:
			x := r.Float64()
			switch {
			case x < 0.3 && p.sex == 'F':
				p.ltcCode[k] = cancerBreast
			case x < 0.3:
				p.ltcCode[k] = cancerProstate
			case x < 0.6:
				p.ltcCode[k] = cancerColon
			case x < 0.8:
				p.ltcCode[k] = cancerLung
			}
		case ltcDepression:
			if chance(r, 0.35) {
				if e := p.onset[k] + ts(between(r, 180, 900))*day; e < ref {
					p.depEnd = e
				}
			}
		}
	}
}

// physiology draws the baselines the observations trend from.
func (p *person) physiology() {
	r := p.r
	if p.sex == 'M' {
		p.height = clamp(normal(r, 175.5, 7), 150, 200)
	} else {
		p.height = clamp(normal(r, 162, 6.5), 140, 185)
	}
	p.bmi = normal(r, 27.3, 4.8) + 0.25*(5.5-float64(p.imd))
	if p.has(ltcDiabetes) && p.ltcCode[ltcDiabetes] != diabetesType1 {
		p.bmi += 3.5
	}
	p.bmi = clamp(p.bmi, 17, 52)
	p.sbpBase = normal(r, 118, 8)
	if p.sex == 'M' {
		p.sbpBase += 4
	}
	p.hba1cDx = clamp(normal(r, 62, 10), 48, 110)
	p.chol = clamp(normal(r, 5.2, 0.9), 2.8, 9)
	// Smoking: more common where deprivation is.
	x := r.Float64()
	current := 0.13 + 0.015*(5.5-float64(p.imd))
	switch {
	case p.has(ltcCOPD) && x < 0.45:
		p.smoking = 2
	case p.has(ltcCOPD):
		p.smoking = 1
	case x < current:
		p.smoking = 2
	case x < current+0.25:
		p.smoking = 1
	}
}

func titleFor(r *rand.Rand, p *person) string {
	if p.age(p.now) < 16 {
		return ""
	}
	if p.gender == "male" {
		return "Mr"
	}
	if p.gender != "female" {
		return "Mx"
	}
	switch x := r.Float64(); {
	case x < 0.45:
		return "Mrs"
	case x < 0.8:
		return "Ms"
	default:
		return "Miss"
	}
}

func (p *person) nextOfKin() kin {
	r := p.r
	age := p.age(p.now)
	k := kin{family: p.family}
	if r.Float64() < 0.15 {
		return kin{}
	}
	group := ethnicities[p.eth].names
	by, _, _ := p.birth.ymd()
	switch {
	case age < 18:
		k.relation = "Mother"
		k.given = givenName(r, group, 'F', by-30)
		if chance(r, 0.3) {
			k.relation = "Father"
			k.given = givenName(r, group, 'M', by-32)
		}
	case age >= 25 && chance(r, 0.65):
		if p.sex == 'M' {
			k.relation, k.given = "Wife", givenName(r, group, 'F', by)
		} else {
			k.relation, k.given = "Husband", givenName(r, group, 'M', by)
		}
		if chance(r, 0.04) {
			k.relation = "Partner"
		}
	case age >= 60:
		if chance(r, 0.5) {
			k.relation, k.given = "Son", givenName(r, group, 'M', by+28)
		} else {
			k.relation, k.given = "Daughter", givenName(r, group, 'F', by+28)
			if chance(r, 0.6) {
				k.family = familyName(r, group)
			}
		}
	default:
		k.relation = "Mother"
		k.given = givenName(r, group, 'F', by-28)
	}
	if chance(r, 0.7) {
		k.phone = mobileNumber(r)
	} else {
		k.phone = phoneNumber(r, p.area)
	}
	return k
}

// Physiology over time: values that trend, so a chart of any person reads
// like a real one.

// bp returns systolic and diastolic pressure at t.
func (p *person) bp(t ts) (float64, float64) {
	age := float64(p.age(t))
	sys := p.sbpBase + 0.45*math.Max(0, age-25)
	if age < 16 {
		sys = 95 + 1.5*age
	}
	if on := p.onset[ltcHypertension]; on != 0 {
		peak := math.Max(sys+22, 152)
		lead := float64(3 * year)
		switch dt := float64(t - on); {
		case dt < -lead:
		case dt < 0:
			sys += (peak - sys) * (1 + dt/lead)
		case dt < float64(120*day):
			sys = peak - 8
		default:
			sys = math.Min(sys, 132) + 6
		}
	}
	if p.hasAt(ltcHeartFailure, t) {
		sys -= 8
	}
	sys = clamp(normal(p.r, sys, 7), 80, 210)
	dia := clamp(normal(p.r, 0.5*sys+16, 5), 45, 125)
	return math.Round(sys), math.Round(dia)
}

// hba1c in mmol/mol at t: normal, or rising to diagnosis and falling on
// treatment, then drifting up as diabetes progresses.
func (p *person) hba1c(t ts) float64 {
	v := 35 + 0.06*float64(p.age(t))
	if on := p.onset[ltcDiabetes]; on != 0 {
		lead := float64(3 * year)
		switch dt := float64(t - on); {
		case dt < -lead:
		case dt < 0:
			v = 41 + (p.hba1cDx-41)*(1+dt/lead)
		default:
			target := 53 + 0.8*dt/float64(year)
			v = target + (p.hba1cDx-target)*math.Exp(-dt/float64(150*day))
		}
	}
	return math.Round(clamp(normal(p.r, v, 3), 25, 130))
}

func (p *person) egfr(t ts) float64 {
	age := float64(p.age(t))
	v := 112 - 0.95*math.Max(0, age-30)
	if p.hasAt(ltcDiabetes, t) {
		v -= 6 + 1.2*float64(t-p.onset[ltcDiabetes])/float64(year)
	}
	if p.hasAt(ltcHypertension, t) {
		v -= 5
	}
	if p.hasAt(ltcHeartFailure, t) {
		v -= 15
	}
	return math.Round(clamp(normal(p.r, v, 6), 8, 130))
}

// creatinine goes with eGFR (inverse), by sex.
func (p *person) creatinine(egfr float64) float64 {
	base := 82.0
	if p.sex == 'F' {
		base = 66
	}
	return math.Round(base * math.Pow(90/math.Max(egfr, 5), 0.95))
}

// weight in kg and BMI at t.
func (p *person) weight(t ts) (float64, float64) {
	age := float64(p.age(t))
	if age < 18 {
		h := math.Min(p.height, 75+6.2*age) / 100
		bmi := clamp(normal(p.r, 15.5+0.2*age, 1.2), 12, 30)
		return math.Round(bmi*h*h*10) / 10, math.Round(bmi*10) / 10
	}
	bmi := p.bmi + 0.08*math.Min(age-18, 45)
	if age > 70 {
		bmi -= 0.12 * (age - 70)
	}
	if p.death != 0 && p.eol && t > p.death-2*year {
		bmi -= 2 * float64(t-(p.death-2*year)) / float64(2*year)
	}
	bmi = clamp(normal(p.r, bmi, 0.5), 14, 60)
	h := p.height / 100
	return math.Round(bmi*h*h*10) / 10, math.Round(bmi*10) / 10
}
