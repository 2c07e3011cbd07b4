package access

import (
	"slices"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// Policy is the access rules and their settings. The zero value is usable
// (the defaults below).
type Policy struct {
	// Recent is how long after an encounter or episode ends that care
	// still counts as a legitimate relationship (default 90 days).
	Recent time.Duration
	// BreakGlassFor is how long a break-glass opens a record (default 4h).
	BreakGlassFor time.Duration
	// UnsealOnBreakGlass lists the roles for which a break-glass also
	// opens sealed items (default none).
	UnsealOnBreakGlass []Role
	Now                func() time.Time
}

func (p *Policy) now() time.Time {
	if p != nil && p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// RecentWindow is how long after care ends it still counts as a
// legitimate relationship.
func (p *Policy) RecentWindow() time.Duration {
	if p == nil || p.Recent == 0 {
		return 90 * 24 * time.Hour
	}
	return p.Recent
}

// BreakGlassTTL is how long a break-glass lasts.
func (p *Policy) BreakGlassTTL() time.Duration {
	if p == nil || p.BreakGlassFor == 0 {
		return 4 * time.Hour
	}
	return p.BreakGlassFor
}

// Directory types describe the care system, not a person: anyone signed
// in may read them.
var directoryTypes = map[string]bool{
	"Organization": true, "OrganizationAffiliation": true, "Practitioner": true, "PractitionerRole": true,
	"Location": true, "HealthcareService": true, "Endpoint": true, "Medication": true, "Substance": true,
	"CodeSystem": true, "ValueSet": true, "ConceptMap": true, "NamingSystem": true, "StructureDefinition": true,
	"SearchParameter": true, "OperationDefinition": true, "CapabilityStatement": true, "Questionnaire": true,
	"PlanDefinition": true, "ActivityDefinition": true, "Library": true, "Device": true,
}

// adminTypes are what an administrator manages.
var adminTypes = map[string]bool{
	"Organization": true, "OrganizationAffiliation": true, "Practitioner": true, "PractitionerRole": true,
	"Location": true, "HealthcareService": true, "Endpoint": true,
}

// socialTypes are the social care view: what a social worker reads and
// writes. Other clinical items reach them only when their organisation
// tagged them shareable with social care (SysShareWith social-care).
var socialTypes = map[string]bool{
	"Patient": true, "RelatedPerson": true, "Encounter": true, "EpisodeOfCare": true, "CarePlan": true,
	"CareTeam": true, "Flag": true, "Consent": true, "Goal": true, "Task": true, "ServiceRequest": true,
	"QuestionnaireResponse": true, "Communication": true, "Appointment": true,
}

// patientWrites are what patients (and delegates) may add to their own
// record: readings, goals, sharing choices, messages and reports of errors.
var patientWrites = map[string]bool{
	"Observation": true, "Goal": true, "Consent": true, "Communication": true, "Task": true,
}

// InRecord reports whether typ belongs to a person's record (the Patient
// compartment, and Patient itself).
func InRecord(typ string) bool {
	return typ == "Patient" || len(fhirdef.PatientCompartmentParams(typ)) > 0
}

// SocialView reports whether typ is in the social care view as a whole.
func SocialView(typ string) bool { return socialTypes[typ] }

// rolePerms is what a role may do with a resource type, before scopes and
// before the person-level decision.
func rolePerms(pr *Principal, typ string) Perm {
	switch pr.Kind {
	case System:
		return AllPerms
	case PatientUser:
		if InRecord(typ) {
			if patientWrites[typ] {
				return Read | Search | Create | Update
			}
			return Read | Search
		}
		if directoryTypes[typ] {
			return Read | Search
		}
		return 0
	case User:
	default:
		return 0
	}
	r := pr.Role
	if typ == "AuditEvent" && r != RolePrivacyOfficer {
		// The access log is read through its own reports: the privacy
		// officer's, and each patient's of their own record.
		return 0
	}
	switch {
	case r.Clinical():
		if InRecord(typ) {
			return AllPerms
		}
		if directoryTypes[typ] {
			return Read | Search
		}
	case r == RoleSocialWorker:
		if socialTypes[typ] {
			return AllPerms
		}
		if InRecord(typ) {
			return Read | Search // only items shared with social care: see Decision
		}
		if directoryTypes[typ] {
			return Read | Search
		}
	case r == RoleAdmin:
		if adminTypes[typ] {
			return AllPerms
		}
		if directoryTypes[typ] || typ == "Patient" {
			return Read | Search // demographics, to manage the person index
		}
	case r == RolePrivacyOfficer:
		if typ == "AuditEvent" {
			return Read | Search
		}
		if typ == "Task" {
			return Read | Search | Update // the privacy review queue (the guard keeps it to that)
		}
		if directoryTypes[typ] || typ == "Patient" {
			return Read | Search
		}
	case r == RoleAnalyst:
		// only through the analytics path (bulk export for secondary use)
	}
	return 0
}

// TypePerms is what pr may do with resources of typ: its role's grant
// narrowed by its token's scopes.
func (p *Policy) TypePerms(pr *Principal, typ string) Perm {
	if pr == nil {
		return 0
	}
	perm := rolePerms(pr, typ)
	if pr.Unscoped || perm == 0 {
		return perm
	}
	var scoped Perm
	switch pr.Kind {
	case System:
		scoped = pr.Scopes.Grants(CtxSystem, typ)
	case User:
		scoped = pr.Scopes.Grants(CtxUser, typ)
		if pr.Patient != "" {
			scoped |= pr.Scopes.Grants(CtxPatient, typ)
		}
	case PatientUser:
		scoped = pr.Scopes.Grants(CtxPatient, typ) | pr.Scopes.Grants(CtxUser, typ)
	}
	return perm & scoped
}

// PatientScoped reports whether pr's token reaches only the launch
// patient (patient/ scopes, no user/ ones): its every clinical request
// must then be within that patient's record.
func (p *Policy) PatientScoped(pr *Principal, typ string) bool {
	if pr == nil || pr.Unscoped || pr.Kind != User {
		return false
	}
	return pr.Scopes.Grants(CtxUser, typ) == 0
}

// Decision is the outcome for one principal and one person's record.
type Decision struct {
	Allowed bool
	// Why says how access was granted or why refused, for the audit and
	// the OperationOutcome (it never names a withheld item).
	Why string
	// BreakGlass is set when only a break-glass opened the record.
	BreakGlass *Grant
	// Purpose is the purpose of use recorded for the access.
	Purpose string
	// OwnOrgOnly keeps only the items the principal's organisation
	// contributed (the person dissented from sharing).
	OwnOrgOnly bool
	// Unseal lets sealed items through (the person themselves, or a
	// break-glass by a role allowed to unseal).
	Unseal bool
	// SocialOnly keeps, outside the social care view, only items shared
	// with social care.
	SocialOnly bool
	// CanBreakGlass says a refused principal may open the record by
	// stating a reason.
	CanBreakGlass bool
	// Withhold hides items tagged as held back from the patient's view.
	WithholdFromPatient bool
	// Types, when not nil, are the only resource types of the record
	// open to the principal (a person's share with their organisation);
	// nil means no limit by type.
	Types []string
	// ReadOnly refuses every write to the record (a read-only delegate; a
	// share with an organisation).
	ReadOnly bool
}

// TypeAllowed reports whether d's type limit lets typ through.
func (d Decision) TypeAllowed(typ string) bool {
	return d.Types == nil || slices.Contains(d.Types, typ)
}

// Person decides whether pr may open the record the facts describe.
func (p *Policy) Person(pr *Principal, f *Facts) Decision {
	if pr == nil {
		return Decision{Why: "not signed in"}
	}
	switch pr.Kind {
	case System:
		return Decision{Allowed: true, Unseal: true, Why: "system", Purpose: purposeOr(pr.Purpose, "TREAT")}
	case PatientUser:
		ref := pr.FHIRUser
		if typ, id, ok := strings.Cut(ref, "/"); ok {
			if typ == "Patient" && slices.Contains(f.Patients, id) {
				return Decision{Allowed: true, Unseal: true, WithholdFromPatient: true, Why: "own record", Purpose: "PATRQT"}
			}
			if typ == "RelatedPerson" {
				return p.delegate(ref, f)
			}
		}
		if pr.Patient != "" && slices.Contains(f.Patients, pr.Patient) && pr.FHIRUser == "" {
			return Decision{Allowed: true, Unseal: true, WithholdFromPatient: true, Why: "own record", Purpose: "PATRQT"}
		}
		return Decision{Why: "not the signed-in person's own record"}
	case User:
	default:
		return Decision{Why: "not signed in"}
	}
	if !pr.Role.Clinical() && pr.Role != RoleSocialWorker {
		return Decision{Why: "the role " + string(pr.Role) + " does not give access to care records"}
	}
	if pr.Patient != "" && p.PatientScoped(pr, "Patient") && !slices.Contains(f.Patients, pr.Patient) {
		return Decision{Why: "the app was launched on another patient"}
	}
	now := p.now()
	d := p.care(pr, f, now)
	if !d.Allowed {
		if s, ok := p.orgShare(pr, f, now); ok {
			return s
		}
	}
	return d
}

// delegate decides for a RelatedPerson signed in as a patient principal:
// a delegate of the person at its level, never unsealing (sealed items
// stay with the person themselves, not their proxy).
func (p *Policy) delegate(ref string, f *Facts) Decision {
	now := p.now()
	for _, dl := range f.Delegates {
		if dl.Ref != ref {
			continue
		}
		if !dl.ActiveAt(now) {
			return Decision{Why: "the delegation to act for the person has ended (or not yet begun)"}
		}
		return Decision{Allowed: true, WithholdFromPatient: true, ReadOnly: dl.Level != ProxyFull,
			Why: "delegate of the person (" + dl.Level + ")", Purpose: "PATRQT"}
	}
	return Decision{Why: "not a delegate of the person (a related person acts for them only with proxy access recorded in their record)"}
}

// orgShare decides for a professional of an organisation the person
// shared parts of their record with: only the shared types, read only,
// until the end date. An explicit share stands whatever the person's
// general sharing choice (dissent included): the person chose it.
func (p *Policy) orgShare(pr *Principal, f *Facts, now time.Time) (Decision, bool) {
	if pr.Org == "" {
		return Decision{}, false
	}
	d := Decision{Purpose: purposeOr(pr.Purpose, "TREAT"), SocialOnly: pr.Role == RoleSocialWorker, ReadOnly: true, Types: []string{}}
	var whys []string
	for _, s := range f.OrgShares {
		if s.ODS != pr.Org || !s.ActiveAt(now) {
			continue
		}
		for _, t := range s.Types {
			if !slices.Contains(d.Types, t) {
				d.Types = append(d.Types, t)
			}
		}
		name := s.ODS
		if s.Name != "" {
			name = s.Name + " (" + s.ODS + ")"
		}
		whys = append(whys, "the person shared "+strings.Join(s.Types, ", ")+" with "+name+" until "+s.Until.UTC().Format("2006-01-02")+" ("+s.Consent+")")
	}
	if len(whys) == 0 {
		return Decision{}, false
	}
	slices.Sort(d.Types)
	d.Allowed, d.Why = true, strings.Join(whys, "; ")
	return d, true
}

// care decides for a professional by relationship, break-glass and the
// person's sharing choice.
func (p *Policy) care(pr *Principal, f *Facts, now time.Time) Decision {
	d := Decision{Purpose: purposeOr(pr.Purpose, "TREAT"), SocialOnly: pr.Role == RoleSocialWorker}
	rel, relWhy, episodes := p.relationship(pr, f, now)
	var grant *Grant
	for i := range f.BreakGlass {
		g := &f.BreakGlass[i]
		if g.Who == pr.ID() && now.Before(g.Until) {
			grant = g
		}
	}
	emergency := grant != nil && (grant.Reason == "emergency" || grant.Reason == "safeguarding")
	choice := f.Sharing.Choice
	if choice == ShareUntil && !now.Before(f.Sharing.Until) {
		choice = EmergencyOnly
	}
	switch {
	case choice == Dissent:
		d.OwnOrgOnly = true
		if rel {
			d.Allowed, d.Why = true, relWhy+"; the person declined sharing, so only this organisation's own entries"
		} else {
			d.Why = "no legitimate relationship, and the person declined sharing"
		}
		return d
	case choice == EmergencyOnly:
		if emergency {
			d.Allowed, d.Why, d.BreakGlass, d.Purpose = true, "break-glass ("+grant.Reason+"): the person shares only in an emergency or for safeguarding", grant, "ETREAT"
		} else {
			d.Why, d.CanBreakGlass = "the person shares their record only in an emergency or for safeguarding", pr.Role.Clinical() || pr.Role == RoleSocialWorker
		}
	case choice == ShareEpisode:
		if rel && slices.Contains(episodes, f.Sharing.Episode) {
			d.Allowed, d.Why = true, relWhy+" (the episode the person shares for)"
		} else if emergency {
			d.Allowed, d.Why, d.BreakGlass, d.Purpose = true, "break-glass ("+grant.Reason+")", grant, "ETREAT"
		} else {
			d.Why, d.CanBreakGlass = "the person shares their record only for one episode of care", true
		}
	default:
		switch {
		case rel:
			d.Allowed, d.Why = true, relWhy
		case grant != nil:
			d.Allowed, d.Why, d.BreakGlass, d.Purpose = true, "break-glass ("+grant.Reason+")", grant, "ETREAT"
		default:
			d.Why, d.CanBreakGlass = "no legitimate relationship with this person", true
		}
	}
	if d.Allowed && d.BreakGlass != nil && slices.Contains(p.UnsealOnBreakGlass, pr.Role) {
		d.Unseal = true
	}
	return d
}

func purposeOr(p, def string) string {
	if p != "" {
		return p
	}
	return def
}

// relationship finds a legitimate relationship between pr and the person:
// the first found, why, and the care episodes (references) that make one.
func (p *Policy) relationship(pr *Principal, f *Facts, now time.Time) (bool, string, []string) {
	ok, why := false, ""
	var eps []string
	found := func(w string) {
		if !ok {
			ok, why = true, w
		}
	}
	if pr.Org != "" {
		for _, gp := range f.GP {
			if slices.Contains(gp, pr.Org) {
				found("registered at the user's GP practice")
			}
		}
	}
	cutoff := now.Add(-p.RecentWindow())
	care := func(cs []Care, what string) {
		for _, c := range cs {
			if pr.Org == "" || !slices.Contains(c.Orgs, pr.Org) {
				continue
			}
			if c.Open || (!c.End.IsZero() && c.End.After(cutoff)) || (c.End.IsZero() && c.Start.After(cutoff)) {
				found(what + " at the user's organisation")
				eps = append(eps, c.Ref)
			}
		}
	}
	care(f.Encounters, "a current or recent encounter")
	care(f.Episodes, "a current or recent episode of care")
	for _, c := range f.Referrals {
		if c.Open && pr.Org != "" && slices.Contains(c.Orgs, pr.Org) {
			found("an open referral to the user's organisation")
			eps = append(eps, c.Ref)
		}
	}
	for _, m := range f.CareTeams {
		if (pr.FHIRUser != "" && m == pr.FHIRUser) || (pr.Org != "" && m == pr.Org) {
			found("in the person's care team")
		}
	}
	return ok, why, eps
}

// SecondaryUse reports whether the person's data may be used for
// analytics and research: not if they opted out (national data opt-out or
// type 1).
func SecondaryUse(f *Facts) bool { return !f.NDOP && !f.Type1 }
