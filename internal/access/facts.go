package access

import "time"

// Facts are what the record says about one person that bears on who may
// see it: gathered by the record service (which can read everything) for
// the policy (which reads nothing itself), so the rules are testable as
// pure functions of data.
type Facts struct {
	// Patients are every Patient record of the person (the person index's
	// links), the one asked about first.
	Patients []string
	// GP holds, for each registered GP practice, its ODS code and those of
	// the organisations it is part of.
	GP [][]string
	// Encounters, Episodes and Referrals are care at organisations.
	Encounters, Episodes, Referrals []Care
	// CareTeams are the members of the person's active care teams:
	// references ("Practitioner/…") and organisations' ODS codes.
	CareTeams []string
	// Sharing is the person's latest choice about sharing for direct care.
	Sharing Sharing
	// NDOP and Type1 are the opt-outs from secondary use.
	NDOP, Type1 bool
	// BreakGlass are the grants opened by stating a reason.
	BreakGlass []Grant
	// Delegates are the RelatedPersons that may act for the person (a
	// parent, a carer): active, carrying ExtProxyAccess. Their periods are
	// judged by the policy, against its clock.
	Delegates []Delegate
	// OrgShares are the person's active shares of parts of their record
	// with named organisations (ended ones included: the policy judges
	// the end date).
	OrgShares []OrgShare
	// WithheldFromPatient says the record holds items held back from the
	// person's own view (SysPatientView|withhold): whether to tell them
	// that some information is not yet available.
	WithheldFromPatient bool
	// SealedBy are the ODS codes of the organisations that contributed
	// sealed items to the record ("" for items without one): whether to
	// tell someone that something is withheld from them.
	SealedBy []string
}

// Care is an encounter, an episode of care or a referral: where, when, and
// whether it is still open.
type Care struct {
	Ref string // "Encounter/…", "EpisodeOfCare/…", "ServiceRequest/…"
	// Orgs are the ODS codes of the organisation caring (or referred to)
	// and of those it is part of.
	Orgs []string
	// Start and End bound the care; a zero End with Open is current.
	Start, End time.Time
	Open       bool
}

// Grant is a break-glass: a principal opened the record by stating a
// reason, until a time.
type Grant struct {
	Who     string // Principal.ID()
	Org     string
	Reason  string // the stated reason code: emergency, safeguarding, direct-care
	Text    string
	Until   time.Time
	TaskRef string // the privacy officer's review task
}

// Choice is a person's sharing choice for direct care.
type Choice uint8

const (
	// Share is the default: shared with those who care for them.
	Share Choice = iota
	// ShareUntil shares until Sharing.Until, then as EmergencyOnly.
	ShareUntil
	// ShareEpisode shares only with the care of one episode
	// (Sharing.Episode).
	ShareEpisode
	// EmergencyOnly declines sharing except in an emergency or for
	// safeguarding (a break-glass with one of those reasons).
	EmergencyOnly
	// Dissent declines all sharing: each organisation sees only what it
	// contributed itself.
	Dissent
)

func (c Choice) String() string {
	return [...]string{"share", "share-until", "share-episode", "emergency-only", "dissent"}[c]
}

// Sharing is a sharing choice and its qualifiers.
type Sharing struct {
	Choice  Choice
	Until   time.Time
	Episode string // "EpisodeOfCare/…" or "Encounter/…"
	Consent string // the Consent it comes from ("" for the default)
}
