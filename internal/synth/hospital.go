package synth

import (
	"math"
	"strings"
)

// Hospital care: emergencies through the emergency department, with or
// without admission; planned operations; outpatient clinics. Children in
// Sheffield go to the children's hospital; some people use a trust in a
// neighbouring place.

func (p *person) trustFor(t ts) int {
	w := p.w
	if p.age(t) < 16 && w.childrens[p.area] >= 0 {
		return w.childrens[p.area]
	}
	if chance(p.r, 0.08) {
		other := (p.area + 1 + p.r.IntN(numAreas-1)) % numAreas
		return w.acute[other]
	}
	return w.acute[p.area]
}

func (p *person) hospitalCare() {
	r := p.r
	// Emergencies at a rate by age, more with long-term conditions, and
	// the exacerbations that bring people with COPD, heart failure and
	// asthma in.
	for t := p.start; t < p.end; t += year {
		slice := min(year, p.end-t)
		age := p.age(t + slice/2)
		var rate float64
		switch {
		case age < 5:
			rate = 0.45
		case age < 16:
			rate = 0.22
		case age < 45:
			rate = 0.25
		case age < 65:
			rate = 0.22
		case age < 75:
			rate = 0.32
		case age < 85:
			rate = 0.55
		default:
			rate = 0.85
		}
		n := 0
		for k := ltc(0); k < numLTC; k++ {
			if p.hasAt(k, t) {
				n++
			}
		}
		rate *= 1 + 0.15*float64(n)
		frac := float64(slice) / float64(year)
		for i := poisson(r, rate*frac); i > 0; i-- {
			at := p.anytime(t + ts(r.Int64N(int64(slice))))
			em := p.pickEmergency(age)
			p.emergency(p.trustFor(at), at, em.complaint, em.diagnosis, em.admit, em.specialty, em.procedure, false)
		}
		exac := func(k ltc, rate float64, d code, spec specialty) {
			if !p.hasAt(k, t) {
				return
			}
			for i := poisson(r, rate*frac); i > 0; i-- {
				at := p.anytime(t + ts(r.Int64N(int64(slice))))
				p.emergency(p.trustFor(at), at, obsDyspnoea, d, 0.75, spec, nil, false)
			}
		}
		exac(ltcCOPD, 0.35, copdExacerbation, specRespiratory)
		exac(ltcHeartFailure, 0.3, ltcs[ltcHeartFailure].code, specCardiology)
		exac(ltcAsthma, 0.03, asthmaAttack, specRespiratory)
	}
	// Dying in hospital: a last emergency admission.
	if p.death != 0 && p.deathPlace == diedHospital {
		los := ts(between(r, 2, 14)) * day
		d := pick(r, []code{ltcs[ltcHeartFailure].code, sepsis, aki, emergencies[1].diagnosis, emergencies[11].diagnosis})
		if p.has(ltcCancer) {
			d = p.ltcCode[ltcCancer]
		}
		p.emergency(p.trustFor(p.death), p.death-los, obsDyspnoea, d, 1, specElderly, nil, true)
	}
	p.electives()
	p.outpatients()
}

var obsDyspnoea = sct("267036007", "Dyspnea")

func (p *person) pickEmergency(age int) *emergency {
	for tries := 0; ; tries++ {
		em := &emergencies[p.r.IntN(len(emergencies))]
		if tries > 3 || !em.elderly || age >= 60 || chance(p.r, 0.15) {
			return em
		}
	}
}

