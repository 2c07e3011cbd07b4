package hl7fhir

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/mpi"
)

// patientIDs are the identifiers of a PID segment, NHS number first.
type patientIDs struct {
	nhs    string       // the NHS number, checked
	locals []Identifier // the sender's (or other organisations') own numbers
}

// nhsAuthorities are the assigning authorities and identifier types
// senders use for the NHS number.
var nhsAuthorities = map[string]bool{
	"NHS": true, "NH": true, "NHSNBR": true, "NHSNMBR": true, "NHS NUMBER": true, "NHSNO": true,
	"2.16.840.1.113883.2.1.4.1": true, // the NHS number's OID
}

// identifiers reads PID-3 (and PID-2, the older external id, when it adds
// something). An NHS number that fails its check digit is an error naming
// its place, so that the sender hears of it.
func (b *builder) identifiers(pid *hl7v2.Segment) (patientIDs, error) {
	return b.identifiersOf(pid, "PID", []int{3, 2})
}

// identifiersOf reads patient identifiers (CX) from fields of seg.
func (b *builder) identifiersOf(seg *hl7v2.Segment, name string, fields []int) (patientIDs, error) {
	var ids patientIDs
	seen := map[Identifier]bool{}
	for _, field := range fields {
		for n, r := range seg.Field(field).Reps() {
			value := clean(r.Comp(1).String())
			if value == "" {
				continue
			}
			auth := hl7v2.HDOfComp(r.Comp(4))
			typ := r.Comp(5).String()
			if nhsAuthorities[strings.ToUpper(auth.Namespace)] || nhsAuthorities[auth.UniversalID] || nhsAuthorities[strings.ToUpper(typ)] {
				nhs, err := mpi.ParseNHSNumber(value)
				if errors.Is(err, mpi.ErrNHSPlaceholder) {
					continue // 000 000 0000: "not known", as good as absent
				}
				if err != nil {
					loc := name + "-" + strconv.Itoa(field)
					if n > 1 {
						loc += "(" + strconv.Itoa(n) + ")"
					}
					return ids, errAt(hl7v2.CodeDataType, loc+"-1", nhsReason(err))
				}
				digits := nhs.String()
				if ids.nhs == "" {
					ids.nhs = digits
				}
				continue
			}
			id := Identifier{System: b.localSystem(auth, typ, "mrn"), Value: value}
			if !seen[id] {
				seen[id] = true
				ids.locals = append(ids.locals, id)
			}
		}
	}
	return ids, nil
}

// nhsReason says why an NHS number was refused, without repeating it
// (logs and ACKs must not carry patient identifiers).
func nhsReason(err error) string {
	switch {
	case errors.Is(err, mpi.ErrNHSCheckDigit), errors.Is(err, mpi.ErrNHSNoCheckDigit):
		return "the NHS number fails its Modulus 11 check"
	case errors.Is(err, mpi.ErrNHSLength):
		return "an NHS number has ten digits"
	}
	return "the NHS number is not ten digits"
}

// identifierKinds names the kind of local number by CX.5 (table 0203).
var identifierKinds = map[string]string{
	"MR": "mrn", "MRN": "mrn", "PI": "patient-id", "PT": "patient-id", "VN": "visit", "VISITID": "visit",
	"AN": "account", "PN": "person", "FILL": "filler-order", "PLAC": "placer-order",
}

// localSystem is the identifier system of an organisation's own number:
// the assigning authority's URI or OID when it gives one, otherwise
// IDBase + the ODS code of the authority + "/" + the kind of number. When
// the authority is not an organisation but a numbering scheme or an
// application of the sender (SIMULATOR MRN, WINPATH), the system is the
// sender's, qualified by the scheme, since two systems of one trust may
// well number their orders alike: IDBase + sender + "/winpath/" + kind.
func (b *builder) localSystem(auth hl7v2.HD, typ, defaultKind string) string {
	switch strings.ToUpper(auth.UniversalIDType) {
	case "URI":
		if strings.Contains(auth.UniversalID, ":") && validURI(auth.UniversalID) {
			return auth.UniversalID
		}
	case "ISO":
		if isOID(auth.UniversalID) {
			return "urn:oid:" + auth.UniversalID
		}
	}
	kind := identifierKinds[strings.ToUpper(typ)]
	if kind == "" {
		kind = defaultKind
	}
	if org := b.mp.authorityODS(auth.Namespace, b.ods); org != "" {
		return b.mp.idBase + org + "/" + kind
	}
	if auth.Namespace != "" {
		return b.mp.idBase + b.ods + "/" + slug(auth.Namespace) + "/" + kind
	}
	return b.mp.idBase + b.ods + "/" + kind
}

func isOID(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return strings.Contains(s, ".")
}

