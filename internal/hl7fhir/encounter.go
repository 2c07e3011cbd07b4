package hl7fhir

import (
	"strings"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// adt maps the ADT events that carry a patient and, but for A28 and A31,
// a visit.
func (b *builder) adt(event string) error {
	pid := b.m.Segment("PID")
	patient, err := b.patient(pid, true)
	if err != nil {
		return err
	}
	if event == "A28" || event == "A31" {
		return nil
	}
	pv1 := b.m.Segment("PV1")
	if pv1 == nil || strings.ToUpper(pv1.Field(2).String()) == "N" {
		// A visit that is "not applicable": an update of the person.
		return nil
	}
	_, err = b.encounter(pv1, patient, event, true)
	return err
}

// visitIdentifier is the Encounter's identifier from PV1-19.
func (b *builder) visitIdentifier(pv1 *hl7v2.Segment) (Identifier, bool) {
	r := pv1.Field(19).Rep(1)
	v := clean(r.Comp(1).String())
	if v == "" {
		return Identifier{}, false
	}
	return Identifier{System: b.localSystem(hl7v2.HDOfComp(r.Comp(4)), "VN", "visit"), Value: v}, true
}

// encounterClasses maps PV1-2 (table 0004) to the v3 ActCode classes.
var encounterClasses = map[string]coding{
	"I": {sysActCode, "IMP", "inpatient encounter"},
	"B": {sysActCode, "IMP", "inpatient encounter"}, // obstetrics
	"E": {sysActCode, "EMER", "emergency"},
	"O": {sysActCode, "AMB", "ambulatory"},
	"R": {sysActCode, "AMB", "ambulatory"}, // recurring patient
	"C": {sysActCode, "AMB", "ambulatory"}, // commercial account
	"P": {sysActCode, "PRENC", "pre-admission"},
}

// admitPriority maps PV1-4 (admission type, table 0007) to v3 ActPriority.
var admitPriority = map[string]coding{
	"E": {sysActPriority, "EM", "emergency"},
	"A": {sysActPriority, "EM", "emergency"}, // accident
	"U": {sysActPriority, "UR", "urgent"},
	"R": {sysActPriority, "R", "routine"},
	"C": {sysActPriority, "EL", "elective"},
}

// admissionMethods are the NHS admission method codes some PAS put in
// PV1-4 instead of table 0007.
var admissionMethods = map[string]bool{
	"11": true, "12": true, "13": true, "21": true, "22": true, "23": true, "24": true, "25": true, "2A": true,
	"2B": true, "2C": true, "2D": true, "28": true, "31": true, "32": true, "81": true, "82": true, "83": true,
}

// hospitalServices are table 0069's codes (PV1-10).
var hospitalServices = map[string]string{
	"CAR": "Cardiac Service", "MED": "Medical Service", "PUL": "Pulmonary Service", "SUR": "Surgical Service",
	"URO": "Urology Service",
}

// encounter writes the Encounter of a PV1 segment. full maps an ADT event
// (a conditional update of the whole Encounter); otherwise (results,
// documents) the Encounter is created only when absent, so that a result
// arriving before its admission still has an Encounter to point to and
// the admission later fills it in. It returns "" when PV1 has no visit
// number: without one the Encounter cannot be found again.
func (b *builder) encounter(pv1 *hl7v2.Segment, patient, event string, full bool) (string, error) {
	visit, ok := b.visitIdentifier(pv1)
	if !ok {
		return "", nil
	}
	classCode := strings.ToUpper(pv1.Field(2).String())
	class, ok := encounterClasses[classCode]
	if !ok {
		class = coding{sysNullFlavor, "UNK", "unknown"}
	}
	// When this event happened: for a transfer, when the patient moved.
	evn := b.m.Segment("EVN")
	when := evn.Field(6).String()
	if when == "" {
		when = evn.Field(2).String()
	}
	if when == "" {
		when = b.m.Get("MSH-7")
	}
	start, end := pv1.Field(44).String(), pv1.Field(45).String()
	status := "in-progress"
	switch {
	case !full:
		status = "unknown"
	case event == "A05" || classCode == "P":
		status = "planned"
	case event == "A11":
		// Cancel admit/visit: "ended before it began". Not
		// entered-in-error: the patient may well have been seen; the
		// admission did not happen.
		status = "cancelled"
	case event == "A13":
		end = "" // cancel discharge: the stay goes on
	case event == "A03":
		status = "finished"
		if end == "" {
			end = when
		}
	case end != "":
		status = "finished"
	}
	if status == "in-progress" || status == "planned" {
		end = ""
	}
	if start == "" && full && (event == "A01" || event == "A04") {
		start = when
	}

	// Reference data first.
	org := b.organization(b.ods)
	type participant struct{ typ, ref, display string }
	var parts []participant
	for _, p := range []struct {
		field int
		typ   string
	}{{7, "ATND"}, {17, "ADM"}, {8, "REF"}, {9, "CON"}} {
		for _, r := range pv1.Field(p.field).Reps() {
			if u, display := b.practitioner(r); u != "" || display != "" {
				parts = append(parts, participant{p.typ, u, display})
			}
		}
	}
	current := b.location(pv1.Field(3).Rep(1))
	prior := b.location(pv1.Field(6).Rep(1))

	req := request{method: "PUT", url: conditional("Encounter", visit)}
	if !full {
		req = request{method: "POST", url: "Encounter", ifNoneExist: criteria(visit)}
	}
	key := "Encounter|" + visit.System + "|" + visit.Value
	return b.add(key, "Encounter", req, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", visit.System)
		w.str("value", visit.Value)
		w.end()
		w.end()
		w.str("status", status)
		w.coding("class", class)
		if t := strings.ToUpper(pv1.Field(4).String()); t != "" && !admissionMethods[t] {
			w.arr("type")
			w.concept("", "", coding{system: sysV2Prefix + "0007", code: t})
			w.end()
		}
		if svc := pv1.Field(10).String(); svc != "" {
			if name, ok := hospitalServices[strings.ToUpper(svc)]; ok {
				w.concept("serviceType", "", coding{sysV2Prefix + "0069", strings.ToUpper(svc), name})
			} else {
				w.concept("serviceType", "", coding{b.systemOf("hospital-service"), svc, ""})
			}
		}
		if p, ok := admitPriority[strings.ToUpper(pv1.Field(4).String())]; ok {
			w.concept("priority", "", p)
		}
		w.ref("subject", patient)
		w.arr("participant")
		for _, p := range parts {
			w.obj("")
			w.arr("type")
			w.concept("", "", coding{system: sysParticipant, code: p.typ, display: participantNames[p.typ]})
			w.end()
			w.obj("individual")
			w.str("reference", p.ref)
			w.str("display", p.display)
			w.end()
			w.end()
		}
		w.end()
		b.period(w, "period", start, end)
		b.hospitalization(w, pv1, event)
		w.arr("location")
		if prior != "" && prior != current {
			w.obj("")
			w.ref("location", prior)
			w.str("status", "completed")
			if event == "A02" {
				b.period(w, "period", "", when)
			}
			w.end()
		}
		if current != "" {
			w.obj("")
			w.ref("location", current)
			locStatus := "active"
			switch status {
			case "finished", "cancelled":
				locStatus = "completed"
			case "planned":
				locStatus = "planned"
			case "unknown":
				locStatus = ""
			}
			w.str("status", locStatus)
			if event == "A02" {
				b.period(w, "period", when, "")
			}
			w.end()
		}
		w.end()
		w.ref("serviceProvider", org)
	}), nil
}