// emergency: an attendance at the emergency department of trust o at t,
// and an admission with chance admit (adjusted for age).
func (p *person) emergency(o int, at ts, complaint, diagnosis code, admit float64, spec specialty, proc *code, dying bool) {
	if !p.within(at) {
		return
	}
	r := p.r
	w := p.w
	rc := p.rec(o)
	site := w.siteFor(r, o, true)
	ed := w.sub(site, locED, anySpec)
	age := p.age(at)
	if age < 16 && w.orgs[o].ods != "RCU" {
		spec = specPaediatrics
	}
	aeEnd := at + ts(between(r, 90, 330))*minute
	if aeEnd > p.end {
		aeEnd = p.end
	}
	doc := w.consultant(r, o, specEmergency)
	e := p.encounter(rc, encAE, at, aeEnd-at, doc, complaint)
	rc.encs[e].loc = ed
	rc.encs[e].spec = specEmergency
	if rc.dup != nil && rc.dup.registered == 0 {
		rc.encs[e].onDup = true
		rc.dup.registered = at
		if rc.dup.merged {
			rc.dup.mergedAt = at + ts(between(r, 1, 90))*day
			if rc.dup.mergedAt > p.now {
				rc.dup.merged = false
			}
		}
	}
	switch {
	case age >= 75:
		admit *= 1.6
	case age >= 65:
		admit *= 1.3
	case age < 16:
		admit *= 0.5
	}
	if complaint.code == "217082002" && age >= 65 && chance(r, 0.5) && len(rc.flags) == 0 {
		rc.flags = append(rc.flags, flag{id: p.newID(), code: flagFalls, start: aeEnd, prac: doc})
	}
	if !dying && !chance(r, math.Min(admit, 0.95)) {
		rc.encs[e].dischDest = edHome.code
		if chance(r, 0.5) {
			p.observe(rc, obsNEWS2, at+15*minute, e, doc)
			p.news2(rc, len(rc.obs)-1, 0)
		}
		return
	}
	rc.encs[e].dischDest = edWard.code
	p.observe(rc, obsNEWS2, at+15*minute, e, doc)
	p.news2(rc, len(rc.obs)-1, 0)
	if aeEnd >= p.end {
		return // admitted as the window closes: the admission is not yet known
	}
	// The admission.
	base := 3.0
	switch spec {
	case specOrthopaedics:
		base = 11
	case specElderly:
		base = 8
	case specRespiratory, specCardiology:
		base = 5
	case specSurgery:
		base = 3
	case specPaediatrics:
		base = 1.5
	}
	if diagnosis.code == "230690007" {
		base = 13
	}
	if age >= 80 {
		base *= 1.3
	}
	start := aeEnd
	end := start.midnight() + ts(math.Max(1, math.Round(base*math.Exp(normal(r, 0, 0.5)))))*day + ts(between(r, 10, 17))*hour
	if dying {
		end = p.death
	}
	if end > p.end {
		end = p.end
	}
	if end <= start {
		end = start + hour
	}
	cons := w.consultant(r, o, spec)
	a := p.encounter(rc, encEmergencyAdmission, start, end-start, cons, diagnosis)
	adm := &rc.encs[a]
	adm.spec, adm.consultant, adm.admit = spec, cons, "21"
	adm.onDup = rc.encs[e].onDup
	p.wardStays(rc, a, site, spec)
	adm = &rc.encs[a]
	switch {
	case dying || (p.death != 0 && end >= p.death):
		adm.dischMeth, adm.dischDest, adm.died = "4", "79", true
		rc.knowsDeath = true
	case p.careHome >= 0 && start >= p.homeFrom:
		adm.dischMeth, adm.dischDest = "1", "85"
	case chance(r, 0.02):
		adm.dischMeth, adm.dischDest = "2", "19" // self-discharge
	default:
		adm.dischMeth, adm.dischDest = "1", "19"
	}
	p.inpatientObservations(rc, a)
	rc.conds = append(rc.conds, condition{id: p.newID(), code: diagnosis, onset: at, recorded: start + 2*hour, enc: a,
		diagnosis: true, prac: cons})
	if proc != nil && chance(r, 0.8) {
		pt := min(start+day+ts(r.IntN(8))*hour, end)
		rc.procs = append(rc.procs, procedure{id: p.newID(), code: *proc, at: pt, enc: a, prac: cons})
	}
	if p.allergy >= 0 && chance(r, 0.7) && len(rc.allergies) == 0 {
		rc.allergies = append(rc.allergies, allergy{id: p.newID(), def: p.allergy, onset: 0, recorded: start + hour, prac: cons})
	}
	switch diagnosis.code {
	case "233604007", "68566005", "128045006":
		if p.allergy < 0 || p.allergy > 1 {
			rc.meds = append(rc.meds, medication{id: p.newID(), m: medAmoxicillin, start: end - hour, end: end + 5*day,
				status: "completed", enc: a, prac: cons, acute: true})
		}
	case "57054005":
		rc.meds = append(rc.meds, medication{id: p.newID(), m: medAspirin, start: end - hour, enc: a, prac: cons, status: "active"})
	}
	if chance(r, 0.3) && p.age(end) >= 75 && !adm.died {
		rc.plans = append(rc.plans, carePlan{id: p.newID(), kind: planRespect, start: start + day, enc: a, prac: cons,
			note: respectNote(r.IntN(3))})
	}
	title := "Discharge summary"
	if adm.died {
		title = "Death in hospital: summary for the GP"
	}
	rc.docs = append(rc.docs, document{id: p.newID(), typ: docDischarge, at: end, enc: a, prac: cons, title: title,
		text: p.dischargeLetter(rc, a, diagnosis)})
	if diagnosis.code == "5913000" && chance(r, 0.5) {
		p.socialTriggers = append(p.socialTriggers, end)
	}
}