// patientCriteria picks the identifier the Patient is found by: the sender's
// own number (MRN) when there is one, since each organisation keeps its
// own Patient; else any local number; else the NHS number, which is then
// qualified by the sender's tag so that another organisation's Patient
// with the same NHS number is not matched.
func (b *builder) patientCriteria(ids patientIDs) (string, Identifier) {
	own := b.mp.idBase + b.ods + "/"
	for _, id := range ids.locals {
		if strings.HasPrefix(id.System, own) {
			return criteria(id), id
		}
	}
	if len(ids.locals) > 0 {
		return criteria(ids.locals[0]), ids.locals[0]
	}
	id := Identifier{System: sysNHSNumber, Value: ids.nhs}
	return criteria(id) + "&_tag=" + searchValue(sysODS) + "|" + searchValue(b.ods), id
}

var genders = map[string]string{"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}

// patient writes the Patient of a PID segment (with the PD1 and NK1
// segments that follow it) and returns its fullUrl. update replaces the
// Patient (the PAS is the source of truth for its registrations);
// otherwise it is created only when absent (results and documents).
func (b *builder) patient(pid *hl7v2.Segment, update bool) (string, error) {
	if pid == nil {
		return "", errAt(hl7v2.CodeSegmentSequence, "PID", "no PID segment")
	}
	ids, err := b.identifiers(pid)
	if err != nil {
		return "", err
	}
	if ids.nhs == "" && len(ids.locals) == 0 {
		return "", errAt(hl7v2.CodeRequiredFieldMissing, "PID-3", "no patient identifier")
	}
	crit, key := b.patientCriteria(ids)
	req := request{method: "POST", url: "Patient", ifNoneExist: crit}
	if update {
		req = request{method: "PUT", url: "Patient?" + crit}
	}
	pd1, kin := b.following(pid, "PD1"), b.allFollowing(pid, "NK1")
	// Reference data first: the GP practice and the GP.
	var gpRefs []string
	var gpDisplay string
	if pd1 != nil {
		for _, r := range pd1.Field(3).Reps() {
			if u, display := b.orgOfXON(r); u != "" {
				gpRefs = append(gpRefs, u)
			} else if gpDisplay == "" {
				gpDisplay = display
			}
		}
		for _, r := range pd1.Field(4).Reps() {
			if u, _ := b.practitioner(r); u != "" {
				gpRefs = append(gpRefs, u)
			}
		}
	}
	org := b.organization(b.ods)
	return b.add("Patient|"+key.System+"|"+key.Value, "Patient", req, func(w *jw) {
		if eth := pid.Field(22).Rep(1); eth.Comp(1).String() != "" && ethnicCode(eth) {
			w.arr("extension")
			w.obj("")
			w.str("url", extEthnic)
			w.concept("valueCodeableConcept", "", coding{system: sysEthnic, code: eth.Comp(1).String(), display: eth.Comp(2).String()})
			w.end()
			w.end()
		}
		w.arr("identifier")
		if ids.nhs != "" {
			w.obj("")
			w.str("system", sysNHSNumber)
			w.str("value", ids.nhs)
			w.end()
		}
		for _, id := range ids.locals {
			w.obj("")
			w.str("system", id.System)
			w.str("value", id.Value)
			w.end()
		}
		w.end()
		w.arr("name")
		for _, r := range pid.Field(5).Reps() {
			w.humanName("", r)
		}
		for _, r := range pid.Field(9).Reps() { // alias
			w.humanName("", r)
		}
		w.end()
		w.arr("telecom")
		for _, r := range pid.Field(13).Reps() {
			w.telecom("", r, "home")
		}
		for _, r := range pid.Field(14).Reps() {
			w.telecom("", r, "work")
		}
		w.end()
		w.str("gender", genders[strings.ToUpper(pid.Field(8).String())])
		if d, ok := b.date(pid.Field(7).String()); ok {
			w.str("birthDate", d)
		}
		if dt, ok := b.dateTime(pid.Field(29).String()); ok {
			w.str("deceasedDateTime", dt)
		} else {
			switch strings.ToUpper(pid.Field(30).String()) {
			case "Y":
				w.boolean("deceasedBoolean", true)
			case "N":
				w.boolean("deceasedBoolean", false)
			}
		}
		w.arr("address")
		for _, r := range pid.Field(11).Reps() {
			w.address("", r)
		}
		w.end()
		w.arr("contact")
		for _, nk := range kin {
			b.contact(w, nk)
		}
		w.end()
		w.arr("generalPractitioner")
		for _, u := range gpRefs {
			w.ref("", u)
		}
		if len(gpRefs) == 0 && gpDisplay != "" {
			w.obj("")
			w.str("display", gpDisplay)
			w.end()
		}
		w.end()
		w.ref("managingOrganization", org)
	}), nil
}

// ethnicCode reports whether a PID-22 value is an NHS ethnic category
// (A to Z, or 99 not stated), from the NHSETH table or without a table.
func ethnicCode(r hl7v2.Rep) bool {
	sys := strings.ToUpper(r.Comp(3).String())
	if sys != "" && sys != "NHSETH" {
		return false
	}
	c := r.Comp(1).String()
	return (len(c) == 1 && c[0] >= 'A' && c[0] <= 'Z') || c == "99"
}

// contact writes an NK1 segment as a Patient.contact, when it gives a
// name, telecom or address (FHIR's pat-1: a contact is someone to
// contact).
func (b *builder) contact(w *jw, nk *hl7v2.Segment) {
	if nk.Field(2).Rep(1).Text() == "" && nk.Field(4).Rep(1).Text() == "" && nk.Field(5).Empty() && nk.Field(6).Empty() {
		return
	}
	w.obj("")
	w.arr("relationship")
	if rel := nk.Field(3).Rep(1); rel.Comp(1).String() != "" || rel.Comp(2).String() != "" {
		c := b.codingOf(rel)
		if s := strings.ToUpper(rel.Comp(3).String()); s == "" {
			c.system = sysV2Prefix + "0063"
		}
		w.concept("", rel.Comp(2).String(), c)
	}
	role := nk.Field(7).Rep(1)
	if role.Comp(1).String() != "" {
		w.concept("", "", coding{system: sysContactRole, code: role.Comp(1).String(), display: role.Comp(2).String()})
	} else {
		// NK1 is the next of kin segment: say so when no role is given.
		w.concept("", "", coding{system: sysContactRole, code: "N", display: "Next-of-Kin"})
	}
	w.end()
	w.humanName("name", nk.Field(2).Rep(1))
	w.arr("telecom")
	for _, r := range nk.Field(5).Reps() {
		w.telecom("", r, "home")
	}
	for _, r := range nk.Field(6).Reps() {
		w.telecom("", r, "work")
	}
	w.end()
	w.address("address", nk.Field(4).Rep(1))
	w.end()
}

// following returns the first segment named name after s and before the
// next PID (or nil).
func (b *builder) following(s *hl7v2.Segment, name string) *hl7v2.Segment {
	for i := s.Index + 1; i < len(b.m.Segments); i++ {
		x := &b.m.Segments[i]
		if x.Name == name {
			return x
		}
		if x.Name == "PID" || x.Name == "MRG" {
			break
		}
	}
	return nil
}

// allFollowing returns the segments named name after s and before the
// next PID.
func (b *builder) allFollowing(s *hl7v2.Segment, name string) []*hl7v2.Segment {
	var out []*hl7v2.Segment
	for i := s.Index + 1; i < len(b.m.Segments); i++ {
		x := &b.m.Segments[i]
		if x.Name == "PID" || x.Name == "MRG" {
			break
		}
		if x.Name == name {
			out = append(out, x)
		}
	}
	return out
}

// organization is the entry of the organisation with an ODS code, created
// when absent.
func (b *builder) organization(ods string) string {
	id := Identifier{System: sysODS, Value: ods}
	return b.add("Organization|"+ods, "Organization", request{method: "POST", url: "Organization", ifNoneExist: criteria(id)}, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", sysODS)
		w.str("value", ods)
		w.end()
		w.end()
	})
}

