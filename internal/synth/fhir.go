package synth

// FHIR R4 output: each record as a transaction Bundle of PUTs, so loading
// is idempotent and works on any server; each resource's meta.source names
// the organisation that sent it, and items from the RCGP sensitive set
// carry meta.security.

const (
	typeAdmission = "32485007"
	visitKind     = "visit"
)

var (
	typeHospitalAdmission = sct(typeAdmission, "Hospital admission")
	patientConsent        = code{sysLOINC, "59284-0", "Patient Consent"}
	optOut                = code{sysActCode, "OPTOUT", "opt-out"}
	purposeResearch       = code{sysActReason, "HRESCH", "healthcare research"}
	purposeOperations     = code{sysActReason, "HOPERAT", "healthcare operations"}
	purposeTreatment      = code{sysActReason, "TREAT", "treatment"}
	privacyScope          = code{sysConsentScope, "patient-privacy", "Privacy Consent"}
)

// fhirWriter writes one record as a Bundle.
type fhirWriter struct {
	jw
	p   *person
	w   *world
	rc  *record
	src string
	hl7 bool // the record's hospital events go as HL7 instead
	n   int  // resources written
	typ string
	id  uid
}

// writeBundle appends rc as a transaction Bundle to buf.
func (p *person) writeBundle(buf []byte, rc *record, hl7 bool) ([]byte, int) {
	f := &fhirWriter{jw: jw{b: buf}, p: p, w: p.w, rc: rc, hl7: hl7 && rc.hospital,
		src: sourcePrefix + p.w.orgs[rc.org].ods}
	f.obj("")
	f.str("resourceType", "Bundle")
	f.str("type", "transaction")
	f.arr("entry")
	f.patient(false)
	if rc.dup != nil && !f.hl7 {
		f.patient(true)
	}
	for i := range rc.encs {
		if !f.viaHL7(i) {
			f.encounter(i)
		}
	}
	for i := range rc.episodes {
		f.episode(&rc.episodes[i])
	}
	for i := range rc.conds {
		f.condition(&rc.conds[i])
	}
	for i := range rc.obs {
		if !f.viaHL7(rc.obs[i].enc) {
			f.observation(&rc.obs[i])
		}
	}
	for i := range rc.meds {
		f.medication(&rc.meds[i])
	}
	for i := range rc.allergies {
		f.allergy(&rc.allergies[i])
	}
	for i := range rc.imms {
		f.immunisation(&rc.imms[i])
	}
	for i := range rc.procs {
		f.procedure(&rc.procs[i])
	}
	for i := range rc.plans {
		f.carePlan(&rc.plans[i])
	}
	for i := range rc.docs {
		if !f.viaHL7(rc.docs[i].enc) {
			f.document(&rc.docs[i])
		}
	}
	for i := range rc.flags {
		f.flag(&rc.flags[i])
	}
	for i := range rc.consents {
		f.consent(&rc.consents[i])
	}
	f.endArr()
	f.end()
	return f.b, f.n
}

// viaHL7 reports whether encounter enc (and what hangs on it) is sent as
// HL7 rather than FHIR.
func (f *fhirWriter) viaHL7(enc int) bool {
	return f.hl7 && enc >= 0 && f.rc.encs[enc].kind.hospitalEvent()
}

// begin opens an entry and its resource, with id and meta.
func (f *fhirWriter) begin(typ string, id uid, sens sensitiveKind) {
	f.typ, f.id = typ, id
	f.obj("")
	f.obj("resource")
	f.str("resourceType", typ)
	f.jw.id("id", id)
	f.obj("meta")
	f.str("source", f.src)
	if sens != notSensitive {
		f.arr("security")
		f.coding("", restricted)
		f.coding("", sensitiveCodes[sens].label)
		f.endArr()
	}
	f.end()
}

