package synth

import "strings"

// Care outside hospital and general practice: mental health services,
// community nursing, care homes, hospices and end-of-life care, adult
// social care, community pharmacy, dentists and optometrists.

// mentalHealth: talking therapy after a referral for depression, a memory
// clinic for dementia, and for a few a crisis and its plan.
func (p *person) mentalHealth() {
	r := p.r
	w := p.w
	mh := w.mh[p.area]
	if on := p.onset[ltcDepression]; on != 0 && p.within(on) && p.age(on) >= 16 && chance(r, 0.25) {
		rc := p.rec(mh)
		at := p.workday(on+ts(between(r, 30, 90))*day, 9, 17)
		if at > p.end {
			return
		}
		psych := w.staffOf(r, mh, rolePsychiatrist)
		e := p.encounter(rc, encMentalHealth, at, 50*minute, psych, ltcs[ltcDepression].code)
		p.observe(rc, obsPHQ9, at, e, psych)
		rc.conds = append(rc.conds, condition{id: p.newID(), code: ltcs[ltcDepression].code, onset: on, recorded: at,
			abated: p.depEnd, enc: e, diagnosis: true, prac: psych})
		rc.docs = append(rc.docs, document{id: p.newID(), typ: docClinic, at: at + 3*day, enc: e, prac: psych,
			title: "Mental health assessment", text: p.mhLetter(rc, e)})
		nurse := w.staffOf(r, mh, roleMHNurse)
		t := at
		for i := between(r, 4, 8); i > 0; i-- {
			t += ts(between(r, 6, 10)) * day
			t = p.workday(t, 9, 17)
			if t > p.end {
				break
			}
			s := p.encounter(rc, encMentalHealth, t, 50*minute, nurse, code{})
			if i == 1 {
				p.observe(rc, obsPHQ9, t, s, nurse)
				rc.obs[len(rc.obs)-1].v = float64(between(r, 3, 11))
			}
			rc.procs = append(rc.procs, procedure{id: p.newID(), code: procTalking, at: t, enc: s, prac: nurse})
		}
		if chance(r, 0.05) {
			c := p.workday(p.uniform(at, p.end), 9, 20)
			if c <= p.end {
				ce := p.encounter(rc, encMentalHealth, c, 90*minute, psych, flagSuicide)
				rc.plans = append(rc.plans, carePlan{id: p.newID(), kind: planCrisis, start: c, enc: ce, prac: psych,
					note: "If in crisis: call the crisis team (24 hours) or NHS 111, option 2. Warning signs: withdrawal, not sleeping, stopping medication. Helps: time with family, walking."})
				rc.flags = append(rc.flags, flag{id: p.newID(), code: flagSuicide, start: c, prac: psych})
				if chance(r, 0.3) {
					p.socialTriggers = append(p.socialTriggers, c+ts(between(r, 7, 30))*day)
				}
			}
		}
	}
	if on := p.onset[ltcDementia]; on != 0 && p.within(on-60*day) && chance(r, 0.7) {
		rc := p.rec(mh)
		psych := w.staffOf(r, mh, rolePsychiatrist)
		first := p.workday(on-ts(between(r, 40, 70))*day, 9, 16)
		e := p.encounter(rc, encMentalHealth, first, 60*minute, psych, sct("386807006", "Memory impairment"))
		second := p.workday(on-ts(between(r, 1, 10))*day, 9, 16)
		e2 := p.encounter(rc, encMentalHealth, second, 40*minute, psych, ltcs[ltcDementia].code)
		rc.conds = append(rc.conds, condition{id: p.newID(), code: ltcs[ltcDementia].code, onset: on, recorded: second,
			enc: e2, diagnosis: true, prac: psych})
		rc.docs = append(rc.docs, document{id: p.newID(), typ: docClinic, at: second + 5*day, enc: e2, prac: psych,
			title: "Memory clinic letter", text: p.mhLetter(rc, e)})
	}
}