// wardStays: the acute medical unit first for medical admissions, then a
// ward of the specialty (a transfer, A02 in HL7).
func (p *person) wardStays(rc *record, a int, site int, spec specialty) {
	r := p.r
	w := p.w
	e := &rc.encs[a]
	dest := w.ward(r, site, spec)
	if dest < 0 {
		dest = w.sub(site, locDayUnit, anySpec)
	}
	medical := spec == specMedicine || spec == specElderly || spec == specRespiratory || spec == specCardiology
	if medical && e.end-e.start > 36*hour {
		amu := w.sub(site, locWard, specMedicine)
		move := e.start + ts(between(r, 12, 36))*hour
		if amu >= 0 && amu != dest {
			e.stays = append(e.stays, stay{amu, e.start, move}, stay{dest, move, e.end})
			return
		}
	}
	e.stays = append(e.stays, stay{dest, e.start, e.end})
}

// inpatientObservations: NEWS2 daily (falling as the patient recovers),
// vital signs and bloods on the first and last day.
func (p *person) inpatientObservations(rc *record, a int) {
	r := p.r
	e := rc.encs[a]
	nurse := e.prac
	if len(e.stays) > 0 {
		nurse = p.w.staffOf(r, rc.org, roleWardSister)
	}
	days := int((e.end - e.start) / day)
	if days > 7 {
		days = 7
	}
	for d := 0; d <= days; d++ {
		t := e.start + ts(d)*day + 2*hour
		if t > e.end {
			break
		}
		p.observe(rc, obsNEWS2, t, a, nurse)
		p.news2(rc, len(rc.obs)-1, d)
	}
	for _, t := range []ts{e.start + 3*hour, e.end - 2*hour} {
		if t <= e.start || t+hour > e.end {
			continue
		}
		for _, k := range []obsKind{obsBP, obsHeartRate, obsRespRate, obsSpO2, obsTemperature} {
			p.observe(rc, k, t, a, nurse)
		}
		for _, k := range []obsKind{obsHaemoglobin, obsCRP, obsCreatinine, obsEGFR, obsSodium, obsPotassium} {
			p.observe(rc, k, t+hour, a, e.prac)
		}
		if e.end-e.start < 2*day {
			break
		}
	}
	// The CRP of an infection is high at first.
	for i := range rc.obs {
		o := &rc.obs[i]
		if o.enc == a && o.kind == obsCRP && o.at < e.start+6*hour {
			o.v = math.Round(clamp(normal(r, 90, 50), 10, 350))
		}
	}
}

// news2 sets a NEWS2 score: high on arrival, falling day by day.
func (p *person) news2(rc *record, i int, dayN int) {
	v := clamp(normal(p.r, 5-1.1*float64(dayN), 1.5), 0, 14)
	rc.obs[i].v = math.Round(v)
}

// electives: cataracts, joint replacements and colonoscopies, each after
// an outpatient appointment.
func (p *person) electives() {
	r := p.r
	for t := p.start; t < p.end; t += year {
		age := p.age(t)
		type op struct {
			min    int
			rate   float64
			spec   specialty
			proc   code
			nights int
		}
		for _, o := range []op{
			{60, 0.02, specOphthalmology, procCataract, 0},
			{55, 0.006, specOrthopaedics, procHip, 4},
			{55, 0.005, specOrthopaedics, procKnee, 4},
			{50, 0.01, specGastro, procColon, 0},
		} {
			if age < o.min || !chance(r, o.rate) {
				continue
			}
			at := p.workday(t+ts(r.Int64N(int64(year))), 8, 13)
			p.planned(p.trustFor(at), at, o.spec, o.proc, o.nights)
		}
	}
}

