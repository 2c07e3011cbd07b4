package synth

import (
	"math"
	"math/bits"
	"strconv"
)

// A person's history over the window (up to ten years, to now or death),
// organisation by organisation: what each one would have recorded. The
// GP record is the spine (long-term conditions, medicines, reviews,
// immunisations); hospitals add emergencies, admissions, operations and
// clinics; the rest add what they do.

const (
	saltPatient = 0x50415449454e54 // "PATIENT"
	saltDupe    = 0x44555045       // "DUPE"
)

// history builds every record of p.
func (p *person) history() {
	p.gpRecord()
	p.hospitalCare()
	p.mentalHealth()
	p.communityNursing()
	p.careHomeStay()
	p.endOfLife()
	p.socialCare()
	p.pharmacyServices()
	p.dental()
	p.optometry()
	p.nationalOptOut()
	p.clampTimes()
	// Trusts learn of most deaths from the national demographics service;
	// other organisations often never do.
	if p.death != 0 {
		for _, rc := range p.recs {
			if rc.hospital && !rc.knowsDeath && chance(p.r, 0.6) {
				rc.knowsDeath = true
			}
		}
	}
}

// clampTimes brings back to the end of the window (now, or death) what
// falls after it only because it follows something else near the end: a
// letter typed days after a clinic, a result an hour after the sample, the
// end of a course of antibiotics. No record reaches into the future or
// past a death.
func (p *person) clampTimes() {
	c := func(t *ts) {
		if *t > p.end {
			*t = p.end
		}
	}
	for _, rc := range p.recs {
		for i := range rc.encs {
			e := &rc.encs[i]
			c(&e.start)
			c(&e.end)
			for j := range e.stays {
				c(&e.stays[j].start)
				c(&e.stays[j].end)
			}
		}
		for i := range rc.conds {
			c(&rc.conds[i].onset)
			c(&rc.conds[i].recorded)
			c(&rc.conds[i].abated)
		}
		for i := range rc.obs {
			c(&rc.obs[i].at)
		}
		for i := range rc.meds {
			c(&rc.meds[i].start)
			c(&rc.meds[i].end)
		}
		for i := range rc.allergies {
			c(&rc.allergies[i].onset)
			c(&rc.allergies[i].recorded)
		}
		for i := range rc.imms {
			c(&rc.imms[i].at)
		}
		for i := range rc.procs {
			c(&rc.procs[i].at)
		}
		for i := range rc.plans {
			c(&rc.plans[i].start)
			c(&rc.plans[i].end)
		}
		for i := range rc.docs {
			c(&rc.docs[i].at)
		}
		for i := range rc.flags {
			c(&rc.flags[i].start)
		}
		for i := range rc.consents {
			c(&rc.consents[i].at)
		}
		for i := range rc.episodes {
			c(&rc.episodes[i].start)
			c(&rc.episodes[i].end)
		}
	}
}

// rec returns the record organisation o holds on p, creating it on first
// contact.
func (p *person) rec(o int) *record {
	for _, r := range p.recs {
		if r.org == o {
			return r
		}
	}
	r := p.r
	w := p.w
	ods := w.orgs[o].ods
	rc := &record{
		org:    o,
		pid:    personUID(p.index, p.key, saltPatient^hashString(ods)),
		local:  p.localNumber(o, false),
		verify: "01",
		eth:    p.eth,
	}
	kind := w.orgs[o].kind
	if kind != orgGP && kind != orgNational {
		// Other organisations record ethnicity less often, and do not
		// always trace the NHS number.
		if chance(r, 0.2) {
			rc.eth = ethnicNotStated
		}
		if chance(r, 0.06) {
			rc.verify = "02"
		}
	}
	if kind == orgAcute {
		rc.hospital = true
		if p.careHome >= 0 && chance(r, 0.4) {
			rc.oldAddr = true
		}
		if chance(r, 0.04) {
			rc.dup = p.duplicate(o)
		}
	}
	if kind == orgNational {
		rc.knowsDeath = true
	}
	p.recs = append(p.recs, rc)
	return rc
}

