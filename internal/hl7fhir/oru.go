package hl7fhir

import (
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// oru maps an ORU^R01: for each patient, a DiagnosticReport per order
// (OBR) with an Observation per result (OBX) and the notes (NTE) of
// each.
func (b *builder) oru() error {
	patients := b.m.Groups("PID")
	if len(patients) == 0 {
		return errAt(hl7v2.CodeSegmentSequence, "PID", "no PID segment: results must name their patient")
	}
	for _, pg := range patients {
		patient, err := b.patient(pg.Parent, false)
		if err != nil {
			return err
		}
		encounter := ""
		if pv1 := b.following(pg.Parent, "PV1"); pv1 != nil {
			if encounter, err = b.encounter(pv1, patient, "", false); err != nil {
				return err
			}
		}
		orders := pg.Groups("OBR", "ORC")
		for n, og := range orders {
			if err := b.report(og, n+1, patient, encounter); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportStatus maps OBR-25 (table 0123) to DiagnosticReport.status.
var reportStatus = map[string]string{
	"O": "registered", "I": "registered", "S": "registered", "P": "preliminary", "R": "preliminary",
	"A": "partial", "C": "corrected", "F": "final", "X": "cancelled", "Y": "unknown", "Z": "unknown",
}

// observationStatus maps OBX-11 (table 0085) to Observation.status.
var observationStatus = map[string]string{
	"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary", "I": "registered",
	"X": "cancelled", "N": "cancelled", "D": "entered-in-error", "W": "entered-in-error", "U": "final", "A": "amended",
}

// sectionCategory maps OBR-24 (diagnostic service section, table 0074)
// to an observation category.
var sectionCategory = map[string]coding{
	"LAB": {sysObsCategory, "laboratory", "Laboratory"}, "CH": {sysObsCategory, "laboratory", "Laboratory"},
	"HM": {sysObsCategory, "laboratory", "Laboratory"}, "MB": {sysObsCategory, "laboratory", "Laboratory"},
	"MCB": {sysObsCategory, "laboratory", "Laboratory"}, "BLB": {sysObsCategory, "laboratory", "Laboratory"},
	"SR": {sysObsCategory, "laboratory", "Laboratory"}, "SP": {sysObsCategory, "laboratory", "Laboratory"},
	"TX": {sysObsCategory, "laboratory", "Laboratory"}, "VR": {sysObsCategory, "laboratory", "Laboratory"},
	"CP": {sysObsCategory, "laboratory", "Laboratory"}, "IMM": {sysObsCategory, "laboratory", "Laboratory"},
	"RAD": {sysObsCategory, "imaging", "Imaging"}, "CT": {sysObsCategory, "imaging", "Imaging"},
	"RUS": {sysObsCategory, "imaging", "Imaging"}, "NMR": {sysObsCategory, "imaging", "Imaging"},
	"NMS": {sysObsCategory, "imaging", "Imaging"}, "RX": {sysObsCategory, "imaging", "Imaging"},
	"VUS": {sysObsCategory, "imaging", "Imaging"}, "OUS": {sysObsCategory, "imaging", "Imaging"},
	"XRC": {sysObsCategory, "imaging", "Imaging"}, "CUS": {sysObsCategory, "imaging", "Imaging"},
	"EC": {sysObsCategory, "procedure", "Procedure"}, "PF": {sysObsCategory, "procedure", "Procedure"},
	"CTH": {sysObsCategory, "procedure", "Procedure"}, "ICU": {sysObsCategory, "vital-signs", "Vital Signs"},
}

// orderNumber is the identifier of an order: its filler number (OBR-3,
// or ORC-3), or failing that its placer number (OBR-2, ORC-2).
func (b *builder) orderNumber(og hl7v2.Group) (Identifier, string, bool) {
	obr := og.Parent
	orc := b.precedingORC(obr)
	for _, f := range []struct {
		seg  *hl7v2.Segment
		n    int
		kind string
	}{{obr, 3, "filler-order"}, {orc, 3, "filler-order"}, {obr, 2, "placer-order"}, {orc, 2, "placer-order"}} {
		r := f.seg.Field(f.n).Rep(1)
		if v := clean(r.Comp(1).String()); v != "" {
			auth := hl7v2.HD{Namespace: r.Comp(2).String(), UniversalID: r.Comp(3).String(), UniversalIDType: r.Comp(4).String()}
			return Identifier{System: b.localSystem(auth, "", f.kind), Value: v}, f.kind, true
		}
	}
	return Identifier{}, "", false
}

// precedingORC is the ORC just before an OBR, if any.
func (b *builder) precedingORC(obr *hl7v2.Segment) *hl7v2.Segment {
	if i := obr.Index - 1; i >= 0 && b.m.Segments[i].Name == "ORC" {
		return &b.m.Segments[i]
	}
	return nil
}

// report writes the DiagnosticReport of an order group and its
// Observations.
func (b *builder) report(og hl7v2.Group, n int, patient, encounter string) error {
	obr := og.Parent
	order, kind, ok := b.orderNumber(og)
	if !ok {
		// No order number at all: the message's own id keeps replays
		// of this message idempotent, at least.
		order, kind = Identifier{System: b.mp.idBase + b.ods + "/message", Value: b.m.ControlID() + "/" + strconv.Itoa(n)}, "message"
	}
	status := reportStatus[strings.ToUpper(obr.Field(25).String())]
	if status == "" {
		status = "unknown"
	}
	category, hasCategory := sectionCategory[strings.ToUpper(obr.Field(24).String())]
	org := b.organization(b.ods)
	effective := obr.Field(7).String()
	issued := obr.Field(22).String()

	var results []string
	seen := map[string]int{}
	for i, rg := range og.Groups("OBX") {
		u, err := b.observation(rg, i, order, kind, seen, status, patient, encounter, effective, issued, category, hasCategory, org)
		if err != nil {
			return err
		}
		results = append(results, u)
	}
	req := request{method: "PUT", url: conditional("DiagnosticReport", order)}
	key := "DiagnosticReport|" + order.System + "|" + order.Value
	if b.added[key] {
		// The same order twice in one message: keep both, the second
		// under its position.
		order.Value += "#" + strconv.Itoa(n)
		req.url = conditional("DiagnosticReport", order)
		key = "DiagnosticReport|" + order.System + "|" + order.Value
	}
	b.add(key, "DiagnosticReport", req, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		if t := identifierType(kind); t.code != "" {
			w.concept("type", "", t)
		}
		w.str("system", order.System)
		w.str("value", order.Value)
		w.end()
		if kind == "filler-order" {
			// The placer's number too, when it differs.
			for _, seg := range []*hl7v2.Segment{obr, b.precedingORC(obr)} {
				if v := clean(seg.Field(2).Comp(1).String()); v != "" {
					auth := hl7v2.HD{Namespace: seg.Field(2).Comp(2).String(), UniversalID: seg.Field(2).Comp(3).String(), UniversalIDType: seg.Field(2).Comp(4).String()}
					placer := Identifier{System: b.localSystem(auth, "", "placer-order"), Value: v}
					if placer.Value != order.Value || placer.System != order.System {
						w.obj("")
						w.concept("type", "", identifierType("placer-order"))
						w.str("system", placer.System)
						w.str("value", placer.Value)
						w.end()
					}
					break
				}
			}
		}
		w.end()
		w.str("status", status)
		w.arr("category")
		if sec := obr.Field(24).String(); sec != "" {
			w.concept("", "", coding{system: sysV2Prefix + "0074", code: strings.ToUpper(sec)})
		}
		w.end()
		b.requiredConcept(w, "code", obr.Field(4).Rep(1))
		w.ref("subject", patient)
		w.ref("encounter", encounter)
		b.writeDateTime(w, "effectiveDateTime", effective)
		if v, ok := b.instant(issued); ok {
			w.str("issued", v)
		}
		w.arr("performer")
		w.ref("", org)
		w.end()
		w.arr("result")
		for _, u := range results {
			w.ref("", u)
		}
		w.end()
		// R4 has no DiagnosticReport.note; R5's, as a cross-version
		// extension, keeps the notes about the order as a whole.
		w.arr("extension")
		for _, nte := range og.Before("OBX") {
			if nte.Name != "NTE" {
				continue
			}
			if text := noteText(nte); text != "" {
				w.obj("")
				w.str("url", extReportNote)
				w.obj("valueAnnotation")
				w.str("text", text)
				w.end()
				w.end()
			}
		}
		w.end()
	})
	return nil
}

func identifierType(kind string) coding {
	switch kind {
	case "filler-order":
		return coding{sysIdentType, "FILL", "Filler Identifier"}
	case "placer-order":
		return coding{sysIdentType, "PLAC", "Placer Identifier"}
	}
	return coding{}
}

// requiredConcept writes a CodeableConcept that FHIR requires, with a
// text saying so when the message gave nothing.
func (b *builder) requiredConcept(w *jw, k string, r hl7v2.Rep) {
	n := len(w.b)
	b.conceptOf(w, k, r)
	if len(w.b) == n {
		w.concept(k, "not given")
	}
}

// noteText is an NTE's comment (NTE-3, repeating), lines joined.
func noteText(nte *hl7v2.Segment) string {
	var lines []string
	for _, r := range nte.Field(3).Reps() {
		lines = append(lines, r.Text())
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// interpretations are the v3 ObservationInterpretation codes; table
// 0078's are the same codes for nearly all.
var interpretations = map[string]string{
	"<": "Off scale low", ">": "Off scale high", "A": "Abnormal", "AA": "Critical abnormal", "B": "Better",
	"D": "Significant change down", "H": "High", "HH": "Critical high", "HU": "Significantly high", "I": "Intermediate",
	"IND": "Indeterminate", "L": "Low", "LL": "Critical low", "LU": "Significantly low", "MS": "moderately susceptible",
	"N": "Normal", "NEG": "Negative", "ND": "Not detected", "NR": "Non-reactive", "POS": "Positive", "R": "Resistant",
	"RR": "Reactive", "S": "Susceptible", "U": "Significant change up", "VS": "very susceptible", "W": "Worse",
	"DET": "Detected", "E": "Equivocal", "EX": "outside threshold", "HX": "above high threshold", "LX": "below low threshold",
}

// observation writes the Observation of an OBX group (the OBX and its
// NTEs) and returns its fullUrl.
func (b *builder) observation(rg hl7v2.Group, i int, order Identifier, kind string, seen map[string]int, reportStatus, patient, encounter, effective, issued string, category coding, hasCategory bool, org string) (string, error) {
	obx := rg.Parent
	code := obx.Field(3).Rep(1)
	// The result's identity within its order: the test code and sub-id,
	// which a corrected report repeats, so a correction updates it.
	local := clean(code.Comp(1).String())
	if local == "" {
		local = clean(code.Comp(2).String())
	}
	if sub := clean(obx.Field(4).String()); sub != "" {
		local += "/" + sub
	}
	if local == "" {
		local = "obx-" + strconv.Itoa(i+1)
	}
	seen[local]++
	if k := seen[local]; k > 1 {
		local += "#" + strconv.Itoa(k)
	}
	id := observationID(order, kind, b.mp.idBase+b.ods+"/observation", local)
	status := observationStatus[strings.ToUpper(obx.Field(11).String())]
	if status == "" {
		switch reportStatus {
		case "final", "corrected", "preliminary", "cancelled", "registered":
			status = reportStatus
		case "partial":
			status = "preliminary"
		default:
			status = "unknown"
		}
	}
	when := obx.Field(14).String()
	if when == "" {
		when = effective
	}
	valueType := strings.ToUpper(obx.Field(2).String())
	val := b.valueOf(obx, valueType)
	return b.add("Observation|"+id.System+"|"+id.Value, "Observation", request{method: "PUT", url: conditional("Observation", id)}, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", id.System)
		w.str("value", id.Value)
		w.end()
		w.end()
		w.str("status", status)
		if hasCategory {
			w.arr("category")
			w.concept("", "", category)
			w.end()
		}
		b.requiredConcept(w, "code", code)
		w.ref("subject", patient)
		w.ref("encounter", encounter)
		b.writeDateTime(w, "effectiveDateTime", when)
		if v, ok := b.instant(issued); ok {
			w.str("issued", v)
		}
		w.arr("performer")
		w.ref("", org)
		w.end()
		val.write(w)
		w.arr("interpretation")
		for _, r := range obx.Field(8).Reps() {
			c := r.Comp(1).String()
			if c == "" {
				continue
			}
			if display, ok := interpretations[strings.ToUpper(c)]; ok {
				w.concept("", "", coding{sysInterpret, strings.ToUpper(c), display})
			} else {
				w.concept("", "", coding{sysV2Prefix + "0078", c, r.Comp(2).String()})
			}
		}
		w.end()
		w.arr("note")
		for _, nte := range rg.All("NTE") {
			if text := noteText(nte); text != "" {
				w.obj("")
				w.str("text", text)
				w.end()
			}
		}
		w.end()
		b.referenceRange(w, obx.Field(7).String(), val.unit)
	}), nil
}

// observationID identifies a result by its order and its test. Its system
// follows the order's (".../winpath/filler-order" gives
// ".../winpath/observation"), so that results of two systems numbering
// their orders alike stay apart; the value is the order number and the
// test ("FL-1001/2823-3"). An order identified otherwise than by its
// filler number says so in the value.
func observationID(order Identifier, kind, fallback, test string) Identifier {
	value := order.Value + "/" + test
	if kind != "filler-order" {
		value = kind + ":" + value
	}
	if prefix, ok := strings.CutSuffix(order.System, "/"+kind); ok && strings.HasPrefix(order.System, "http") {
		return Identifier{System: prefix + "/observation", Value: value}
	}
	// An order numbered under an OID or URI: the sender's system, the
	// order's system in the value.
	return Identifier{System: fallback, Value: order.System + "|" + value}
}
