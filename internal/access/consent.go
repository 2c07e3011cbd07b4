package access

import (
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Code systems the policy reads.
const (
	SysConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	SysActCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	SysPurposeOfUse    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SysSNOMED          = "http://snomed.info/sct"
	SysNDOP            = "https://fhir.nhs.uk/ndop-categories-1"
	SysConsentScope    = "http://terminology.hl7.org/CodeSystem/consentscope"
	SysODS             = "https://fhir.nhs.uk/Id/ods-organization-code"
	// SysConsentKind marks the Consents this platform writes for a
	// person's sharing choice.
	SysConsentKind = "https://sharedcare.example/CodeSystem/consent-kind"
	// SysBreakGlass names break-glass reasons; SysShareWith tags items
	// their organisation shares beyond health care (social-care).
	SysBreakGlass = "https://sharedcare.example/CodeSystem/break-glass-reason"
	SysShareWith  = "https://sharedcare.example/CodeSystem/share-with"
	// SysPatientView tags items held back from the patient's own view
	// (withhold: a result not yet discussed).
	SysPatientView = "https://sharedcare.example/CodeSystem/patient-view"
	// SysAddressedTo tags a Communication or Task addressed to an
	// organisation (its ODS code): the organisation's inbox searches it.
	SysAddressedTo = "https://sharedcare.example/CodeSystem/addressed-to"
)

// SNOMED CT codes of the opt-outs and of dissent, as GP systems record them.
const (
	snomedDissentShared = "416409005"       // refused consent for upload to local shared electronic record
	snomedType1         = "827241000000103" // dissent from secondary use of GP patient identifiable data
)

// ConsentFacts reads one Consent into the facts: a sharing choice, or an
// opt-out from secondary use. at is when the Consent took effect (its
// dateTime, else its lastUpdated): the latest of each kind wins. It
// reports whether the Consent was one the policy reads.
func ConsentFacts(c fhir.Object, f *Facts, latest map[string]time.Time, lastUpdated time.Time) bool {
	if str(c, "status") != "active" {
		return false
	}
	at := lastUpdated
	if t, err := time.Parse(time.RFC3339, str(c, "dateTime")); err == nil {
		at = t
	} else if t, err := time.Parse("2006-01-02", str(c, "dateTime")); err == nil {
		at = t
	}
	prov, _ := c["provision"].(map[string]any)
	deny := prov != nil && str(prov, "type") == "deny"
	kind := ""
	for _, cat := range arr(c, "category") {
		for _, cd := range codings(cat) {
			switch {
			case cd.system == SysNDOP && cd.code == "NDOP":
				kind = "ndop"
			case cd.system == SysSNOMED && cd.code == snomedType1:
				kind = "type1"
			case cd.system == SysSNOMED && cd.code == snomedDissentShared,
				cd.system == SysConsentKind && cd.code == "sharing":
				kind = "sharing"
			case cd.system == SysConsentKind && cd.code == ConsentOrgShare:
				kind = ConsentOrgShare
			}
		}
	}
	if kind == "" {
		return false
	}
	if kind == ConsentOrgShare {
		// Shares add up: each active one counts, not only the latest.
		if s, ok := orgShareOf(c, prov); ok {
			f.OrgShares = append(f.OrgShares, s)
		}
		return true
	}
	if prev, ok := latest[kind]; ok && prev.After(at) {
		return true
	}
	latest[kind] = at
	switch kind {
	case "ndop":
		f.NDOP = deny
	case "type1":
		f.Type1 = deny
	case "sharing":
		f.Sharing = sharingOf(c, prov, deny)
	}
	return true
}

func sharingOf(c, prov fhir.Object, deny bool) Sharing {
	s := Sharing{Choice: Share}
	if id := str(c, "id"); id != "" {
		s.Consent = "Consent/" + id
	}
	if prov == nil {
		return s
	}
	if deny {
		s.Choice = Dissent
		for _, p := range arr(prov, "provision") {
			sub, _ := p.(map[string]any)
			if sub != nil && str(sub, "type") == "permit" {
				for _, pu := range arr(sub, "purpose") {
					cd := codingOf(pu)
					if cd.code == "ETREAT" || cd.code == "safeguarding" {
						s.Choice = EmergencyOnly
					}
				}
			}
		}
		return s
	}
	if per, _ := prov["period"].(map[string]any); per != nil {
		if t, err := parseTime(str(per, "end")); err == nil {
			s.Choice, s.Until = ShareUntil, t
		}
	}
	for _, d := range arr(prov, "data") {
		dm, _ := d.(map[string]any)
		if ref, _ := dm["reference"].(map[string]any); ref != nil {
			if r := str(ref, "reference"); r != "" {
				s.Choice, s.Episode = ShareEpisode, r
			}
		}
	}
	return s
}

// SharingConsent builds the Consent recording a sharing choice for the
// Patient with id patient, made at at: what the patient portal writes.
func SharingConsent(patient string, s Sharing, at time.Time) fhir.Object {
	prov := fhir.Object{"type": "permit"}
	switch s.Choice {
	case ShareUntil:
		prov["period"] = fhir.Object{"start": at.UTC().Format(time.RFC3339), "end": s.Until.UTC().Format(time.RFC3339)}
	case ShareEpisode:
		prov["data"] = []any{fhir.Object{"meaning": "related", "reference": fhir.Object{"reference": s.Episode}}}
	case EmergencyOnly:
		prov["type"] = "deny"
		prov["provision"] = []any{fhir.Object{"type": "permit", "purpose": []any{
			fhir.Object{"system": SysPurposeOfUse, "code": "ETREAT", "display": "Emergency Treatment"},
			fhir.Object{"system": SysBreakGlass, "code": "safeguarding", "display": "Safeguarding"},
		}}}
	case Dissent:
		prov["type"] = "deny"
	}
	if s.Choice == EmergencyOnly || s.Choice == Dissent {
		prov["action"] = []any{fhir.Object{"coding": []any{fhir.Object{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "disclose"}}}}
	}
	return fhir.Object{
		"resourceType": "Consent",
		"status":       "active",
		"scope":        fhir.Object{"coding": []any{fhir.Object{"system": SysConsentScope, "code": "patient-privacy"}}},
		"category": []any{fhir.Object{"coding": []any{
			fhir.Object{"system": SysConsentKind, "code": "sharing", "display": "Sharing for direct care: " + s.Choice.String()},
		}}},
		"patient":    fhir.Object{"reference": "Patient/" + patient},
		"dateTime":   at.UTC().Format(time.RFC3339),
		"policyRule": fhir.Object{"coding": []any{fhir.Object{"system": SysActCode, "code": map[bool]string{true: "OPTOUT", false: "OPTIN"}[prov["type"] == "deny"]}}},
		"provision":  prov,
	}
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

type coding struct{ system, code string }

func str(o fhir.Object, k string) string {
	s, _ := o[k].(string)
	return s
}

func arr(o fhir.Object, k string) []any {
	a, _ := o[k].([]any)
	return a
}

// codings returns the codings of a CodeableConcept.
func codings(v any) []coding {
	m, _ := v.(map[string]any)
	var out []coding
	for _, c := range arr(m, "coding") {
		out = append(out, codingOf(c))
	}
	return out
}

func codingOf(v any) coding {
	m, _ := v.(map[string]any)
	return coding{str(m, "system"), str(m, "code")}
}