// localNumber is the organisation's own number for the person: a
// permutation of the person's index keyed by the organisation, so numbers
// are unique within it; duplicates get numbers from the upper half.
func (p *person) localNumber(o int, dup bool) string {
	org := &p.w.orgs[o]
	const space = 10_000_000
	i := uint64(p.index)
	if dup {
		i += space / 2
	}
	a := org.key%(space-1) + 1
	for gcd(a, space) != 1 {
		a++
	}
	hi, lo := bits.Mul64(a, i)
	_, m := bits.Div64(hi%space, lo, space)
	n := (m + mix(org.key)%space) % space
	prefix := org.mrn
	if org.kind == orgGP {
		return strconv.FormatUint(n, 10)
	}
	return prefix + pad(int(n), 7)
}

// duplicate makes the second, hurried registration at hospital o.
func (p *person) duplicate(o int) *duplicate {
	r := p.r
	d := &duplicate{
		pid:    personUID(p.index, p.key, saltDupe^hashString(p.w.orgs[o].ods)),
		local:  p.localNumber(o, true),
		given:  p.given,
		family: p.family,
		birth:  p.birth,
		noNHS:  chance(r, 0.6),
		merged: chance(r, 0.5),
	}
	switch x := r.Float64(); {
	case x < 0.55:
		d.family = misspell(r, p.family)
	case x < 0.8:
		d.given = misspell(r, p.given)
	}
	if y, m, dd := p.birth.ymd(); dd <= 12 && dd != m && chance(r, 0.15) {
		d.birth = dateOf(y, dd, m) // day and month swapped
	}
	return d
}

// Times.

// workday moves t to the working day it falls on (weekends to Monday, or
// back to Friday at the end of the window), at a quarter-hour between
// from and to o'clock. A t past the end stays past it, for callers to
// drop.
func (p *person) workday(t ts, from, to int) ts {
	d := t.midnight()
	dow := (int64(d/day) + 4) % 7 // 1970-01-01 was a Thursday; 0 is Sunday
	switch {
	case dow == 6 && d+2*day < p.end:
		d += 2 * day
	case dow == 0 && d+day < p.end:
		d += day
	case dow == 6:
		d -= day
	case dow == 0:
		d -= 2 * day
	}
	return d + ts(from)*hour + ts(p.r.IntN((to-from)*4))*15*minute
}

// anytime is a moment on t's day, more often by day.
func (p *person) anytime(t ts) ts {
	h := int(clamp(normal(p.r, 14, 5), 0, 23))
	return t.midnight() + ts(h)*hour + ts(p.r.IntN(60))*minute
}

// within reports whether t falls in the window.
func (p *person) within(t ts) bool { return t >= p.start && t <= p.end }

func (p *person) uniform(lo, hi ts) ts {
	if hi <= lo {
		return lo
	}
	return lo + ts(p.r.Int64N(int64(hi-lo)))
}

// Adding items. Each returns the index of what it added.

func (rc *record) addEnc(e encounter) int {
	rc.encs = append(rc.encs, e)
	return len(rc.encs) - 1
}

func (p *person) encounter(rc *record, kind encKind, t ts, length ts, prac int, reason code) int {
	return rc.addEnc(encounter{id: p.newID(), kind: kind, start: t, end: t + length, prac: prac, reason: reason,
		loc: -1, consultant: -1, visit: visitNumber(p.newID())})
}

func visitNumber(u uid) string {
	const hx = "0123456789ABCDEF"
	var b [15]byte
	v := u.lo
	for i := 14; i >= 0; i-- {
		b[i] = hx[v&0xF]
		v >>= 4
	}
	return string(b[:])
}