// finish closes the resource and writes the entry's request.
func (f *fhirWriter) finish() {
	f.end()
	f.obj("request")
	f.str("method", "PUT")
	f.key("url")
	f.b = append(f.b, '"')
	f.b = append(f.b, f.typ...)
	f.b = append(f.b, '/')
	f.b = f.id.append(f.b)
	f.b = append(f.b, '"')
	f.more = true
	f.end()
	f.end()
	f.n++
}

// subject writes the reference to the record's Patient (or the duplicate
// registration's).
func (f *fhirWriter) subject(k string, onDup bool) {
	if onDup && f.rc.dup != nil && !f.hl7 {
		f.ref(k, "Patient", f.rc.dup.pid)
		return
	}
	f.ref(k, "Patient", f.rc.pid)
}

func (f *fhirWriter) practitioner(k string, i int) {
	if i >= 0 {
		f.ref(k, "Practitioner", f.w.pracs[i].id)
	}
}

// encounterRef refers to encounter enc: by id, or, when the encounter
// comes by HL7, by its visit number (a logical reference the HL7 feed's
// Encounter carries as its identifier).
func (f *fhirWriter) encounterRef(k string, enc int) {
	if enc < 0 {
		return
	}
	e := &f.rc.encs[enc]
	if !f.viaHL7(enc) {
		f.ref(k, "Encounter", e.id)
		return
	}
	f.obj(k)
	f.obj("identifier")
	f.str("system", localIDBase+f.w.orgs[f.rc.org].ods+"/"+visitKind)
	f.str("value", e.visit)
	f.end()
	f.end()
}

func (f *fhirWriter) onDup(enc int) bool { return enc >= 0 && f.rc.encs[enc].onDup }

// Patient.

func (f *fhirWriter) patient(dup bool) {
	p, rc, w := f.p, f.rc, f.w
	o := &w.orgs[rc.org]
	id := rc.pid
	if dup {
		id = rc.dup.pid
	}
	f.begin("Patient", id, notSensitive)
	if rc.eth >= 0 && !dup {
		f.arr("extension")
		f.extConcept(extEthnic, ethnicities[rc.eth].code)
		f.endArr()
	}
	f.arr("identifier")
	if !dup || !rc.dup.noNHS {
		f.obj("")
		if rc.verify != "" && !dup {
			f.arr("extension")
			f.extConcept(extVerification, verification(rc.verify))
			f.endArr()
		}
		f.str("system", sysNHSNumber)
		f.str("value", p.nhs)
		f.end()
	}
	if rc.local != "" {
		f.obj("")
		f.str("system", localIDBase+o.ods+"/"+localKind(o.kind))
		if dup {
			f.str("value", rc.dup.local)
		} else {
			f.str("value", rc.local)
		}
		f.end()
	}
	f.endArr()
	merged := dup && rc.dup.merged
	f.boolean("active", !merged)
	f.arr("name")
	f.obj("")
	f.str("use", "official")
	if dup {
		f.str("family", rc.dup.family)
		f.arr("given")
		f.item(rc.dup.given)
		f.endArr()
	} else {
		f.str("family", p.family)
		f.arr("given")
		f.item(p.given)
		if p.middle != "" {
			f.item(p.middle)
		}
		f.endArr()
		if p.title != "" {
			f.arr("prefix")
			f.item(p.title)
			f.endArr()
		}
	}
	f.end()
	f.endArr()
	if (p.phone != "" || p.mobile != "") && !dup {
		f.arr("telecom")
		if p.phone != "" {
			f.obj("")
			f.str("system", "phone")
			f.str("value", p.phone)
			f.str("use", "home")
			f.end()
		}
		if p.mobile != "" {
			f.obj("")
			f.str("system", "phone")
			f.str("value", p.mobile)
			f.str("use", "mobile")
			f.end()
		}
		f.endArr()
	}
	f.str("gender", p.gender)
	if dup {
		f.date("birthDate", rc.dup.birth)
	} else {
		f.date("birthDate", p.birth)
	}
	if p.death != 0 && rc.knowsDeath && !dup {
		f.dateTime("deceasedDateTime", p.death)
	}
	imd := 0
	if o.kind == orgGP && !dup {
		imd = p.imd
	}
	f.arr("address")
	switch {
	case rc.oldAddr:
		f.address("home", p.prevAddr, 0, 0, 0)
	case p.careHome >= 0 && p.homeFrom <= p.refTime():
		f.address("home", p.addr, p.homeFrom, 0, 0)
		if o.kind == orgGP || o.kind == orgNational {
			f.address("old", p.prevAddr, 0, p.homeFrom, imd)
		}
	default:
		f.address("home", p.addr, 0, 0, imd)
	}
	f.endArr()
	if p.kin.relation != "" && !dup {
		f.arr("contact")
		f.obj("")
		f.arr("relationship")
		f.obj("")
		f.arr("coding")
		f.coding("", code{sysContactRole, "N", "Next-of-Kin"})
		f.endArr()
		f.str("text", p.kin.relation)
		f.end()
		f.endArr()
		f.obj("name")
		f.str("family", p.kin.family)
		f.arr("given")
		f.item(p.kin.given)
		f.endArr()
		f.end()
		f.arr("telecom")
		f.obj("")
		f.str("system", "phone")
		f.str("value", p.kin.phone)
		f.end()
		f.endArr()
		f.end()
		f.endArr()
	}
	f.arr("generalPractitioner")
	f.ref("", "Organization", w.orgs[p.gp].id)
	if o.kind == orgGP {
		f.ref("", "Practitioner", w.pracs[p.usualGP].id)
	}
	f.endArr()
	if o.kind != orgNational {
		f.ref("managingOrganization", "Organization", o.id)
	}
	if merged {
		f.arr("link")
		f.obj("")
		f.ref("other", "Patient", rc.pid)
		f.str("type", "replaced-by")
		f.end()
		f.endArr()
	}
	f.finish()
}