// communityNursing: district nurses visit the frail at home, and the
// dying in their last weeks.
func (p *person) communityNursing() {
	r := p.r
	w := p.w
	trigger := ts(0)
	if t := addYears(p.birth, 85); t < p.end {
		trigger = max(t, p.start)
	}
	for _, k := range []ltc{ltcHeartFailure, ltcCOPD} {
		if on := p.onset[k]; on != 0 && p.age(p.refTime()) >= 75 {
			t := max(on, addYears(p.birth, 75), p.start)
			if trigger == 0 || t < trigger {
				trigger = t
			}
		}
	}
	o := w.community[p.area]
	visits := func(from ts, n int, gap [2]int, wound bool) {
		rc := p.rec(o)
		nurse := w.staffOf(r, o, roleDistrictNurse)
		t := from
		for i := 0; i < n; i++ {
			at := p.workday(t, 9, 17)
			if at > p.end {
				return
			}
			e := p.encounter(rc, encCommunity, at, 30*minute, nurse, code{})
			if i == 0 {
				p.observe(rc, obsBP, at, e, nurse)
				p.observe(rc, obsWeight, at, e, nurse)
				if p.age(at) >= 80 && chance(r, 0.3) && len(rc.flags) == 0 {
					rc.flags = append(rc.flags, flag{id: p.newID(), code: flagFalls, start: at, prac: nurse})
				}
			}
			if wound {
				rc.procs = append(rc.procs, procedure{id: p.newID(), code: procWound, at: at + 10*minute, enc: e, prac: nurse})
			}
			t = at + ts(between(r, gap[0], gap[1]))*day
		}
	}
	if trigger != 0 && trigger < p.end-30*day && chance(r, 0.35) {
		visits(p.uniform(trigger, p.end-30*day), between(r, 3, 10), [2]int{3, 10}, chance(r, 0.5))
	}
	if p.death != 0 && p.eol && (p.deathPlace == diedHome || p.deathPlace == diedCareHome) && chance(r, 0.7) {
		visits(max(p.start, p.death-ts(between(r, 28, 50))*day), between(r, 4, 7), [2]int{4, 8}, false)
	}
}

// careHomeStay: a resident's episode of care, care plan, weights and
// falls risk.
func (p *person) careHomeStay() {
	if p.careHome < 0 || p.homeFrom > p.end {
		return
	}
	r := p.r
	w := p.w
	rc := p.rec(p.careHome)
	mgr := w.staffOf(r, p.careHome, roleCareHomeManager)
	end := ts(0)
	if p.death != 0 {
		end = p.death
		if p.deathPlace == diedCareHome {
			rc.knowsDeath = true
		}
	}
	rc.episodes = append(rc.episodes, episode{id: p.newID(), start: p.homeFrom, end: end, prac: mgr,
		text: "Residential care: " + w.orgs[p.careHome].name})
	e := p.encounter(rc, encCareHome, p.homeFrom+2*hour, hour, mgr, code{})
	rc.plans = append(rc.plans, carePlan{id: p.newID(), kind: planCareHome, start: p.homeFrom, enc: e, prac: mgr,
		note: "Needs help with washing, dressing and medicines. Likes a cup of tea in the afternoon and the radio on."})
	if chance(r, 0.4) {
		rc.flags = append(rc.flags, flag{id: p.newID(), code: flagFalls, start: p.homeFrom, prac: mgr})
	}
	for t := p.homeFrom + 90*day; t < p.end; t += ts(between(r, 80, 100)) * day {
		p.observe(rc, obsWeight, p.workday(t, 9, 12), -1, mgr)
	}
}

// endOfLife: care plans, ReSPECT forms and hospice care for people dying
// of a known illness; ReSPECT for some of the very old still living.
func (p *person) endOfLife() {
	r := p.r
	w := p.w
	gp := p.rec(p.gp)
	if p.death == 0 {
		if p.age(p.now) >= 80 && chance(r, 0.15) {
			at := p.workday(p.uniform(max(p.start, p.now-2*year), p.now), 9, 17)
			gp.plans = append(gp.plans, carePlan{id: p.newID(), kind: planRespect, start: at, enc: -1, prac: p.usualGP, note: respectNote(r.IntN(3))})
		}
		return
	}
	if !p.eol {
		return
	}
	if chance(r, 0.6) {
		at := p.workday(p.death-ts(between(r, 30, 180))*day, 9, 17)
		if p.within(at) {
			gp.plans = append(gp.plans, carePlan{id: p.newID(), kind: planEndOfLife, start: at, end: p.death, enc: -1, prac: p.usualGP,
				note: "Preferred place of care: " + [...]string{"hospital", "home", "care home", "hospice"}[p.deathPlace] +
					". Anticipatory medicines prescribed. Family aware of prognosis."})
		}
	}
	if chance(r, 0.5) {
		at := p.workday(p.death-ts(between(r, 30, 365))*day, 9, 17)
		if p.within(at) {
			gp.plans = append(gp.plans, carePlan{id: p.newID(), kind: planRespect, start: at, end: p.death, enc: -1, prac: p.usualGP, note: respectNote(0)})
		}
	}
	hospiceChance := 0.05
	switch {
	case p.has(ltcCancer):
		hospiceChance = 0.7
	case p.has(ltcHeartFailure) || p.has(ltcCOPD):
		hospiceChance = 0.15
	}
	if p.deathPlace == diedHospice {
		hospiceChance = 1
	}
	if !chance(r, hospiceChance) {
		return
	}
	h := w.hospice[p.area]
	rc := p.rec(h)
	doc := w.staffOf(r, h, rolePalliative)
	nurse := w.staffOf(r, h, roleDistrictNurse)
	first := p.workday(p.death-ts(between(r, 30, 100))*day, 9, 16)
	if !p.within(first) {
		return
	}
	e := p.encounter(rc, encHospice, first, hour, doc, p.ltcCode[ltcCancer])
	if p.ltcCode[ltcCancer].code == "" {
		rc.encs[e].reason = code{}
	}
	rc.plans = append(rc.plans, carePlan{id: p.newID(), kind: planEndOfLife, start: first, end: p.death, enc: e, prac: doc,
		note: "Goals: comfort and dignity. Symptom control for pain and breathlessness. Support for family and carers."})
	rc.docs = append(rc.docs, document{id: p.newID(), typ: docAssessment, at: first + day, enc: e, prac: doc,
		title: "Specialist palliative care assessment", text: p.hospiceLetter(rc)})
	for t := first + ts(between(r, 7, 14))*day; t < p.death-7*day; t += ts(between(r, 7, 21)) * day {
		p.encounter(rc, encHospice, p.workday(t, 9, 17), 45*minute, nurse, code{})
	}
	if p.deathPlace == diedHospice {
		in := p.death - ts(between(r, 3, 14))*day
		rc.encs = append(rc.encs, encounter{id: p.newID(), kind: encHospiceInpatient, start: in, end: p.death, prac: doc,
			loc: -1, consultant: -1, visit: visitNumber(p.newID()), died: true, dischMeth: "4", dischDest: "79"})
		rc.knowsDeath = true
	}
}