func (p *person) observe(rc *record, kind obsKind, t ts, enc, prac int) {
	o := observation{id: p.newID(), kind: kind, at: t, enc: enc, prac: prac}
	switch kind {
	case obsBP:
		o.v, o.v2 = p.bp(t)
	case obsWeight:
		o.v, _ = p.weight(t)
	case obsBMI:
		_, o.v = p.weight(t)
	case obsHeight:
		age := float64(p.age(t))
		o.v = math.Round(math.Min(p.height, 75+6.2*age))
	case obsHbA1c:
		o.v = p.hba1c(t)
	case obsEGFR:
		o.v = p.egfr(t)
	case obsCreatinine:
		o.v = p.creatinine(p.egfr(t))
	case obsCholesterol:
		c := p.chol
		if p.onStatin(rc, t) {
			c -= 1.3
		}
		o.v = math.Round(clamp(normal(p.r, c, 0.3), 2, 10)*10) / 10
	case obsHeartRate:
		o.v = math.Round(clamp(normal(p.r, 76, 10), 40, 160))
	case obsRespRate:
		o.v = math.Round(clamp(normal(p.r, 16, 2), 8, 40))
	case obsSpO2:
		base := 97.0
		if p.hasAt(ltcCOPD, t) {
			base = 93
		}
		o.v = math.Round(clamp(normal(p.r, base, 1.5), 80, 100))
	case obsTemperature:
		o.v = math.Round(clamp(normal(p.r, 36.8, 0.3), 35, 40)*10) / 10
	case obsSodium:
		o.v = math.Round(clamp(normal(p.r, 139, 3), 120, 155))
	case obsPotassium:
		o.v = math.Round(clamp(normal(p.r, 4.3, 0.4), 2.8, 6.5)*10) / 10
	case obsHaemoglobin:
		base := 140.0
		if p.sex == 'F' {
			base = 128
		}
		o.v = math.Round(clamp(normal(p.r, base, 12), 70, 190))
	case obsCRP:
		o.v = math.Round(clamp(p.r.ExpFloat64()*4, 0, 40))
	case obsPHQ9:
		o.v = math.Round(clamp(normal(p.r, 15, 4), 0, 27))
	case obsSmoking:
		o.v = float64(p.smoking)
	case obsPeakFlow:
		base := 450.0
		if p.sex == 'F' {
			base = 350
		}
		o.v = math.Round(clamp(normal(p.r, base*0.8, 40), 100, 700)/10) * 10
	}
	rc.obs = append(rc.obs, o)
}

// onStatin reports whether the record has atorvastatin running at t.
func (p *person) onStatin(rc *record, t ts) bool {
	for i := range rc.meds {
		m := &rc.meds[i]
		if m.statement && m.m.code.code == medAtorvastatin.code.code && m.start <= t && (m.end == 0 || m.end > t) {
			return true
		}
	}
	return false
}

// The GP record.

func (p *person) gpRecord() {
	r := p.r
	w := p.w
	rc := p.rec(p.gp)
	rc.knowsDeath = true
	nurse := func() int { return w.staffOf(r, p.gp, rolePracticeNurse) }
	doctor := func() int {
		if chance(r, 0.6) {
			return p.usualGP
		}
		return w.staffOf(r, p.gp, roleGP)
	}
	if chance(r, 0.07) {
		p.allergy = allergyCum.draw(r)
		on := p.uniform(p.birth+year, p.end)
		rec := on
		if rec < p.start {
			rec = p.start + ts(r.Int64N(int64(60*day)))
		}
		rc.allergies = append(rc.allergies, allergy{id: p.newID(), def: p.allergy, onset: on, recorded: min(rec, p.end), prac: doctor()})
	}

	// Long-term conditions, each diagnosed in a consultation when that
	// falls within the window.
	for k := ltc(0); k < numLTC; k++ {
		on := p.onset[k]
		if on == 0 {
			continue
		}
		enc := -1
		prac := doctor()
		if p.within(on) {
			enc = p.encounter(rc, encGP, on, 15*minute, prac, p.ltcCode[k])
		}
		c := condition{id: p.newID(), code: p.ltcCode[k], onset: on, recorded: on, enc: enc, prac: prac}
		if k == ltcDepression {
			c.abated = p.depEnd
		}
		rc.conds = append(rc.conds, c)
		if enc < 0 {
			continue
		}
		switch k {
		case ltcHypertension:
			p.observe(rc, obsBP, on, enc, prac)
		case ltcDiabetes:
			for _, back := range []ts{2 * year, year} {
				if t := p.workday(on-back, 8, 12); p.within(t) {
					e := p.encounter(rc, encReview, t, 15*minute, nurse(), code{})
					p.observe(rc, obsHbA1c, t, e, nurse())
					p.observe(rc, obsBP, t, e, nurse())
				}
			}
			p.observe(rc, obsHbA1c, on, enc, prac)
			p.observe(rc, obsWeight, on, enc, prac)
			p.observe(rc, obsBMI, on, enc, prac)
		case ltcCOPD:
			rc.procs = append(rc.procs, procedure{id: p.newID(), code: procSpiro, at: on, enc: enc, prac: nurse()})
		case ltcAsthma:
			if p.age(on) >= 6 {
				p.observe(rc, obsPeakFlow, on, enc, prac)
			}
		case ltcDepression:
			p.observe(rc, obsPHQ9, on, enc, prac)
		}
	}
	p.ltcMedicines(rc, doctor)
	p.reviews(rc, nurse, doctor)
	p.consultations(rc, doctor, p.allergy)
	p.childGrowth(rc, nurse)
	p.immunisations(rc, nurse)
	p.sensitiveItems(rc, doctor)
	p.gpConsents(rc)
}