// address writes a postal address. imd, when not 0, is the home's
// deprivation decile as a sharedcare.example extension: ground truth for
// analytics, since made-up postcodes cannot be looked up.
func (f *fhirWriter) address(use string, a address, from, to ts, imd int) {
	f.obj("")
	if imd != 0 {
		f.arr("extension")
		f.obj("")
		f.str("url", extIMD)
		f.integer("valueInteger", imd)
		f.end()
		f.endArr()
	}
	f.str("use", use)
	f.arr("line")
	f.item(a.line)
	f.endArr()
	f.str("city", a.town)
	f.str("district", "South Yorkshire")
	f.str("postalCode", a.postcode)
	f.str("country", "GB")
	if from != 0 || to != 0 {
		f.obj("period")
		if from != 0 {
			f.date("start", from)
		}
		if to != 0 {
			f.date("end", to)
		}
		f.end()
	}
	f.end()
}

func verification(c string) code {
	if c == "02" {
		return code{sysVerification, "02", "Number present but not traced"}
	}
	return code{sysVerification, "01", "Number present and verified"}
}

// localKind names the organisation's own patient number in its system.
func localKind(k orgKind) string {
	switch k {
	case orgGP:
		return "patient-number"
	case orgAcute:
		return "mrn"
	case orgCouncil:
		return "person-id"
	case orgCareHome:
		return "resident-id"
	}
	return "patient-id"
}

// Encounter.

