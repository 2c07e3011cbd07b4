package access

import (
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Delegation: a RelatedPerson in a person's record (a parent, a carer)
// acts for the person only when it says so, with a level of access, for a
// period. The person's delegate signs in as a patient principal whose
// fhirUser is the RelatedPerson.

// ExtProxyAccess is the RelatedPerson extension that makes it a delegate:
// valueCode ProxyFull or ProxyRead.
const ExtProxyAccess = "https://sharedcare.example/StructureDefinition/proxy-access"

// The levels of a delegation.
const (
	// ProxyFull reads and writes as the person: readings, goals, sharing
	// choices, queries to the privacy officer.
	ProxyFull = "full"
	// ProxyRead reads only.
	ProxyRead = "read"
)

// SysRoleCode is the HL7 v3 RoleCode system of RelatedPerson.relationship
// (MTH mother, FTH father, GUARD guardian, ...).
const SysRoleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

// Delegate is a RelatedPerson that may act for the person.
type Delegate struct {
	Ref   string // "RelatedPerson/…"
	Level string // ProxyFull or ProxyRead
	// Start and End bound the delegation (RelatedPerson.period); zero
	// means open.
	Start, End time.Time
}

// ActiveAt reports whether the delegation holds at t.
func (d Delegate) ActiveAt(t time.Time) bool {
	return (d.Start.IsZero() || !t.Before(d.Start)) && (d.End.IsZero() || t.Before(d.End))
}

// DelegateOf reads a RelatedPerson as a delegation: it is one only when
// active is true and it carries ExtProxyAccess with a known level. The
// period is returned, not judged: the policy judges it against its clock.
func DelegateOf(id string, rp fhir.Object) (Delegate, bool) {
	if rp["active"] != true {
		return Delegate{}, false
	}
	d := Delegate{Ref: "RelatedPerson/" + id}
	for _, e := range arr(rp, "extension") {
		em, _ := e.(map[string]any)
		if str(em, "url") == ExtProxyAccess {
			d.Level = str(em, "valueCode")
		}
	}
	if d.Level != ProxyFull && d.Level != ProxyRead {
		return Delegate{}, false
	}
	if per, _ := rp["period"].(map[string]any); per != nil {
		if s := str(per, "start"); s != "" {
			t, err := parseTime(s)
			if err != nil {
				return Delegate{}, false // a period we cannot read delegates nothing
			}
			d.Start = t
		}
		if s := str(per, "end"); s != "" {
			t, err := parseTime(s)
			if err != nil {
				return Delegate{}, false
			}
			d.End = t
		}
	}
	return d, true
}

// Delegation builds the RelatedPerson that makes name a delegate of the
// Patient with id patient, at level (ProxyFull or ProxyRead), until until
// (zero: no end). relCode and relDisplay are the relationship in
// SysRoleCode (MTH "mother", GUARD "guardian"...).
func Delegation(patient, name, relCode, relDisplay, level string, until time.Time) fhir.Object {
	rp := fhir.Object{
		"resourceType": "RelatedPerson",
		"active":       true,
		"patient":      fhir.Object{"reference": "Patient/" + patient},
		"name":         []any{fhir.Object{"text": name}},
		"extension":    []any{fhir.Object{"url": ExtProxyAccess, "valueCode": level}},
	}
	if relCode != "" {
		rp["relationship"] = []any{fhir.Object{"coding": []any{fhir.Object{"system": SysRoleCode, "code": relCode, "display": relDisplay}}}}
	}
	if !until.IsZero() {
		rp["period"] = fhir.Object{"end": until.UTC().Format(time.RFC3339)}
	}
	return rp
}