// planned: a clinic, then a day case or an elective admission.
func (p *person) planned(o int, at ts, spec specialty, proc code, nights int) {
	if !p.within(at) {
		return
	}
	r := p.r
	w := p.w
	p.clinic(o, at-ts(between(r, 30, 120))*day, spec, false, true)
	rc := p.rec(o)
	site := w.siteFor(r, o, false)
	cons := w.consultant(r, o, spec)
	kind, length := encDayCase, ts(between(r, 4, 9))*hour
	if nights > 0 {
		kind, length = encElectiveAdmission, ts(nights)*day+ts(between(r, -1, 3))*day
	}
	end := at + length
	if end > p.end {
		end = p.end
	}
	a := p.encounter(rc, kind, at, end-at, cons, proc)
	e := &rc.encs[a]
	e.spec, e.consultant, e.admit = spec, cons, "11"
	e.dischMeth, e.dischDest = "1", "19"
	if kind == encDayCase {
		e.stays = []stay{{w.sub(site, locDayUnit, anySpec), at, end}}
	} else {
		p.wardStays(rc, a, site, spec)
		p.inpatientObservations(rc, a)
	}
	rc.procs = append(rc.procs, procedure{id: p.newID(), code: proc, at: at + 2*hour, enc: a, prac: cons})
	if kind == encElectiveAdmission {
		rc.docs = append(rc.docs, document{id: p.newID(), typ: docDischarge, at: end, enc: a, prac: cons,
			title: "Discharge summary", text: p.dischargeLetter(rc, a, proc)})
	}
}

// clinic: an outpatient appointment at trust o, with a letter to the GP
// for first appointments and sometimes after.
func (p *person) clinic(o int, at ts, spec specialty, followUp, letter bool) {
	if !p.within(at) {
		return
	}
	r := p.r
	w := p.w
	rc := p.rec(o)
	at = p.workday(at, 9, 16)
	if at > p.end {
		return
	}
	site := w.siteFor(r, o, false)
	cons := w.consultant(r, o, spec)
	e := p.encounter(rc, encOutpatient, at, ts(between(r, 15, 40))*minute, cons, code{})
	rc.encs[e].followUp = followUp
	rc.encs[e].loc = w.sub(site, locClinic, anySpec)
	rc.encs[e].spec = spec
	rc.encs[e].consultant = cons
	if p.age(at) >= 16 && chance(r, 0.5) {
		p.observe(rc, obsBP, at+5*minute, e, cons)
		p.observe(rc, obsWeight, at+5*minute, e, cons)
	}
	if letter {
		rc.docs = append(rc.docs, document{id: p.newID(), typ: docClinic, at: at + ts(between(r, 2, 10))*day, enc: e, prac: cons,
			title: specialties[spec].name + " clinic letter", text: p.clinicLetter(rc, e, followUp)})
	}
}

// outpatients: follow-up of cancer, heart failure, COPD and diabetes, and
// everyday referrals.
func (p *person) outpatients() {
	r := p.r
	if on := p.onset[ltcCancer]; on != 0 && on > p.start-5*year {
		o := p.trustFor(on)
		if p.area != areaSheffield && chance(r, 0.4) {
			o = p.w.acute[areaSheffield] // the regional cancer centre
		}
		spec := specOncology
		if p.ltcCode[ltcCancer] == cancerColon {
			spec = specSurgery
			p.planned(o, on-ts(between(r, 7, 20))*day, specGastro, procColon, 0)
		}
		p.clinic(o, on-14*day, spec, false, true)
		for t, n := on+90*day, 1; t < p.end && t < on+5*year; n++ {
			p.clinic(o, t, specOncology, true, n%2 == 0)
			if t < on+year {
				t += 90 * day
			} else {
				t += 180 * day
			}
		}
		if chance(r, 0.4) {
			n := between(r, 4, 6)
			for i, t := 0, on+30*day; i < n; i, t = i+1, t+21*day {
				p.planned(o, p.workday(t, 8, 11), specOncology, procChemo, 0)
			}
		} else if chance(r, 0.3) {
			for i, t := 0, on+45*day; i < 5; i, t = i+1, t+day {
				p.planned(o, p.workday(t, 8, 16), specOncology, procRadio, 0)
			}
		}
	}
	if on := p.onset[ltcHeartFailure]; on != 0 {
		o := p.trustFor(on)
		p.clinic(o, on+14*day, specCardiology, false, true)
		for t := on + year; t < p.end && chance(r, 0.5); t += year {
			p.clinic(o, t, specCardiology, true, false)
		}
	}
	if on := p.onset[ltcCOPD]; on != 0 && chance(r, 0.4) {
		p.clinic(p.trustFor(on), on+30*day, specRespiratory, false, true)
	}
	if on := p.onset[ltcDiabetes]; on != 0 && chance(r, 0.15) {
		o := p.trustFor(on)
		for t := max(on, p.start) + ts(r.IntN(300))*day; t < p.end; t += year {
			p.clinic(o, t, specDiabetes, t > on+year, true)
		}
	}
	for t := p.start; t < p.end; t += year {
		age := p.age(t)
		rate, specs := 0.12, []specialty{specOrthopaedics, specGastro, specCardiology, specSurgery, specOphthalmology, specRespiratory, specMedicine}
		if age < 16 {
			rate, specs = 0.08, []specialty{specPaediatrics}
		}
		for i := poisson(r, rate); i > 0; i-- {
			at := t + ts(r.Int64N(int64(year)))
			o := p.trustFor(at)
			spec := pick(r, specs)
			p.clinic(o, at, spec, false, true)
			if chance(r, 0.6) {
				p.clinic(o, at+ts(between(r, 60, 120))*day, spec, true, false)
			}
		}
	}
}