func (f *fhirWriter) encounter(i int) {
	e := &f.rc.encs[i]
	w := f.w
	f.begin("Encounter", e.id, e.sens)
	if e.dischMeth != "" && e.kind != encAE {
		f.arr("extension")
		f.extConcept(extDischMethod, dischargeMethod(e.dischMeth))
		f.endArr()
	}
	if k := w.orgs[f.rc.org].kind; e.visit != "" && (k == orgAcute || k == orgMentalHealth) {
		f.arr("identifier")
		f.obj("")
		f.str("system", localIDBase+w.orgs[f.rc.org].ods+"/"+visitKind)
		f.str("value", e.visit)
		f.end()
		f.endArr()
	}
	f.str("status", "finished")
	f.coding("class", encounterClass(e.kind))
	f.concepts("type", encounterType(e))
	if e.kind.hospitalEvent() {
		f.textConcept("serviceType", specialties[e.spec].name)
	}
	f.subject("subject", e.onDup)
	if e.prac >= 0 {
		f.arr("participant")
		f.obj("")
		f.practitioner("individual", e.prac)
		f.end()
		f.endArr()
	}
	f.period("period", e.start, e.end)
	if e.reason.code != "" {
		f.concepts("reasonCode", e.reason)
	}
	if e.admit != "" || e.dischDest != "" {
		f.obj("hospitalization")
		if e.admit != "" {
			f.arr("extension")
			f.extConcept(extAdmitMethod, admissionMethod(e.admit))
			f.endArr()
		}
		if e.dischDest != "" {
			f.concept("dischargeDisposition", dischargeDestination(e.dischDest))
		}
		f.end()
	}
	if len(e.stays) > 0 || e.loc >= 0 {
		f.arr("location")
		if e.loc >= 0 {
			f.obj("")
			f.ref("location", "Location", w.locs[e.loc].id)
			f.str("status", "completed")
			f.period("period", e.start, e.end)
			f.end()
		}
		for _, s := range e.stays {
			f.obj("")
			f.ref("location", "Location", w.locs[s.loc].id)
			f.str("status", "completed")
			f.period("period", s.start, s.end)
			f.end()
		}
		f.endArr()
	}
	f.ref("serviceProvider", "Organization", w.orgs[f.rc.org].id)
	f.finish()
}

func encounterClass(k encKind) code {
	switch k {
	case encAE:
		return code{sysActCode, "EMER", "emergency"}
	case encEmergencyAdmission, encElectiveAdmission, encDayCase, encHospiceInpatient:
		return code{sysActCode, "IMP", "inpatient encounter"}
	case encCommunity, encHospice, encSocialCare, encCareHome:
		return code{sysActCode, "HH", "home health"}
	}
	return code{sysActCode, "AMB", "ambulatory"}
}

func encounterType(e *encounter) code {
	switch e.kind {
	case encGP:
		return typeGPProblem
	case encReview:
		return typeGPReview
	case encAE:
		return typeEmergency
	case encEmergencyAdmission:
		return typeEmergAdmit
	case encElectiveAdmission, encDayCase:
		return typeElective
	case encHospiceInpatient:
		return typeHospitalAdmission
	case encOutpatient:
		if e.followUp {
			return typeFollowUp
		}
		return typeOutpatient
	case encCommunity, encHospice, encSocialCare, encCareHome:
		return typeHomeVisit
	}
	return typeOutpatient
}

func admissionMethod(c string) code {
	switch c {
	case "11":
		return code{sysAdmitMethod, "11", "Elective Admission: Waiting list"}
	case "21":
		return code{sysAdmitMethod, "21", "Emergency Admission: Emergency Care Department or dental casualty department of the Health Care Provider"}
	}
	return code{sysAdmitMethod, c, ""}
}

func dischargeMethod(c string) code {
	switch c {
	case "1":
		return code{sysDischMethod, "1", "Patient discharged on clinical advice or with clinical consent"}
	case "2":
		return code{sysDischMethod, "2", "Patient discharged themselves or was discharged by a relative or advocate"}
	case "4":
		return code{sysDischMethod, "4", "Patient died"}
	}
	return code{sysDischMethod, c, ""}
}

func dischargeDestination(c string) code {
	switch c {
	case "19":
		return code{sysDischDest, "19", "Usual place of residence"}
	case "79":
		return code{sysDischDest, "79", "Not applicable - patient died or stillbirth"}
	case "85":
		return code{sysDischDest, "85", "Non-NHS (other than Local Authority) run care home"}
	case edHome.code:
		return edHome
	case edWard.code:
		return edWard
	}
	return code{sysDischDest, c, ""}
}