// ltcMedicines prescribes for the long-term conditions: a MedicationStatement
// per medicine and a MedicationRequest per yearly authorisation of the
// repeat within the window.
func (p *person) ltcMedicines(rc *record, doctor func() int) {
	r := p.r
	type course struct {
		m          med
		start, end ts
	}
	var courses []course
	add := func(m med, start, end ts) {
		if start > p.refTime() {
			return
		}
		for i := range courses {
			if courses[i].m.code.code == m.code.code {
				if start < courses[i].start {
					courses[i].start = start
				}
				return
			}
		}
		courses = append(courses, course{m, start, end})
	}
	after := func(t ts, lo, hi int) ts { return t + ts(between(r, lo, hi))*day }
	black := ethnicities[p.eth].code.code >= "M" && ethnicities[p.eth].code.code <= "P" || ethnicities[p.eth].code.code == "D" || ethnicities[p.eth].code.code == "E"
	if on := p.onset[ltcHypertension]; on != 0 {
		first, second := medRamipril, medAmlodipine
		if p.age(on) >= 55 || black {
			first, second = medAmlodipine, medRamipril
		}
		add(first, after(on, 0, 30), 0)
		if chance(r, 0.4) {
			add(second, after(on, 365*2, 365*6), 0)
		}
		if p.age(on) >= 60 && chance(r, 0.5) {
			add(medAtorvastatin, after(on, 30, 700), 0)
		}
	}
	if on := p.onset[ltcDiabetes]; on != 0 && p.ltcCode[ltcDiabetes] != diabetesType1 {
		add(medMetformin, after(on, 7, 30), 0)
		if chance(r, 0.75) {
			add(medAtorvastatin, after(on, 30, 120), 0)
		}
	}
	if on := p.onset[ltcHeartFailure]; on != 0 {
		add(medBisoprolol, after(on, 0, 20), 0)
		add(medFurosemide, after(on, 0, 5), 0)
		add(medRamipril, after(on, 0, 30), 0)
	}
	if on := p.onset[ltcAsthma]; on != 0 {
		add(medSalbutamol, after(on, 0, 3), 0)
		if chance(r, 0.7) {
			add(medBeclometasone, after(on, 0, 365), 0)
		}
	}
	if on := p.onset[ltcCOPD]; on != 0 {
		add(medSalbutamol, after(on, 0, 3), 0)
	}
	if on := p.onset[ltcDementia]; on != 0 && chance(r, 0.6) {
		add(medDonepezil, after(on, 20, 90), 0)
	}
	if on := p.onset[ltcDepression]; on != 0 && chance(r, 0.7) {
		end := p.depEnd
		if end == 0 && chance(r, 0.5) {
			end = after(on, 180, 730)
		}
		add(medCitalopram, after(on, 0, 14), end)
	}
	for _, c := range courses {
		end := c.end
		if end != 0 && end > p.refTime() {
			end = 0
		}
		if end != 0 && end < p.start {
			continue
		}
		status := "active"
		switch {
		case end != 0:
			status = "completed"
		case !p.alive():
			status = "stopped"
			end = p.death
		}
		prac := doctor()
		rc.meds = append(rc.meds, medication{id: p.newID(), m: c.m, start: c.start, end: end, statement: true, status: status, enc: -1, prac: prac})
		// Authorisations of the repeat, yearly.
		stop := p.end
		if end != 0 {
			stop = end
		}
		for t := c.start; t < stop; t = addYears(t, 1) {
			if t < p.start {
				continue
			}
			next := addYears(t, 1)
			st, valid := "completed", next
			if next >= stop {
				// The current authorisation runs on past now: its
				// validity is left open rather than dated in the future.
				st, valid = "active", 0
				if end != 0 || !p.alive() {
					st, valid = "stopped", stop
				}
			}
			rc.meds = append(rc.meds, medication{id: p.newID(), m: c.m, start: p.workday(t, 9, 17), end: valid,
				status: st, enc: -1, prac: prac, repeats: 5})
		}
	}
}

