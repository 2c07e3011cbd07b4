package hl7fhir

import (
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// Systems and extensions of UK Core and HL7 used here.
const (
	sysNHSNumber    = "https://fhir.nhs.uk/Id/nhs-number"
	sysODS          = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysODSSite      = "https://fhir.nhs.uk/Id/ods-site-code"
	sysGMC          = "https://fhir.hl7.org.uk/Id/gmc-number"
	sysGMP          = "https://fhir.hl7.org.uk/Id/gmp-number"
	sysNMC          = "https://fhir.hl7.org.uk/Id/nmc-number"
	sysGPhC         = "https://fhir.hl7.org.uk/Id/gphc-number"
	sysGDC          = "https://fhir.hl7.org.uk/Id/gdc-number"
	sysHCPC         = "https://fhir.hl7.org.uk/Id/hcpc-number"
	sysSDSUser      = "https://fhir.nhs.uk/Id/sds-user-id"
	sysSNOMED       = "http://snomed.info/sct"
	sysLOINC        = "http://loinc.org"
	sysUCUM         = "http://unitsofmeasure.org"
	sysEthnic       = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
	sysAdmitMethod  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
	sysAdmitSource  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-SourceOfAdmissionEngland"
	sysDischMethod  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeMethodEngland"
	sysDischDest    = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"
	sysActCode      = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysActPriority  = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
	sysNullFlavor   = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
	sysParticipant  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysInterpret    = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysObsCategory  = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysDataAbsent   = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	sysIdentType    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysContactRole  = "http://terminology.hl7.org/CodeSystem/v2-0131"
	sysLocPhysical  = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	sysV2Prefix     = "http://terminology.hl7.org/CodeSystem/v2-"
	extEthnic       = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
	extAdmitMethod  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"
	extDischMethod  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod"
	extReportNote   = "http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.note"
	sysICD10        = "http://hl7.org/fhir/sid/icd-10"
	sysLocalDefault = "local"
)

// codeSystems maps the coding system names senders put in CE.3 / CWE.3 to
// FHIR system URIs. Names not here become local systems of the sender.
var codeSystems = map[string]string{
	"LN": sysLOINC, "LOINC": sysLOINC,
	"SCT": sysSNOMED, "SNOMED": sysSNOMED, "SNOMEDCT": sysSNOMED, "SNOMED CT": sysSNOMED, "SNOMED-CT": sysSNOMED,
	"UCUM": sysUCUM,
	"I10":  sysICD10, "ICD10": sysICD10, "ICD-10": sysICD10,
	"NHSETH": sysEthnic,
}

// coding is a code, its display and system.
type coding struct {
	system, code, display string
}

// codingOf reads a CE/CWE/CNE repetition's first triplet; the system name
// is looked up, or made a local system of the sender.
func (b *builder) codingOf(r hl7v2.Rep) coding {
	return coding{system: b.systemOf(r.Comp(3).String()), code: r.Comp(1).String(), display: r.Comp(2).String()}
}

// systemOf turns a coding system name into a URI.
func (b *builder) systemOf(name string) string {
	if s, ok := codeSystems[strings.ToUpper(name)]; ok {
		return s
	}
	if len(name) == 7 && strings.HasPrefix(strings.ToUpper(name), "HL7") {
		if _, err := strconv.Atoi(name[3:]); err == nil {
			return sysV2Prefix + name[3:]
		}
	}
	if (strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") || strings.HasPrefix(name, "urn:")) && validURI(name) {
		return name
	}
	if name == "" {
		name = sysLocalDefault
	}
	return b.mp.codeBase + b.ods + "/" + slug(name)
}

// slug makes s a path segment: letters, digits, hyphens; lower case.
func slug(s string) string {
	var out []byte
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			if dash && len(out) > 0 {
				out = append(out, '-')
			}
			dash = false
			out = append(out, c)
		default:
			dash = true
		}
	}
	if len(out) == 0 {
		return "x"
	}
	return string(out)
}

// validURI reports whether s can be a FHIR uri: not empty, no white
// space.
func validURI(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n\v\f")
}