// EpisodeOfCare: residence in a care home.

func (f *fhirWriter) episode(e *episode) {
	f.begin("EpisodeOfCare", e.id, notSensitive)
	if e.end != 0 {
		f.str("status", "finished")
	} else {
		f.str("status", "active")
	}
	f.arr("type")
	f.obj("")
	f.str("text", e.text)
	f.end()
	f.endArr()
	f.subject("patient", false)
	f.ref("managingOrganization", "Organization", f.w.orgs[f.rc.org].id)
	f.period("period", e.start, e.end)
	f.practitioner("careManager", e.prac)
	f.finish()
}

// Condition.

func (f *fhirWriter) condition(c *condition) {
	f.begin("Condition", c.id, c.sens)
	if c.abated != 0 {
		f.concept("clinicalStatus", code{sysCondClinical, "resolved", "Resolved"})
	} else {
		f.concept("clinicalStatus", code{sysCondClinical, "active", "Active"})
	}
	f.concept("verificationStatus", code{sysCondVerify, "confirmed", "Confirmed"})
	if c.diagnosis {
		f.concepts("category", code{sysCondCategory, "encounter-diagnosis", "Encounter Diagnosis"})
	} else {
		f.concepts("category", code{sysCondCategory, "problem-list-item", "Problem List Item"})
	}
	f.concept("code", c.code)
	f.subject("subject", f.onDup(c.enc))
	f.encounterRef("encounter", c.enc)
	if c.onset != 0 {
		f.dateTime("onsetDateTime", c.onset)
	}
	if c.abated != 0 {
		f.dateTime("abatementDateTime", c.abated)
	}
	f.dateTime("recordedDate", c.recorded)
	f.practitioner("recorder", c.prac)
	f.finish()
}

// Observation.

var obsCategoryDisplay = map[string]string{
	"vital-signs": "Vital Signs", "laboratory": "Laboratory", "survey": "Survey", "social-history": "Social History",
}

func (f *fhirWriter) observation(o *observation) {
	d := &obsDefs[o.kind]
	f.begin("Observation", o.id, notSensitive)
	f.str("status", "final")
	f.concepts("category", code{sysObsCategory, d.category, obsCategoryDisplay[d.category]})
	f.concept("code", d.code)
	f.subject("subject", f.onDup(o.enc))
	f.encounterRef("encounter", o.enc)
	f.dateTime("effectiveDateTime", o.at)
	if o.prac >= 0 {
		f.arr("performer")
		f.practitioner("", o.prac)
		f.endArr()
	}
	switch o.kind {
	case obsBP:
		f.arr("component")
		f.obj("")
		f.concept("code", bpSystolic)
		f.quantity("valueQuantity", o.v, 0, "mmHg", "mm[Hg]")
		f.end()
		f.obj("")
		f.concept("code", bpDiastolic)
		f.quantity("valueQuantity", o.v2, 0, "mmHg", "mm[Hg]")
		f.end()
		f.endArr()
	case obsSmoking:
		f.concept("valueCodeableConcept", smokingStatus[int(o.v)])
	default:
		f.quantity("valueQuantity", o.v, d.prec, d.unit, d.ucum)
		if d.low != 0 || d.hi != 0 {
			f.arr("referenceRange")
			f.obj("")
			if d.low != 0 {
				f.quantity("low", d.low, d.prec, d.unit, d.ucum)
			}
			if d.hi != 0 {
				f.quantity("high", d.hi, d.prec, d.unit, d.ucum)
			}
			f.end()
			f.endArr()
		}
	}
	f.finish()
}

// Medicines: MedicationStatement for what the person takes,
// MedicationRequest for each prescription or authorisation.