// socialCare: the council's assessment of care needs, a care and support
// plan, and for some a safeguarding concern.
func (p *person) socialCare() {
	r := p.r
	w := p.w
	var when []ts
	if p.careHome >= 0 && chance(r, 0.8) {
		when = append(when, p.homeFrom-ts(between(r, 10, 40))*day)
	}
	if on := p.onset[ltcDementia]; on != 0 && p.age(on) >= 65 && chance(r, 0.4) {
		when = append(when, on+ts(between(r, 60, 400))*day)
	}
	if t := addYears(p.birth, 85); t < p.end && chance(r, 0.2) {
		when = append(when, p.uniform(max(t, p.start), p.end))
	}
	when = append(when, p.socialTriggers...)
	la := w.council[p.area]
	n := 0
	for _, t := range when {
		if n == 2 || !p.within(t) {
			continue
		}
		at := p.workday(t, 9, 16)
		if at > p.end {
			continue
		}
		n++
		rc := p.rec(la)
		sw := w.staffOf(r, la, roleSocialWorker)
		e := p.encounter(rc, encSocialCare, at, 90*minute, sw, code{})
		rc.plans = append(rc.plans, carePlan{id: p.newID(), kind: planCareSupport, start: at + 14*day, enc: e, prac: sw,
			note: pick(r, []string{
				"Home care: two visits a day for personal care. Telecare pendant alarm. Carer's assessment offered to family.",
				"Reablement for six weeks after hospital discharge, then review.",
				"Residential placement arranged; funding agreed under the Care Act 2014.",
				"Day centre twice a week; meals at home; equipment: perching stool and grab rails.",
			})})
		rc.docs = append(rc.docs, document{id: p.newID(), typ: docAssessment, at: at + 7*day, enc: e, prac: sw,
			title: "Care Act needs assessment", text: p.assessmentText(rc, at)})
		if chance(r, 0.1) && len(rc.flags) == 0 {
			rc.flags = append(rc.flags, flag{id: p.newID(), code: flagVulnerable, start: at, prac: sw})
		}
	}
}

// pharmacyServices: the community pharmacy blood pressure check (flu and
// COVID-19 vaccines given there are added with the immunisations).
func (p *person) pharmacyServices() {
	r := p.r
	for t := p.start; t < p.end; t += year {
		if p.age(t) < 40 || !chance(r, 0.025) {
			continue
		}
		at := p.workday(t+ts(r.Int64N(int64(year))), 9, 18)
		if at > p.end {
			continue
		}
		rc := p.rec(p.pharmacy)
		ph := p.w.staffOf(r, p.pharmacy, rolePharmacist)
		e := p.encounter(rc, encPharmacy, at, 15*minute, ph, code{})
		p.observe(rc, obsBP, at+5*minute, e, ph)
	}
}