// code normalises a value for a FHIR code: no white space at either end,
// single spaces inside.
func code(s string) string {
	s = clean(s)
	if !strings.ContainsAny(s, " \t\r\n\v\f") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// coding writes a Coding object (as an array item when k is "").
func (w *jw) coding(k string, c coding) {
	c.code = code(c.code)
	if c.code == "" {
		return
	}
	w.obj(k)
	w.str("system", c.system)
	w.str("code", c.code)
	w.str("display", c.display)
	w.end()
}

// concept writes a CodeableConcept of codings (those with a code) and
// text.
func (w *jw) concept(k, text string, cs ...coding) {
	w.obj(k)
	w.arr("coding")
	for _, c := range cs {
		w.coding("", c)
	}
	w.end()
	w.str("text", text)
	w.end()
}

// conceptOf writes a CE/CWE repetition as a CodeableConcept: the primary
// and the alternate coding, and the original text (CWE.9) as text — or
// the first text when there is no code at all.
func (b *builder) conceptOf(w *jw, k string, r hl7v2.Rep) {
	c1 := b.codingOf(r)
	var c2 coding
	if alt := r.Comp(4).String(); alt != "" {
		c2 = coding{system: b.systemOf(r.Comp(6).String()), code: alt, display: r.Comp(5).String()}
	}
	text := r.Comp(9).String()
	if text == "" && c1.code == "" && c2.code == "" {
		text = c1.display
	}
	w.concept(k, text, c1, c2)
}

// Times.

// dateTime formats an HL7 DTM as a FHIR dateTime, keeping its precision
// (a time given to the hour or minute gets :00 seconds, as FHIR needs
// seconds whenever there is a time). ok is false when s is empty or
// malformed.
func (b *builder) dateTime(s string) (string, bool) { return b.formatTime(s, false) }

// date formats the date part of an HL7 DTM (a date of birth sent with a
// midnight time is a date).
func (b *builder) date(s string) (string, bool) { return b.formatTime(s, true) }

func (b *builder) formatTime(s string, dateOnly bool) (string, bool) {
	t, err := hl7v2.ParseTime(s, b.mp.tz)
	if err != nil || t.Precision == hl7v2.PrecisionNone {
		return "", false
	}
	switch {
	case t.Precision == hl7v2.PrecisionYear:
		return t.Format("2006"), true
	case t.Precision == hl7v2.PrecisionMonth:
		return t.Format("2006-01"), true
	case t.Precision == hl7v2.PrecisionDay || dateOnly:
		return t.Format("2006-01-02"), true
	case t.Precision == hl7v2.PrecisionFraction:
		layout := "2006-01-02T15:04:05." + strings.Repeat("0", t.Digits) + "Z07:00"
		return t.Format(layout), true
	}
	return t.Format("2006-01-02T15:04:05Z07:00"), true
}

// instant formats an HL7 DTM given at least to the second as a FHIR
// instant.
func (b *builder) instant(s string) (string, bool) {
	t, err := hl7v2.ParseTime(s, b.mp.tz)
	if err != nil || t.Precision < hl7v2.PrecisionSecond {
		return "", false
	}
	return t.Format(time.RFC3339Nano), true
}

func (b *builder) writeDateTime(w *jw, k, s string) {
	if v, ok := b.dateTime(s); ok {
		w.str(k, v)
	}
}

// period writes a Period from two DTMs.
func (b *builder) period(w *jw, k, start, end string) {
	w.obj(k)
	b.writeDateTime(w, "start", start)
	b.writeDateTime(w, "end", end)
	w.end()
}

// Names, addresses, telecoms.

var nameUse = map[string]string{
	"L": "official", "D": "usual", "M": "maiden", "N": "nickname", "A": "anonymous", "S": "anonymous",
	"T": "temp", "U": "old", "OFFICIAL": "official", "USUAL": "usual",
}

// humanName writes an XPN repetition as a HumanName.
func (w *jw) humanName(k string, r hl7v2.Rep) {
	w.obj(k)
	w.str("use", nameUse[strings.ToUpper(r.Comp(7).String())])
	w.str("family", r.Comp(1).String())
	w.arr("given")
	w.str("", r.Comp(2).String())
	w.str("", r.Comp(3).String()) // further given names, as one
	w.end()
	w.arr("prefix")
	w.str("", r.Comp(5).String())
	w.end()
	w.arr("suffix")
	w.str("", r.Comp(4).String())
	w.str("", r.Comp(6).String())
	w.end()
	w.end()
}

// xcnName writes the name parts of an XCN (which come after its id).
func (w *jw) xcnName(k string, r hl7v2.Rep) {
	w.obj(k)
	w.str("family", r.Comp(2).String())
	w.arr("given")
	w.str("", r.Comp(3).String())
	w.str("", r.Comp(4).String())
	w.end()
	w.arr("prefix")
	w.str("", r.Comp(6).String())
	w.end()
	w.arr("suffix")
	w.str("", r.Comp(5).String())
	w.str("", r.Comp(7).String())
	w.end()
	w.end()
}

// xcnDisplay is an XCN's name as one line: "Dr Jane SMITH".
func xcnDisplay(r hl7v2.Rep) string {
	parts := []string{r.Comp(6).String(), r.Comp(3).String(), r.Comp(2).String()}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

var addressUse = map[string][2]string{ // use, type
	"H": {"home", ""}, "HOME": {"home", ""}, "P": {"home", ""}, "RH": {"home", ""},
	"B": {"work", ""}, "O": {"work", ""}, "WORK": {"work", ""},
	"C": {"temp", ""}, "BA": {"old", ""}, "OLD": {"old", ""},
	"M": {"", "postal"},
}

// address writes an XAD repetition as an Address. The state or province
// (XAD.4) is an English county: district, as UK Core has it.
func (w *jw) address(k string, r hl7v2.Rep) {
	w.obj(k)
	u := addressUse[strings.ToUpper(r.Comp(7).String())]
	w.str("use", u[0])
	w.str("type", u[1])
	w.arr("line")
	w.str("", r.Comp(1).String()) // SAD.1, the street address
	w.str("", r.Comp(2).String())
	w.end()
	w.str("city", r.Comp(3).String())
	district := r.Comp(4).String()
	if district == "" {
		district = r.Comp(9).String()
	}
	w.str("district", district)
	w.str("postalCode", r.Comp(5).String())
	w.str("country", r.Comp(6).String())
	w.end()
}

var telecomUse = map[string]string{
	"PRN": "home", "ORN": "home", "HOME": "home", "WPN": "work", "WORK": "work", "VHN": "temp", "MOBILE": "mobile",
}

var telecomSystem = map[string]string{
	"PH": "phone", "CP": "phone", "FX": "fax", "BP": "pager", "INTERNET": "email", "X.400": "email",
	"MD": "other", "TDD": "other", "TTY": "other", "SAT": "phone",
}

// telecom writes an XTN repetition as a ContactPoint; use is the default
// use (home for PID-13, work for PID-14).
func (w *jw) telecom(k string, r hl7v2.Rep, use string) {
	useCode, equip := strings.ToUpper(r.Comp(2).String()), strings.ToUpper(r.Comp(3).String())
	system := telecomSystem[equip]
	value := r.Comp(1).String()
	if v := r.Comp(12).String(); v != "" {
		value = v
	}
	if value == "" {
		// v2.5: country, area and local number apart.
		value = strings.TrimSpace(strings.Join(strings.Fields(r.Comp(5).String()+" "+r.Comp(6).String()+" "+r.Comp(7).String()), " "))
		if x := r.Comp(8).String(); x != "" && value != "" {
			value += " ext. " + x
		}
	}
	if useCode == "NET" || system == "email" {
		system = "email"
		if e := r.Comp(4).String(); e != "" {
			value = e
		}
	}
	if u, ok := telecomUse[useCode]; ok {
		use = u
	}
	if equip == "CP" {
		use = "mobile"
	}
	if system == "" {
		system = "phone"
		if strings.Contains(value, "@") {
			system, use = "email", ""
		}
	}
	if value == "" {
		return
	}
	w.obj(k)
	w.str("system", system)
	w.str("value", value)
	w.str("use", use)
	w.end()
}