func (f *fhirWriter) medication(m *medication) {
	if m.statement {
		f.begin("MedicationStatement", m.id, notSensitive)
		f.str("status", m.status)
		f.concept("medicationCodeableConcept", m.m.code)
		f.subject("subject", false)
		f.period("effectivePeriod", m.start, m.end)
		f.dateTime("dateAsserted", max(m.start, f.p.start))
		f.practitioner("informationSource", m.prac)
		f.arr("dosage")
		f.obj("")
		f.str("text", m.m.dose)
		f.end()
		f.endArr()
		f.finish()
		return
	}
	f.begin("MedicationRequest", m.id, notSensitive)
	f.str("status", m.status)
	f.str("intent", "order")
	f.concept("medicationCodeableConcept", m.m.code)
	f.subject("subject", f.onDup(m.enc))
	f.encounterRef("encounter", m.enc)
	f.dateTime("authoredOn", m.start)
	f.practitioner("requester", m.prac)
	if m.acute {
		f.concept("courseOfTherapyType", code{sysMedReqCourse, "acute", "Short course (acute) therapy"})
	} else {
		f.concept("courseOfTherapyType", code{sysMedReqCourse, "continuous", "Continuous long term therapy"})
	}
	f.arr("dosageInstruction")
	f.obj("")
	f.str("text", m.m.dose)
	f.end()
	f.endArr()
	f.obj("dispenseRequest")
	f.period("validityPeriod", m.start, m.end)
	if m.repeats > 0 {
		f.integer("numberOfRepeatsAllowed", m.repeats)
	}
	f.quantity("quantity", m.m.quantity, 0, m.m.unit, m.m.ucumUnit)
	f.end()
	f.finish()
}

// AllergyIntolerance.

func (f *fhirWriter) allergy(a *allergy) {
	d := &allergies[a.def]
	f.begin("AllergyIntolerance", a.id, notSensitive)
	f.concept("clinicalStatus", code{sysAllergyClin, "active", "Active"})
	f.concept("verificationStatus", code{sysAllergyVerify, "confirmed", "Confirmed"})
	f.str("type", "allergy")
	f.arr("category")
	f.item(d.category)
	f.endArr()
	if d.reaction.code == "39579001" {
		f.str("criticality", "high")
	} else {
		f.str("criticality", "low")
	}
	f.concept("code", d.substance)
	f.subject("patient", false)
	if a.onset != 0 {
		f.dateTime("onsetDateTime", a.onset)
	}
	f.dateTime("recordedDate", a.recorded)
	f.practitioner("recorder", a.prac)
	f.arr("reaction")
	f.obj("")
	f.concepts("manifestation", d.reaction)
	if d.reaction.code == "39579001" {
		f.str("severity", "severe")
	} else {
		f.str("severity", "mild")
	}
	f.end()
	f.endArr()
	f.finish()
}

// Immunization.

func (f *fhirWriter) immunisation(im *immunisation) {
	f.begin("Immunization", im.id, notSensitive)
	f.str("status", "completed")
	f.concept("vaccineCode", im.vaccine)
	f.subject("patient", false)
	f.dateTime("occurrenceDateTime", im.at)
	f.dateTime("recorded", im.at)
	f.boolean("primarySource", true)
	if im.lot != "" {
		f.str("lotNumber", im.lot)
	}
	if im.prac >= 0 {
		f.arr("performer")
		f.obj("")
		f.practitioner("actor", im.prac)
		f.end()
		f.endArr()
	}
	f.finish()
}

// Procedure.

func (f *fhirWriter) procedure(pr *procedure) {
	f.begin("Procedure", pr.id, pr.sens)
	f.str("status", "completed")
	f.concept("code", pr.code)
	f.subject("subject", f.onDup(pr.enc))
	f.encounterRef("encounter", pr.enc)
	f.dateTime("performedDateTime", pr.at)
	if pr.prac >= 0 {
		f.arr("performer")
		f.obj("")
		f.practitioner("actor", pr.prac)
		f.end()
		f.endArr()
	}
	f.finish()
}

// CarePlan.

