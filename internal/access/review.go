package access

import (
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// The privacy officer's queue: break-glass reviews (written by the
// platform) and patients' queries about accesses they do not recognise
// (written by the person, or a full delegate, in their own record). Both
// are Tasks tagged SysPrivacyReview|review.

const (
	// SysPrivacyReview tags the queue's Tasks (code ReviewTag) and codes a
	// patient's query (code AccessQueryCode).
	SysPrivacyReview = "https://sharedcare.example/CodeSystem/privacy-review"
	ReviewTag        = "review"
	AccessQueryCode  = "access-query"
)

// The platform's mark on what a person (or their delegate) entered
// themselves: meta.tag SysProvenance|PatientEntered, set on their writes
// and removed from everyone else's.
const (
	SysProvenance  = "https://sharedcare.example/CodeSystem/provenance"
	PatientEntered = "patient-entered"
)

// AccessQuery builds the Task by which the Patient with id patient asks
// the privacy officer about the accesses recorded by the AuditEvents
// auditEventIDs, in their own words text, at now.
func AccessQuery(patient string, auditEventIDs []string, text string, now time.Time) fhir.Object {
	in := make([]any, 0, len(auditEventIDs))
	for _, id := range auditEventIDs {
		in = append(in, fhir.Object{"type": fhir.Object{"text": "audit-event"}, "valueReference": fhir.Object{"reference": "AuditEvent/" + id}})
	}
	t := fhir.Object{
		"resourceType":   "Task",
		"meta":           fhir.Object{"tag": []any{fhir.Object{"system": SysPrivacyReview, "code": ReviewTag}}},
		"status":         "requested",
		"intent":         "order",
		"code":           fhir.Object{"coding": []any{fhir.Object{"system": SysPrivacyReview, "code": AccessQueryCode, "display": "A person's query about an access to their record"}}},
		"for":            fhir.Object{"reference": "Patient/" + patient},
		"authoredOn":     now.UTC().Format(time.RFC3339),
		"description":    text,
		"businessStatus": fhir.Object{"text": "awaiting privacy officer review"},
	}
	if len(in) > 0 {
		t["input"] = in
	}
	return t
}
