package access

import (
	"slices"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// A person may share chosen parts of their record (resource types) with a
// named organisation outside the care system (a private physiotherapist)
// until a date: a Consent of kind org-share, which they revoke by making
// it inactive.

const (
	// SysResourceTypes names resource types (Consent.provision.class).
	SysResourceTypes = "http://hl7.org/fhir/resource-types"
	// SysParticipationType holds IRCP, the information recipient
	// (Consent.provision.actor.role).
	SysParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	// ConsentOrgShare is the SysConsentKind code of a share with an
	// organisation.
	ConsentOrgShare = "org-share"
)

// OrgShare is a person's share of some types of their record with one
// organisation.
type OrgShare struct {
	ODS, Name string
	Types     []string
	Until     time.Time
	Consent   string // "Consent/…"
}

// ActiveAt reports whether the share holds at t.
func (s OrgShare) ActiveAt(t time.Time) bool { return t.Before(s.Until) }

// orgShareOf reads an active org-share Consent. A share without an end
// date, a recipient or types shares nothing.
func orgShareOf(c, prov fhir.Object) (OrgShare, bool) {
	var s OrgShare
	if prov == nil || str(prov, "type") != "permit" {
		return s, false
	}
	if id := str(c, "id"); id != "" {
		s.Consent = "Consent/" + id
	}
	per, _ := prov["period"].(map[string]any)
	t, err := parseTime(str(per, "end"))
	if err != nil {
		return s, false
	}
	s.Until = t
	for _, a := range arr(prov, "actor") {
		am, _ := a.(map[string]any)
		recipient := false
		for _, cd := range codings(am["role"]) {
			recipient = recipient || (cd.system == SysParticipationType && cd.code == "IRCP")
		}
		ref, _ := am["reference"].(map[string]any)
		idf, _ := ref["identifier"].(map[string]any)
		if recipient && str(idf, "system") == SysODS && str(idf, "value") != "" {
			s.ODS, s.Name = str(idf, "value"), str(ref, "display")
			break
		}
	}
	for _, cl := range arr(prov, "class") {
		cd := codingOf(cl)
		if cd.system == SysResourceTypes && InRecord(cd.code) && !slices.Contains(s.Types, cd.code) {
			s.Types = append(s.Types, cd.code)
		}
	}
	if s.ODS == "" || len(s.Types) == 0 {
		return s, false
	}
	return s, true
}

// OrgShareConsent builds the Consent by which the Patient with id patient
// shares the resource types types with the organisation ods (orgName for
// people to read) until until, made at now: what the patient portal
// writes. The portal revokes it by writing it back with status inactive.
func OrgShareConsent(patient, ods, orgName string, types []string, until, now time.Time) fhir.Object {
	classes := make([]any, 0, len(types))
	for _, t := range types {
		classes = append(classes, fhir.Object{"system": SysResourceTypes, "code": t})
	}
	return fhir.Object{
		"resourceType": "Consent",
		"status":       "active",
		"scope":        fhir.Object{"coding": []any{fhir.Object{"system": SysConsentScope, "code": "patient-privacy"}}},
		"category": []any{fhir.Object{"coding": []any{
			fhir.Object{"system": SysConsentKind, "code": ConsentOrgShare, "display": "Shared with an organisation"},
		}}},
		"patient":  fhir.Object{"reference": "Patient/" + patient},
		"dateTime": now.UTC().Format(time.RFC3339),
		"provision": fhir.Object{
			"type":   "permit",
			"period": fhir.Object{"start": now.UTC().Format(time.RFC3339), "end": until.UTC().Format(time.RFC3339)},
			"actor": []any{fhir.Object{
				"role":      fhir.Object{"coding": []any{fhir.Object{"system": SysParticipationType, "code": "IRCP", "display": "information recipient"}}},
				"reference": fhir.Object{"identifier": fhir.Object{"system": SysODS, "value": ods}, "display": orgName},
			}},
			"class": classes,
		},
	}
}