// Letters, in the plain style of real ones, for DocumentReferences and
// MDM messages.

func (p *person) dischargeLetter(rc *record, a int, diagnosis code) string {
	e := &rc.encs[a]
	w := p.w
	var b strings.Builder
	b.WriteString("DISCHARGE SUMMARY\n")
	b.WriteString(w.orgs[rc.org].name)
	b.WriteString("\n\nPatient: ")
	b.WriteString(p.given + " " + strings.ToUpper(p.family))
	b.WriteString("  NHS number: ")
	b.WriteString(spacedNHS(p.nhs))
	b.WriteString("\nDate of birth: ")
	b.Write(appendDate(nil, p.birth))
	b.WriteString("\nAdmitted: ")
	b.Write(appendDate(nil, e.start))
	b.WriteString("  Discharged: ")
	b.Write(appendDate(nil, e.end))
	if len(e.stays) > 0 {
		b.WriteString("\nWard: ")
		b.WriteString(w.locs[e.stays[len(e.stays)-1].loc].name)
	}
	b.WriteString("\nConsultant: ")
	b.WriteString(pracName(w, e.prac))
	b.WriteString("\n\nDiagnosis: ")
	b.WriteString(diagnosis.display)
	b.WriteString("\n\nClinical summary: ")
	switch {
	case e.died:
		b.WriteString("Admitted acutely unwell. Despite treatment the patient deteriorated and died on the ward. The family were present and have been informed of the next steps.")
	case e.kind == encElectiveAdmission:
		b.WriteString("Admitted for planned surgery, which went without complication. Mobilising with physiotherapy and safe for discharge.")
	default:
		b.WriteString("Admitted via the Emergency Department. Treated and improved; observations settled and the patient is medically fit for discharge.")
	}
	b.WriteString("\n\nActions for GP: please review in two weeks")
	if p.onRepeats(p.rec(p.gp), e.end) {
		b.WriteString(" and continue usual medication")
	}
	b.WriteString(".\n")
	return b.String()
}

func (p *person) clinicLetter(rc *record, e int, followUp bool) string {
	enc := &rc.encs[e]
	w := p.w
	var b strings.Builder
	b.WriteString(specialties[enc.spec].name)
	b.WriteString(" outpatient clinic, ")
	b.WriteString(w.orgs[rc.org].name)
	b.WriteString("\nDate of clinic: ")
	b.Write(appendDate(nil, enc.start))
	b.WriteString("\n\nDear Dr ")
	b.WriteString(w.pracs[p.usualGP].family)
	b.WriteString(",\n\nRe: ")
	b.WriteString(p.given + " " + strings.ToUpper(p.family))
	b.WriteString(", NHS number ")
	b.WriteString(spacedNHS(p.nhs))
	b.WriteString("\n\n")
	if followUp {
		b.WriteString("I reviewed this patient in clinic today. They remain stable and I have made no changes to their treatment. We will see them again in six months.")
	} else {
		b.WriteString("Thank you for referring this patient, whom I saw in clinic today. I have examined them and arranged investigations, and will write again with the results.")
	}
	b.WriteString("\n\nYours sincerely,\n\n")
	b.WriteString(pracName(w, enc.prac))
	b.WriteString("\nConsultant, ")
	b.WriteString(specialties[enc.spec].name)
	b.WriteString("\n")
	return b.String()
}

func respectNote(i int) string {
	return [...]string{
		"CPR: not for attempted cardiopulmonary resuscitation. Focus on comfort; hospital admission only if needed for symptom control.",
		"CPR: for attempted cardiopulmonary resuscitation. For full active treatment, including admission to critical care.",
		"CPR: not for attempted cardiopulmonary resuscitation. For ward-based treatment; not for critical care.",
	}[i]
}

func spacedNHS(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}

func pracName(w *world, i int) string {
	if i < 0 {
		return ""
	}
	pr := &w.pracs[i]
	n := pr.given + " " + pr.family
	if pre := jobRoles[pr.role].prefix; pre != "" {
		n = pre + " " + n
	}
	return n
}