// reviews: the yearly long-term condition review, and the NHS Health
// Check for people of 40 to 74 with none.
func (p *person) reviews(rc *record, nurse, doctor func() int) {
	r := p.r
	first := ts(0)
	for k := ltc(0); k < numLTC; k++ {
		if on := p.onset[k]; on != 0 && k != ltcCancer && (first == 0 || on < first) {
			first = on
		}
	}
	if first != 0 {
		t := max(first, p.start) + ts(between(r, 30, 330))*day
		for ; t < p.end; t += ts(between(r, 330, 400)) * day {
			at := p.workday(t, 8, 17)
			if at > p.end {
				break
			}
			prac := nurse()
			e := -1
			need := func(k ltc) bool {
				return p.hasAt(k, at) && !(k == ltcDepression && p.depEnd != 0 && p.depEnd < at)
			}
			any := false
			for k := ltc(0); k < numLTC; k++ {
				if k != ltcCancer && need(k) {
					any = true
				}
			}
			if !any {
				continue
			}
			e = p.encounter(rc, encReview, at, 20*minute, prac, code{})
			if p.age(at) >= 18 {
				p.observe(rc, obsBP, at, e, prac)
			}
			if need(ltcDiabetes) || need(ltcHeartFailure) || need(ltcCOPD) || chance(r, 0.4) {
				p.observe(rc, obsWeight, at, e, prac)
				p.observe(rc, obsBMI, at, e, prac)
			}
			if need(ltcDiabetes) {
				p.observe(rc, obsHbA1c, at, e, prac)
				p.observe(rc, obsCholesterol, at, e, prac)
				rc.procs = append(rc.procs, procedure{id: p.newID(), code: procFootExam, at: at, enc: e, prac: prac})
			}
			if need(ltcDiabetes) || need(ltcHypertension) || need(ltcHeartFailure) {
				p.observe(rc, obsEGFR, at, e, prac)
				p.observe(rc, obsCreatinine, at, e, prac)
			}
			if need(ltcAsthma) && chance(r, 0.5) && p.age(at) >= 6 {
				p.observe(rc, obsPeakFlow, at, e, prac)
			}
			if need(ltcDepression) && chance(r, 0.5) {
				p.observe(rc, obsPHQ9, at, e, prac)
			}
			if p.age(at) >= 16 && chance(r, 0.5) {
				p.observe(rc, obsSmoking, at, e, prac)
			}
			if p.onRepeats(rc, at) {
				rc.procs = append(rc.procs, procedure{id: p.newID(), code: procMedRev, at: at, enc: e, prac: doctor()})
			}
		}
		return
	}
	// NHS Health Check, five-yearly from 40 to 74.
	for t := p.start + ts(r.Int64N(int64(5*year))); t < p.end; t += 5 * year {
		if a := p.age(t); a < 40 || a > 74 || !chance(r, 0.5) {
			continue
		}
		at := p.workday(t, 8, 17)
		if at > p.end {
			break
		}
		prac := nurse()
		e := p.encounter(rc, encReview, at, 20*minute, prac, code{})
		p.observe(rc, obsBP, at, e, prac)
		p.observe(rc, obsWeight, at, e, prac)
		p.observe(rc, obsBMI, at, e, prac)
		p.observe(rc, obsCholesterol, at, e, prac)
		p.observe(rc, obsSmoking, at, e, prac)
	}
}

func (p *person) onRepeats(rc *record, t ts) bool {
	for i := range rc.meds {
		m := &rc.meds[i]
		if m.statement && m.start <= t && (m.end == 0 || m.end > t) {
			return true
		}
	}
	return false
}

