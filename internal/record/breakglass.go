package record

import (
	"context"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

// BreakGlassReasons are the reasons a professional may give for opening a
// record without a legitimate relationship.
var BreakGlassReasons = map[string]string{
	"emergency":    "Emergency: the person needs care now",
	"safeguarding": "Safeguarding concern",
	"direct-care":  "Direct care not yet recorded (a new referral or admission)",
}

// SysPrincipal is the identifier system of a principal's audit id.
const SysPrincipal = "https://sharedcare.example/principal"

// BreakGlass opens the record Patient id is in for the signed-in
// professional for the policy's break-glass time: it records the reason as
// a Task in the privacy officer's review queue (which the person can also
// see) and returns the grant. Only professionals in a care role may.
func (s *Service) BreakGlass(ctx context.Context, id, reason, text string) (*access.Grant, error) {
	p, pr, err := s.principal(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fhir.E(fhir.NotSupported, "access control is off: there is nothing to break")
	}
	if pr.Kind != access.User || !(pr.Role.Clinical() || pr.Role == access.RoleSocialWorker) {
		return nil, fhir.E(fhir.Forbidden, "only professionals in a care role may break glass")
	}
	if _, ok := BreakGlassReasons[reason]; !ok {
		return nil, fhir.E(fhir.Invalid, "reason %q is not one of emergency, safeguarding, direct-care", reason)
	}
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 2000 {
		return nil, fhir.E(fhir.Invalid, "say why, in a few words (at most 2000 characters)")
	}
	if !ValidID(id) {
		return nil, fhir.E(fhir.NotFound, "Patient/%s not found", id)
	}
	if r, err := s.Store.Read(ctx, "Patient", id); err != nil || r.Deleted {
		return nil, fhir.E(fhir.NotFound, "Patient/%s not found", id)
	}
	now := s.Now()
	until := now.Add(p.BreakGlassTTL())
	task := fhir.Object{
		"resourceType": "Task",
		"meta":         fhir.Object{"tag": []any{fhir.Object{"system": access.SysPrivacyReview, "code": access.ReviewTag}}},
		"status":       "requested",
		"intent":       "order",
		"code":         fhir.Object{"coding": []any{fhir.Object{"system": access.SysBreakGlass, "code": "break-glass", "display": "Break-glass access: for privacy officer review"}}},
		"for":          fhir.Object{"reference": "Patient/" + id},
		"authoredOn":   fhir.FormatInstant(now),
		"requester": fhir.Object{
			"identifier": fhir.Object{"system": SysPrincipal, "value": pr.ID()},
			"display":    strings.TrimSpace(pr.Name + " (" + string(pr.Role) + ", " + pr.Org + ")"),
		},
		"reasonCode":     fhir.Object{"coding": []any{fhir.Object{"system": access.SysBreakGlass, "code": reason, "display": BreakGlassReasons[reason]}}, "text": text},
		"restriction":    fhir.Object{"period": fhir.Object{"start": fhir.FormatInstant(now), "end": fhir.FormatInstant(until)}},
		"businessStatus": fhir.Object{"text": "awaiting privacy officer review"},
		"input": []any{
			fhir.Object{"type": fhir.Object{"text": "organization"}, "valueString": pr.Org},
			fhir.Object{"type": fhir.Object{"text": "role"}, "valueString": string(pr.Role)},
		},
	}
	if pr.FHIRUser != "" {
		task["requester"].(fhir.Object)["reference"] = pr.FHIRUser
	}
	body, err := fhir.Marshal(task)
	if err != nil {
		return nil, err
	}
	sys := access.WithPrincipal(ctx, access.SystemPrincipal("sharedcare-break-glass", pr.Org))
	if pr.Org != "" {
		sys = WithSource(sys, Source{ODS: pr.Org})
	}
	res, err := s.Create(sys, "Task", body, "")
	if err != nil {
		return nil, err
	}
	g := &access.Grant{Who: pr.ID(), Org: pr.Org, Reason: reason, Text: text, Until: until, TaskRef: "Task/" + res.Resource.ID}
	access.NoteFrom(ctx).Patient(id)
	access.NoteFrom(ctx).Decision(access.Decision{Allowed: true, BreakGlass: g, Purpose: "ETREAT"})
	return g, nil
}

// queueKind says which kind of Task in the privacy officer's queue obj
// is: "break-glass" (a break-glass review, tagged or written before the
// tag), access.AccessQueryCode (a person's query, which must carry the
// queue's tag), or "" for none.
func queueKind(obj fhir.Object) string {
	for _, c := range arrOf(mapOf(obj["code"])["coding"]) {
		cm := mapOf(c)
		switch {
		case strOf(cm["system"]) == access.SysBreakGlass && strOf(cm["code"]) == "break-glass":
			return "break-glass"
		case strOf(cm["system"]) == access.SysPrivacyReview && strOf(cm["code"]) == access.AccessQueryCode && hasTag(obj, access.SysPrivacyReview, access.ReviewTag):
			return access.AccessQueryCode
		}
	}
	return ""
}

// officerTask reports whether pr is a privacy officer and body a Task in
// their queue: a break-glass review or a person's access query, across
// everyone's records.
func officerTask(pr *access.Principal, typ string, body []byte) bool {
	if !officerReviewing(pr) || typ != "Task" {
		return false
	}
	obj, err := fhir.DecodeResource(body)
	return err == nil && queueKind(obj) != ""
}