var participantNames = map[string]string{"ATND": "attender", "ADM": "admitter", "REF": "referrer", "CON": "consultant"}

// hospitalization writes admission source and method, and discharge
// method and destination, in UK Core's codes when the PAS sends them
// (they are what English PAS systems record) and HL7's otherwise.
func (b *builder) hospitalization(w *jw, pv1 *hl7v2.Segment, event string) {
	w.obj("hospitalization")
	w.arr("extension")
	if m := strings.ToUpper(pv1.Field(4).String()); admissionMethods[m] {
		w.obj("")
		w.str("url", extAdmitMethod)
		w.concept("valueCodeableConcept", "", coding{system: sysAdmitMethod, code: m})
		w.end()
	}
	dischargeDisposition := pv1.Field(36).String()
	if m := dischargeDisposition; event != "A13" && len(m) == 1 && m[0] >= '1' && m[0] <= '9' {
		w.obj("")
		w.str("url", extDischMethod)
		w.concept("valueCodeableConcept", "", coding{system: sysDischMethod, code: m})
		w.end()
		dischargeDisposition = ""
	}
	w.end()
	if src := pv1.Field(14).String(); src != "" {
		sys := sysV2Prefix + "0023"
		if len(src) == 2 && isDigits(src) {
			sys = sysAdmitSource
		}
		w.concept("admitSource", "", coding{system: sys, code: src})
	}
	if event != "A13" {
		switch dest := pv1.Field(37).Rep(1).Comp(1).String(); {
		case dest != "":
			sys := b.systemOf("discharge-destination")
			switch {
			case len(dest) == 2 && isDigits(dest):
				sys = sysDischDest
			case len(dest) >= 6 && isDigits(dest):
				sys = sysSNOMED
			}
			w.concept("dischargeDisposition", "", coding{system: sys, code: dest})
		case dischargeDisposition != "":
			w.concept("dischargeDisposition", "", coding{system: sysV2Prefix + "0112", code: dischargeDisposition})
		}
	}
	w.end()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// location returns the entry of the most specific place a PL names (the
// point of care, a ward, within its facility, the hospital), creating
// both when absent; "" when the PL is empty. A facility that looks like an
// ODS site code is identified by it (the reference data uses the same);
// wards, which have no national code, by the sender's own
// "<facility>/<ward>".
func (b *builder) location(pl hl7v2.Rep) string {
	ward := clean(pl.Comp(1).String())
	fac := hl7v2.HDOfComp(pl.Comp(4))
	facCode := clean(fac.String())
	building := pl.Comp(7).String()
	local := b.mp.idBase + b.ods + "/location"
	org := b.organization(b.ods)
	site := ""
	if facCode != "" {
		id := Identifier{System: local, Value: facCode}
		if looksLikeODS(facCode) {
			id.System = sysODSSite
		}
		name := facCode
		if building != "" && id.System == sysODSSite {
			name = building
		}
		site = b.addLocation(id, name, coding{sysLocPhysical, "si", "Site"}, org, "")
	}
	if ward == "" {
		return site
	}
	id := Identifier{System: local, Value: ward}
	if facCode != "" {
		id.Value = facCode + "/" + ward
	}
	return b.addLocation(id, ward, coding{sysLocPhysical, "wa", "Ward"}, org, site)
}

// addLocation adds a Location (a site, or a ward partOf its site) created
// only if none has its identifier, and returns its reference.
func (b *builder) addLocation(id Identifier, name string, kind coding, org, partOf string) string {
	return b.add("Location|"+id.System+"|"+id.Value, "Location", request{method: "POST", url: "Location", ifNoneExist: criteria(id)}, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", id.System)
		w.str("value", id.Value)
		w.end()
		w.end()
		w.str("status", "active")
		w.str("name", name)
		w.str("mode", "instance")
		w.concept("physicalType", "", kind)
		w.ref("managingOrganization", org)
		if partOf != "" {
			w.ref("partOf", partOf)
		}
	})
}