// consultations: everyday problems, more for the very young and the old,
// for women of working age than men, and for people with long-term
// conditions.
func (p *person) consultations(rc *record, doctor func() int, allergy int) {
	r := p.r
	penicillinAllergic := allergy >= 0 && allergies[allergy].category == "medication" && allergy <= 1
	for t := p.start; t < p.end; t += year {
		slice := min(year, p.end-t)
		age := p.age(t + slice/2)
		var rate float64
		switch {
		case age < 5:
			rate = 2.2
		case age < 15:
			rate = 0.9
		case age < 45:
			rate = 0.8
			if p.sex == 'F' {
				rate = 1.6
			}
		case age < 65:
			rate = 1.4
		case age < 75:
			rate = 1.8
		default:
			rate = 2.4
		}
		for k := ltc(0); k < numLTC; k++ {
			if p.hasAt(k, t) {
				rate += 0.4
			}
		}
		n := poisson(r, rate*float64(slice)/float64(year))
		for i := 0; i < n; i++ {
			at := p.workday(t+ts(r.Int64N(int64(slice))), 8, 18)
			if at > p.end {
				continue
			}
			var pr *problem
			for tries := 0; tries < 4; tries++ {
				pr = &gpProblems[gpProblemCum.draw(r)]
				if pr.child == (age < 12) || chance(r, 0.3) {
					break
				}
			}
			if pr.code.code == "68566005" && p.sex == 'M' && chance(r, 0.7) {
				pr = &gpProblems[0]
			}
			prac := doctor()
			e := p.encounter(rc, encGP, at, ts(between(r, 8, 15))*minute, prac, pr.code)
			if age >= 18 && chance(r, 0.2) {
				p.observe(rc, obsBP, at, e, prac)
			}
			if pr.antibiotic > 0 && !penicillinAllergic && chance(r, pr.antibiotic) {
				rc.meds = append(rc.meds, medication{id: p.newID(), m: medAmoxicillin, start: at, end: at + 5*day,
					status: "completed", enc: e, prac: prac, acute: true})
			} else if chance(r, 0.08) {
				rc.meds = append(rc.meds, medication{id: p.newID(), m: medParacetamol, start: at, end: at + 14*day,
					status: "completed", enc: e, prac: prac, acute: true})
			}
		}
	}
}

// childGrowth: weights and heights of children, recorded at checks.
func (p *person) childGrowth(rc *record, nurse func() int) {
	r := p.r
	for t := p.start + ts(r.Int64N(int64(year))); t < p.end; t += ts(between(r, 1, 3)) * year {
		if p.age(t) >= 16 {
			break
		}
		at := p.workday(t, 9, 16)
		prac := nurse()
		e := p.encounter(rc, encReview, at, 15*minute, prac, code{})
		p.observe(rc, obsWeight, at, e, prac)
		p.observe(rc, obsHeight, at, e, prac)
	}
}

// immunisations: seasonal flu, COVID-19, pneumococcal at 65, MMR in
// childhood. Flu and COVID-19 are given at the practice or a pharmacy.
func (p *person) immunisations(rc *record, nurse func() int) {
	r := p.r
	w := p.w
	give := func(v code, at ts, pharmacyOK bool) {
		if !p.within(at) {
			return
		}
		target, prac := rc, nurse()
		if pharmacyOK && chance(r, 0.3) {
			target = p.rec(p.pharmacy)
			prac = w.staffOf(r, p.pharmacy, rolePharmacist)
		}
		target.imms = append(target.imms, immunisation{id: p.newID(), vaccine: v, at: at, prac: prac,
			lot: string(rune('A'+r.IntN(26))) + string(rune('A'+r.IntN(26))) + pad(r.IntN(100000), 5)})
	}
	sy, _, _ := p.start.ymd()
	ey, _, _ := p.end.ymd()
	for y := sy; y <= ey; y++ {
		at := p.workday(dateOf(y, 10, 1)+ts(r.IntN(75))*day, 9, 17)
		age := p.age(at)
		risk := p.hasAt(ltcAsthma, at) || p.hasAt(ltcCOPD, at) || p.hasAt(ltcDiabetes, at) || p.hasAt(ltcHeartFailure, at)
		switch {
		case age >= 65 && chance(r, 0.75):
			give(vaccineFlu, at, true)
		case age >= 18 && risk && chance(r, 0.45):
			give(vaccineFlu, at, true)
		}
	}
	// COVID-19: two doses in 2021, boosters each autumn for the old.
	if a := p.age(dateOf(2021, 1, 1)); a >= 18 && chance(r, 0.65+0.003*float64(a)) {
		first := dateOf(2021, 1, 1) + ts(max(0, 95-a)*3)*day + ts(r.IntN(21))*day
		give(vaccineCovid, p.workday(first, 9, 19), true)
		give(vaccineCovid, p.workday(first+ts(between(r, 56, 84))*day, 9, 19), true)
		for y := 2021; y <= 2025; y++ {
			if p.age(dateOf(y, 9, 1)) >= 75 && chance(r, 0.7) {
				give(vaccineCovid, p.workday(dateOf(y, 9, 15)+ts(r.IntN(60))*day, 9, 19), true)
			}
		}
	}
	if t := addYears(p.birth, 65) + ts(r.IntN(180))*day; chance(r, 0.7) {
		give(vaccinePneumo, p.workday(t, 9, 17), false)
	}
	if chance(r, 0.9) {
		give(vaccineMMR, p.workday(addYears(p.birth, 1)+ts(r.IntN(60))*day, 9, 16), false)
		give(vaccineMMR, p.workday(addYears(p.birth, 3)+ts(120+r.IntN(90))*day, 9, 16), false)
	}
}