// orgOfXON returns the entry of an organisation named by an XON (its ODS
// code in XON.10, or the older XON.3), or, when it has none, its name to
// display.
func (b *builder) orgOfXON(r hl7v2.Rep) (string, string) {
	name := r.Comp(1).String()
	ods := r.Comp(10).String()
	if !looksLikeODS(ods) {
		ods = r.Comp(3).String()
	}
	if !looksLikeODS(ods) {
		return "", name
	}
	id := Identifier{System: sysODS, Value: ods}
	return b.add("Organization|"+ods, "Organization", request{method: "POST", url: "Organization", ifNoneExist: criteria(id)}, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", sysODS)
		w.str("value", ods)
		w.end()
		w.end()
		w.str("name", name)
	}), name
}

// registers maps the assigning authorities of staff numbers to the UK
// professional registers.
var registers = map[string]string{
	"GMC": sysGMC, "GMP": sysGMP, "NMC": sysNMC, "GPHC": sysGPhC, "GDC": sysGDC, "HCPC": sysHCPC,
	"SDS": sysSDSUser, "SDSUSER": sysSDSUser,
}

// practitioner returns the entry of the member of staff an XCN names,
// created when absent, and the name to display; no entry when the XCN
// has no id.
func (b *builder) practitioner(r hl7v2.Rep) (string, string) {
	display := xcnDisplay(r)
	id := clean(r.Comp(1).String())
	if id == "" {
		return "", display
	}
	auth := hl7v2.HDOfComp(r.Comp(9))
	system := registers[strings.ToUpper(auth.Namespace)]
	if system == "" {
		system = b.localSystem(auth, "", "practitioner")
	}
	ident := Identifier{System: system, Value: id}
	return b.add("Practitioner|"+system+"|"+id, "Practitioner", request{method: "POST", url: "Practitioner", ifNoneExist: criteria(ident)}, func(w *jw) {
		w.arr("identifier")
		w.obj("")
		w.str("system", system)
		w.str("value", id)
		w.end()
		w.end()
		w.arr("name")
		w.xcnName("", r)
		w.end()
	}), display
}
