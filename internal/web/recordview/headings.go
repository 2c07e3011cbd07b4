package recordview

import (
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

func itoa(i int) string { return strconv.Itoa(i) }

func (b *builder) condition(r *resource) {
	code := firstConcept(r.codes)
	it := b.item(r, code.display(), firstDate(r.OnsetDateTime, r.OnsetPeriod.Start, r.RecordedDate))
	if it.Title == "" {
		return
	}
	clin := r.ClinicalStatus.code("http://terminology.hl7.org/CodeSystem/condition-clinical")
	if clin == "" {
		clin = r.ClinicalStatus.display()
	}
	if r.VerificationStatus.code("http://terminology.hl7.org/CodeSystem/condition-ver-status") == "refuted" {
		return
	}
	it.Status = clin
	it.Code = code.key()
	it.Author = b.author(r)
	p := &Problem{Item: it, Verification: r.VerificationStatus.display(), Severity: r.Severity.display()}
	p.Active = clin == "" || clin == "active" || clin == "recurrence" || clin == "relapse"
	if d := parseDate(r.AbatementDateTime); d.Prec > 0 {
		p.Resolved = d.text()
	}
	if !p.Active && p.Resolved == "" && clin != "" {
		p.Resolved = clin
	}
	if len(r.Note) > 0 {
		p.Detail = r.Note[0].Text
	}
	b.problems.add(p.Code, p)
}

func (b *builder) medication(r *resource) {
	var mc concept
	if r.MedicationCodeableConcept != nil {
		mc = *r.MedicationCodeableConcept
	} else if m := b.resolve(r.MedicationReference); m != nil {
		mc = firstConcept(concepts(m.Code))
	} else {
		mc = concept{Text: r.MedicationReference.Display}
	}
	var d fdate
	var dose string
	current := false
	if r.ResourceType == "MedicationRequest" {
		if r.Intent == "proposal" || r.Intent == "plan" || r.Status == "draft" {
			return
		}
		d = firstDate(r.AuthoredOn)
		if len(r.DosageInstruction) > 0 {
			dose = r.DosageInstruction[0].Text
		}
		current = r.Status == "active" || r.Status == "on-hold"
	} else {
		d = firstDate(r.EffectiveDateTime, r.EffectivePeriod.Start, r.DateAsserted)
		if len(r.Dosage) > 0 {
			dose = r.Dosage[0].Text
		}
		current = r.Status == "active" || r.Status == "intended"
	}
	it := b.item(r, mc.display(), d)
	if it.Title == "" {
		return
	}
	it.Code = mc.key()
	m := &Medication{Item: it, Current: current, Dose: dose, Course: r.CourseOfTherapyType.code("http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy")}
	m.Detail = dose
	for _, ref := range []reference{r.Requester, r.InformationSource} {
		if ref.Reference == "" && ref.Display == "" {
			continue
		}
		m.Prescriber = b.personName(ref)
		m.PrescriberOrg = b.orgOfPerson(ref, odsOf(r))
		break
	}
	if m.PrescriberOrg == "" && len(it.Sources) > 0 {
		m.PrescriberOrg = it.Sources[0].Name
	}
	m.Author = m.Prescriber
	key := ""
	if m.Code != "" {
		key = m.Code + map[bool]string{true: "|current", false: "|past"}[current]
	}
	b.meds.add(key, m)
}

// No-known-allergy codes: a statement that there are none, not an allergy.
var noKnownAllergy = map[string]bool{
	"716186003": true, // no known allergy
	"409137002": true, // no known drug allergy
	"429625007": true, // no known food allergy
	"428607008": true, // no known environmental allergy
}

func (b *builder) allergy(r *resource) {
	code := firstConcept(r.codes)
	if noKnownAllergy[code.code(sysSNOMED)] {
		b.nka = unionSources(b.nka, b.sources(r))
		return
	}
	clin := r.ClinicalStatus.code("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical")
	if r.VerificationStatus.code("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification") == "refuted" {
		return
	}
	it := b.item(r, code.display(), firstDate(r.OnsetDateTime, r.RecordedDate))
	if it.Title == "" {
		return
	}
	it.Code, it.Status, it.Author = code.key(), clin, b.author(r)
	a := &Allergy{Item: it, Active: clin == "" || clin == "active", Criticality: r.Criticality}
	var cats []string
	decodeRaw(r.Category, &cats)
	a.Category = strings.Join(cats, ", ")
	rank := map[string]int{"mild": 1, "moderate": 2, "severe": 3}
	for _, re := range r.Reaction {
		for _, m := range re.Manifestation {
			if d := m.display(); d != "" {
				a.Reactions = append(a.Reactions, d)
			}
		}
		if rank[re.Severity] > rank[a.Severity] {
			a.Severity = re.Severity
		}
	}
	a.Detail = joinNonEmpty(" — ", strings.Join(a.Reactions, ", "), a.Severity)
	b.allergies.add(a.Code, a)
}

func (b *builder) flag(r *resource) {
	if r.Status != "active" {
		return
	}
	if end := parseDate(r.Period.End); end.Prec > 0 && end.T.Before(b.now) {
		return
	}
	code := firstConcept(r.codes)
	it := b.item(r, code.display(), firstDate(r.Period.Start))
	if it.Title == "" {
		return
	}
	it.Code, it.Author = code.key(), b.author(r)
	a := &Alert{Item: it, Category: firstConcept(concepts(r.Category)).display()}
	b.alerts.add(a.Code, a)
}

func (b *builder) immunization(r *resource) {
	d := firstDate(r.OccurrenceDateTime, r.Recorded)
	it := b.item(r, r.VaccineCode.display(), d)
	if it.Title == "" {
		return
	}
	it.Code, it.Author = r.VaccineCode.key(), b.author(r)
	if len(r.ProtocolApplied) > 0 {
		if n := r.ProtocolApplied[0].DoseNumberPositiveInt; n != nil {
			it.Detail = "Dose " + n.String()
		} else if r.ProtocolApplied[0].DoseNumberString != "" {
			it.Detail = "Dose " + r.ProtocolApplied[0].DoseNumberString
		}
	}
	if it.Detail == "" && r.OccurrenceString != "" {
		it.Detail = r.OccurrenceString
	}
	b.immunisation.add(keyWithDay(it.Code, it.Date), &it)
}

func keyWithDay(code string, t interface{ Format(string) string }) string {
	if code == "" {
		return ""
	}
	return code + "|" + t.Format("2006-01-02")
}

func (b *builder) procedure(r *resource) {
	code := firstConcept(r.codes)
	it := b.item(r, code.display(), firstDate(r.PerformedDateTime, r.PerformedPeriod.Start))
	if it.Title == "" {
		return
	}
	if it.DateText == "" {
		it.DateText = r.PerformedString
	}
	it.Code, it.Author = code.key(), b.author(r)
	it.Detail = firstConcept(r.ReasonCode).display()
	b.procedures.add(keyWithDay(it.Code, it.Date), &it)
}

func (b *builder) referral(r *resource) {
	code := firstConcept(r.codes)
	it := b.item(r, code.display(), firstDate(r.AuthoredOn, r.OccurrenceDateTime, r.OccurrencePeriod.Start))
	if it.Title == "" {
		return
	}
	it.Code, it.Author = code.key(), b.author(r)
	ref := &Referral{Item: it, Reason: firstConcept(r.ReasonCode).display()}
	decodeRaw(r.Priority, &ref.Priority)
	for _, p := range references(r.Performer) {
		if n := b.personName(p); n != "" {
			ref.Performer = n
			break
		}
	}
	ref.Detail = joinNonEmpty(" — ", ref.Reason, ref.Performer)
	b.referrals.add(keyWithDay(it.Code, it.Date), ref)
}

func (b *builder) appointment(r *resource) {
	title := firstConcept(concepts(r.ServiceType)).display()
	if title == "" {
		title = r.AppointmentType.display()
	}
	var desc string
	decodeRaw(r.Description, &desc)
	if title == "" {
		title = desc
	}
	if title == "" {
		title = "Appointment"
	}
	d := firstDate(r.Start)
	it := b.item(r, title, d)
	it.Detail = desc
	if desc == title {
		it.Detail = ""
	}
	it.Code = firstConcept(concepts(r.ServiceType)).key()
	a := &Appointment{Item: it}
	switch r.Status {
	case "proposed", "pending", "booked", "arrived", "checked-in", "waitlist":
		a.Upcoming = d.Prec > 0 && !d.T.Before(b.now)
	}
	for _, p := range actors(r.Participant) {
		if strings.HasPrefix(p.Reference, "Location/") {
			a.Place = b.locationName(p)
		}
	}
	key := ""
	if d.Prec > 0 {
		key = d.T.Format("2006-01-02T15:04") + "|" + it.Code
	}
	b.appts.add(key, a)
}

func (b *builder) goal(r *resource) {
	var text string
	var c concept
	if !decodeRaw(r.Description, &c) {
		decodeRaw(r.Description, &text)
		c = concept{Text: text}
	}
	it := b.item(r, c.display(), firstDate(r.Start, r.Created))
	if it.Title == "" {
		return
	}
	it.Status = r.LifecycleStatus
	it.Detail = r.AchievementStatus.display()
	it.Code = c.key()
	b.goals.add(it.Code, &it)
}

// Care plans shown at the top of the record: what a clinician must know
// before acting in a crisis.
var prominentKinds = map[string]bool{"end-of-life": true, "respect": true, "mental-health-crisis": true}

var prominentSNOMED = map[string]string{
	"736373009":        "end-of-life",
	"1382601000000107": "respect",
	"736253002":        "mental-health-crisis",
	"736366004":        "advance-care-plan", // advance care plan
}

func (b *builder) carePlan(r *resource) {
	if r.Status == "draft" {
		return
	}
	cats := concepts(r.Category)
	kind, title := "", r.Title
	for _, c := range cats {
		if k := c.code(sysCarePlanKind); k != "" {
			kind = k
		}
	}
	for _, c := range cats {
		if kind == "" {
			kind = prominentSNOMED[c.code(sysSNOMED)]
		}
		if title == "" {
			title = c.display()
		}
	}
	if title == "" {
		title = "Care plan"
	}
	var desc string
	decodeRaw(r.Description, &desc)
	it := b.item(r, title, firstDate(r.Period.Start, r.Created))
	it.Author = b.author(r)
	if it.Author == "" {
		it.Author = b.orgSource(reference{Reference: refString(r.Author)}).Name
	}
	cp := &CarePlan{Item: it, Kind: kind, Description: desc}
	cp.Detail = desc
	if kind == "" && len(cats) > 0 {
		cp.Kind = firstConcept(cats).display()
		it.Code = firstConcept(cats).key()
	}
	if d := parseDate(r.Period.End); d.Prec > 0 {
		cp.EndText = d.text()
	}
	active := r.Status == "active" || r.Status == "on-hold"
	cp.Prominent = active && (prominentKinds[kind] || kind == "advance-care-plan")
	key := ""
	if cp.Kind != "" {
		key = cp.Kind + map[bool]string{true: "|active", false: "|inactive"}[active]
	}
	b.plans.add(key, cp)
}

// consentSummary reads the Consents as the access policy reads them, so
// that what the page says is what the platform does.
func (b *builder) consentSummary() {
	var f access.Facts
	latest := map[string]time.Time{}
	C := &b.rec.Consents
	for _, r := range b.consents {
		m, err := fhir.DecodeResource(r.raw)
		if err != nil {
			continue
		}
		if !access.ConsentFacts(m, &f, latest, time.Time{}) {
			continue
		}
		title := ""
		for _, c := range concepts(r.Category) {
			if t := c.display(); t != "" && !c.has(sysLOINC, "59284-0") {
				title = t
				break
			}
		}
		it := b.item(r, title, firstDate(r.DateTime))
		C.Items = append(C.Items, it)
	}
	ps := ptrs(C.Items)
	newestFirst(ps)
	C.Items = deref(ps)
	s := f.Sharing
	until := ""
	if !s.Until.IsZero() {
		until = s.Until.Format("2 Jan 2006")
	}
	switch s.Choice {
	case access.Dissent:
		C.Dissent = true
		C.Sharing = "Has said no to sharing: the record is not shared beyond the organisation that made each entry."
	case access.EmergencyOnly:
		C.Dissent = true
		C.Sharing = "Has said the record may be shared only in an emergency."
	case access.ShareUntil:
		C.Sharing = "Has agreed to sharing for their care until " + until + "."
	case access.ShareEpisode:
		C.Sharing = "Has agreed to sharing for one episode of care only."
	default:
		if s.Consent != "" {
			C.Sharing = "Has agreed to their record being shared for their care."
		} else {
			C.Sharing = "No choice recorded: the record is shared with those caring for them."
		}
	}
	if f.NDOP {
		C.NDOP = true
		C.OptOuts = append(C.OptOuts, "National data opt-out: confidential information is not used for research or planning.")
	}
	if f.Type1 {
		C.Type1 = true
		C.OptOuts = append(C.OptOuts, "Type 1 opt-out: the GP practice does not share identifiable data for purposes beyond their care.")
	}
}

func ptrs[T any](xs []T) []*T {
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out
}