func (f *fhirWriter) carePlan(c *carePlan) {
	d := &planDefs[c.kind]
	f.begin("CarePlan", c.id, notSensitive)
	ended := c.end != 0 && c.end <= f.p.now
	if ended {
		f.str("status", "completed")
	} else {
		f.str("status", "active")
	}
	f.str("intent", "plan")
	f.arr("category")
	f.obj("")
	f.arr("coding")
	f.coding("", d.code)
	f.coding("", code{sysCarePlanKind, d.kind, d.title})
	f.endArr()
	f.end()
	f.endArr()
	f.str("title", d.title)
	if c.note != "" {
		f.str("description", c.note)
	}
	f.subject("subject", f.onDup(c.enc))
	f.encounterRef("encounter", c.enc)
	f.period("period", c.start, c.end)
	f.dateTime("created", c.start)
	f.practitioner("author", c.prac)
	f.finish()
}

// DocumentReference: letters and summaries, as plain text.

func (f *fhirWriter) document(d *document) {
	w := f.w
	f.begin("DocumentReference", d.id, notSensitive)
	f.str("status", "current")
	f.str("docStatus", "final")
	f.concept("type", d.typ)
	f.subject("subject", f.onDup(d.enc))
	f.dateTime("date", d.at)
	f.arr("author")
	f.practitioner("", d.prac)
	f.ref("", "Organization", w.orgs[f.rc.org].id)
	f.endArr()
	f.ref("custodian", "Organization", w.orgs[f.rc.org].id)
	f.str("description", d.title)
	f.arr("content")
	f.obj("")
	f.obj("attachment")
	f.str("contentType", "text/plain")
	f.str("language", "en-GB")
	f.base64("data", []byte(d.text))
	f.str("title", d.title)
	f.dateTime("creation", d.at)
	f.end()
	f.end()
	f.endArr()
	if d.enc >= 0 {
		f.obj("context")
		f.arr("encounter")
		f.encounterRef("", d.enc)
		f.endArr()
		f.end()
	}
	f.finish()
}

// Flag.

func (f *fhirWriter) flag(fl *flag) {
	f.begin("Flag", fl.id, notSensitive)
	f.str("status", "active")
	f.concepts("category", code{sysFlagCategory, "safety", "Safety"})
	f.concept("code", fl.code)
	f.subject("subject", false)
	f.period("period", fl.start, 0)
	f.practitioner("author", fl.prac)
	f.finish()
}

// Consent: dissent from sharing, the type 1 opt-out and the national data
// opt-out, each a provision that denies.

func (f *fhirWriter) consent(c *consent) {
	w := f.w
	f.begin("Consent", c.id, notSensitive)
	f.str("status", "active")
	f.concept("scope", privacyScope)
	f.arr("category")
	switch c.kind {
	case consentKindType1:
		f.concept("", consentType1)
	case consentKindSharing:
		f.concept("", consentSharing)
	case consentKindNDOP:
		f.concept("", consentNDOP)
	}
	f.concept("", patientConsent)
	f.endArr()
	f.subject("patient", false)
	f.dateTime("dateTime", c.at)
	f.arr("organization")
	f.ref("", "Organization", w.orgs[f.rc.org].id)
	f.endArr()
	if c.kind == consentKindNDOP {
		f.arr("policy")
		f.obj("")
		f.str("authority", "https://www.england.nhs.uk")
		f.str("uri", "https://www.nhs.uk/your-nhs-data-matters/")
		f.end()
		f.endArr()
	}
	f.concept("policyRule", optOut)
	f.obj("provision")
	f.str("type", "deny")
	f.period("period", c.at, 0)
	if c.kind == consentKindSharing {
		f.concepts("action", code{sysConsentAction, "disclose", "Disclose"})
	} else {
		f.concepts("action", code{sysConsentAction, "use", "Use"})
	}
	f.arr("purpose")
	if c.kind == consentKindSharing {
		f.coding("", purposeTreatment)
	} else {
		f.coding("", purposeResearch)
		f.coding("", purposeOperations)
	}
	f.endArr()
	f.end()
	f.finish()
}