// sensitiveItems records the RCGP sensitive set: sexually transmitted
// infection, IVF, termination of pregnancy, gender reassignment.
func (p *person) sensitiveItems(rc *record, doctor func() int) {
	r := p.r
	inAges := func(lo, hi int) (ts, bool) {
		a := max(p.start, addYears(p.birth, lo))
		b := min(p.end, addYears(p.birth, hi+1))
		if b <= a {
			return 0, false
		}
		return p.workday(p.uniform(a, b), 9, 17), true
	}
	add := func(kind sensitiveKind, at ts, abated ts) {
		if at > p.end {
			return
		}
		prac := doctor()
		e := p.encounter(rc, encGP, at, 15*minute, prac, sensitiveCodes[kind].code)
		rc.encs[e].sens = kind
		if sensitiveCodes[kind].procedure {
			rc.procs = append(rc.procs, procedure{id: p.newID(), code: sensitiveCodes[kind].code, at: at, enc: e, prac: prac, sens: kind})
		} else {
			rc.conds = append(rc.conds, condition{id: p.newID(), code: sensitiveCodes[kind].code, onset: at, recorded: at,
				abated: abated, enc: e, prac: prac, sens: kind})
		}
	}
	if t, ok := inAges(16, 45); ok && chance(r, 0.03) {
		add(sensitiveSTI, t, t+ts(between(r, 10, 30))*day)
	}
	if p.sex == 'F' {
		if t, ok := inAges(28, 44); ok && chance(r, 0.012) {
			add(sensitiveIVF, t, 0)
		}
		if t, ok := inAges(16, 44); ok && chance(r, 0.02) {
			add(sensitiveTOP, t, 0)
		}
	}
	if (p.gender == "male") != (p.sex == 'M') {
		at := max(p.start, addYears(p.birth, between(r, 16, 30)))
		add(sensitiveGender, p.workday(at, 9, 17), 0)
	}
}

// gpConsents: a type 1 opt-out (no identifiable data leaves the practice
// for purposes other than care) and dissent from sharing with the shared
// care record.
func (p *person) gpConsents(rc *record) {
	r := p.r
	if p.age(p.now) < 16 {
		return
	}
	if chance(r, 0.025) {
		rc.consents = append(rc.consents, consent{id: p.newID(), kind: consentKindType1, at: p.workday(p.uniform(p.start, p.end), 9, 17)})
	}
	if chance(r, 0.012) {
		rc.consents = append(rc.consents, consent{id: p.newID(), kind: consentKindSharing, at: p.workday(p.uniform(p.start, p.end), 9, 17)})
	}
}

// nationalOptOut: the national data opt-out is held by NHS England, which
// sends its own (PDS) Patient with it.
func (p *person) nationalOptOut() {
	if p.age(p.now) < 13 || !chance(p.r, 0.05) {
		return
	}
	rc := p.rec(p.w.nat)
	rc.consents = append(rc.consents, consent{id: p.newID(), kind: consentKindNDOP, at: p.anytime(p.uniform(p.start, p.end))})
}