// dental: check-ups at a dental practice for about half of people.
func (p *person) dental() {
	r := p.r
	if p.age(p.refTime()) < 3 || !chance(r, 0.55) {
		return
	}
	d := pick(r, p.w.dentists[p.area])
	dentist := p.w.staffOf(r, d, roleDentist)
	var rc *record
	for t := max(p.start, p.end-5*year) + ts(r.IntN(365))*day; t < p.end; t += ts(between(r, 180, 730)) * day {
		at := p.workday(t, 9, 17)
		if at > p.end || p.age(at) < 3 {
			continue
		}
		if rc == nil {
			rc = p.rec(d)
		}
		e := p.encounter(rc, encDental, at, 20*minute, dentist, code{})
		rc.procs = append(rc.procs, procedure{id: p.newID(), code: procDental, at: at + 5*minute, enc: e, prac: dentist})
	}
}

// optometry: sight tests, every two years for the over-40s who go and
// for people with diabetes.
func (p *person) optometry() {
	r := p.r
	if p.age(p.refTime()) < 40 {
		return
	}
	if !chance(r, 0.35) && !(p.has(ltcDiabetes) && chance(r, 0.85)) {
		return
	}
	o := pick(r, p.w.optoms[p.area])
	opt := p.w.staffOf(r, o, roleOptometrist)
	var rc *record
	for t := max(p.start, p.end-6*year) + ts(r.IntN(700))*day; t < p.end; t += ts(between(r, 700, 760)) * day {
		at := p.workday(t, 9, 17)
		if at > p.end || p.age(at) < 40 {
			continue
		}
		if rc == nil {
			rc = p.rec(o)
		}
		e := p.encounter(rc, encOptometry, at, 30*minute, opt, code{})
		rc.procs = append(rc.procs, procedure{id: p.newID(), code: procEyeExam, at: at + 5*minute, enc: e, prac: opt})
	}
}

func (p *person) mhLetter(rc *record, e int) string {
	w := p.w
	var b strings.Builder
	b.WriteString(w.orgs[rc.org].name)
	b.WriteString("\n\nDear Dr ")
	b.WriteString(w.pracs[p.usualGP].family)
	b.WriteString(",\n\nRe: ")
	b.WriteString(p.given + " " + strings.ToUpper(p.family))
	b.WriteString(", NHS number ")
	b.WriteString(spacedNHS(p.nhs))
	b.WriteString("\n\nI saw this patient on ")
	b.Write(appendDate(nil, rc.encs[e].start))
	b.WriteString(". ")
	if rc.encs[e].reason.code == ltcs[ltcDepression].code.code {
		b.WriteString("They describe low mood, poor sleep and loss of interest over several months. There are no thoughts of self-harm at present. I have offered a course of talking therapy and they have agreed.")
	} else {
		b.WriteString("They attended with a relative, who has noticed increasing forgetfulness. Cognitive testing and the scan are consistent with dementia. We have discussed the diagnosis and support available.")
	}
	b.WriteString("\n\nYours sincerely,\n\n")
	b.WriteString(pracName(w, rc.encs[e].prac))
	b.WriteString("\n")
	return b.String()
}

func (p *person) hospiceLetter(rc *record) string {
	var b strings.Builder
	b.WriteString(p.w.orgs[rc.org].name)
	b.WriteString(": specialist palliative care assessment\n\nPatient: ")
	b.WriteString(p.given + " " + strings.ToUpper(p.family))
	b.WriteString(", NHS number ")
	b.WriteString(spacedNHS(p.nhs))
	b.WriteString("\n\nSeen at home with family. Main concerns: pain, breathlessness at night, fatigue. Medicines reviewed; ")
	b.WriteString("anticipatory medicines in place. Patient and family understand that time is short and wish care to focus on comfort. ")
	b.WriteString("Hospice at home team to visit weekly; 24-hour advice line given.\n")
	return b.String()
}

func (p *person) assessmentText(rc *record, at ts) string {
	var b strings.Builder
	b.WriteString(p.w.orgs[rc.org].name)
	b.WriteString(", Adult Social Care\nNeeds assessment (Care Act 2014) completed ")
	b.Write(appendDate(nil, at))
	b.WriteString("\n\nPerson: ")
	b.WriteString(p.given + " " + strings.ToUpper(p.family))
	b.WriteString("\n\nThe person was assessed at home with their consent; their ")
	if p.kin.relation != "" {
		b.WriteString(strings.ToLower(p.kin.relation))
	} else {
		b.WriteString("advocate")
	}
	b.WriteString(" was present. Eligible needs were identified in managing personal care, nutrition and being safe at home. ")
	b.WriteString("Outcomes agreed with the person are set out in the care and support plan.\n")
	return b.String()
}
