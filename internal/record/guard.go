package record

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// The guard: where every interaction asks the access package. The
// decisions themselves are access's; this file gathers what they need
// (facts.go), applies them to each path (read, search and its includes,
// history, writes) and notes each for the audit. Searches are narrowed in
// the database (store.Filter), so counts and pages never see what the
// principal may not; each returned item is checked again here as well.

type guard struct {
	policy atomic.Pointer[access.Policy]
	cache  factsCache
	hooked atomic.Bool
}

// SetAccess turns access control on: from now on every interaction is
// decided for the principal its context carries (access.From), and a
// context without one is refused. Services that write for themselves
// (feeds, the person index) give their contexts access.SystemPrincipal.
func (s *Service) SetAccess(p *access.Policy) {
	s.guard.policy.Store(p)
	if !s.guard.hooked.Swap(true) {
		s.OnCommit(func(_ context.Context, written []store.Resource) { s.guard.cache.invalidate(written) })
	}
}

// Policy returns the access policy, nil when access control is off.
func (s *Service) Policy() *access.Policy { return s.guard.policy.Load() }

type noSyncKey struct{}

// principal returns the policy and the principal; a nil policy means
// access control is off.
func (s *Service) principal(ctx context.Context) (*access.Policy, *access.Principal, error) {
	p := s.guard.policy.Load()
	if p == nil {
		return nil, nil, nil
	}
	pr := access.From(ctx)
	if pr == nil || pr.Kind == access.Anonymous {
		return p, nil, fhir.E(fhir.Unauthorized, "sign in to use the shared record")
	}
	if pr.Kind == access.PatientUser && pr.NHSNumber != "" && pr.FHIRUser == "" && pr.Patient == "" {
		own, err := s.ownByNHSNumber(ctx, pr.NHSNumber)
		if err != nil {
			return p, nil, err
		}
		// The policy's own-record rule for a patient without fhirUser: the
		// principal's Patient, and the person's other records through the
		// person index (Facts). A copy, so the caller's principal is
		// never changed.
		cp := *pr
		cp.Patient = own
		pr = &cp
	}
	return p, pr, nil
}

// ownByNHSNumber finds the record of a patient principal known only by
// NHS number (NHS login): the Patient carrying the number as an
// identifier of system https://fhir.nhs.uk/Id/nhs-number; of several (the
// same person registered twice, linked by the person index), the least
// id, so the choice is stable. None is a refusal: nobody else's record is
// ever guessed at.
func (s *Service) ownByNHSNumber(ctx context.Context, nhs string) (string, error) {
	r, err := s.Search(internal(ctx), SearchRequest{Type: "Patient", Params: url.Values{
		"identifier": {mpi.NHSNumberSystem + "|" + nhs}, "_count": {"100"}, "_elements": {"id"}}})
	if err != nil {
		return "", err
	}
	var own string
	for _, m := range r.Matches {
		if m.Type == "Patient" && (own == "" || m.ID < own) {
			own = m.ID
		}
	}
	if own == "" {
		return "", fhir.E(fhir.Forbidden, "no record with your NHS number")
	}
	return own, nil
}

var permNames = map[access.Perm]string{access.Create: "create", access.Read: "read", access.Update: "update", access.Delete: "delete", access.Search: "search"}

// allowType refuses unless pr's role and scopes allow perm on typ.
func allowType(p *access.Policy, pr *access.Principal, typ string, perm access.Perm) error {
	if p.TypePerms(pr, typ)&perm == perm {
		return nil
	}
	who := "the role " + string(pr.Role)
	if pr.Role == "" {
		who = "a principal without a recognised role"
	}
	if !pr.Unscoped && (&access.Policy{}).TypePerms(&access.Principal{Kind: pr.Kind, Role: pr.Role, Unscoped: true}, typ)&perm == perm {
		who = "the token's scopes"
	}
	return fhir.E(fhir.Forbidden, "%s may not %s %s", who, permNames[perm], typ)
}

// decidePerson decides pr's access to the record Patient id is in.
func (s *Service) decidePerson(ctx context.Context, p *access.Policy, pr *access.Principal, id string) (access.Decision, error) {
	note := access.NoteFrom(ctx)
	note.Patient(id)
	if pr.Kind == access.System {
		d := access.Decision{Allowed: true, Unseal: true, Why: "system", Purpose: pr.Purpose}
		if d.Purpose == "" {
			d.Purpose = "TREAT"
		}
		note.Decision(d)
		return d, nil
	}
	f, err := s.Facts(ctx, id)
	if err != nil {
		return access.Decision{}, err
	}
	d := p.Person(pr, f)
	note.Decision(d)
	return d, nil
}

// typeRefusal is the error for a type outside a decision's type limit
// (the person shared only some types with the principal's organisation).
func typeRefusal(d access.Decision) error {
	return fhir.E(fhir.Forbidden, "the person shared only %s with your organisation (%s)", strings.Join(d.Types, ", "), d.Why)
}

// refusal is the error for a refused person-level decision.
func personRefusal(d access.Decision) error {
	msg := "access to this record is refused: " + d.Why
	if d.CanBreakGlass {
		msg += "; in an emergency, for safeguarding or for direct care not yet recorded, open it with $break-glass and a reason (the access is reviewed and the patient can see it)"
	}
	return fhir.E(fhir.Forbidden, "%s", msg)
}

// decideResource decides pr's access to a resource of typ owned by
// patientKey: directory resources are open to every role that may read
// the type; a Patient's demographics to every professional who may (to
// find a person); everything in a person's record needs the person-level
// decision.
func (s *Service) decideResource(ctx context.Context, p *access.Policy, pr *access.Principal, typ, patientKey string) (access.Decision, error) {
	if !access.InRecord(typ) {
		return access.Decision{Allowed: true, Unseal: true}, nil
	}
	if patientKey == "" {
		if pr.Kind == access.System {
			return access.Decision{Allowed: true, Unseal: true}, nil
		}
		return access.Decision{Why: "the item is in no person's record"}, nil
	}
	if typ == "Patient" && pr.Kind == access.User && !p.PatientScoped(pr, typ) {
		access.NoteFrom(ctx).Patient(patientKey)
		return access.Decision{Allowed: true, Why: "demographics", Purpose: "TREAT"}, nil
	}
	return s.decidePerson(ctx, p, pr, patientKey)
}

var confidentiality = []byte(access.SysConfidentiality)

// itemMeta is the part of a resource the item rules read.
type itemMeta struct {
	Meta struct {
		Security []struct{ System, Code string } `json:"security"`
		Tag      []struct{ System, Code string } `json:"tag"`
	} `json:"meta"`
}

// visible applies the item rules of d to one stored version: sealed
// items, items outside the social care view, other organisations'
// items under dissent, items withheld from the patient's view.
func visible(pr *access.Principal, d access.Decision, r *store.Resource) bool {
	if len(r.Body) == 0 {
		return true
	}
	social := d.SocialOnly && !access.SocialView(r.Type)
	own := d.OwnOrgOnly && r.Type != "Patient"
	if !social && !own && !d.WithholdFromPatient && (d.Unseal || !bytes.Contains(r.Body, confidentiality)) {
		return true // nothing to read in meta (the common case: no security label)
	}
	var m itemMeta
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return false
	}
	tagged := func(system, code string) bool {
		for _, t := range m.Meta.Tag {
			if t.System == system && t.Code == code {
				return true
			}
		}
		return false
	}
	fromOrg := pr.Org != "" && tagged(access.SysODS, pr.Org)
	if !d.Unseal && !fromOrg {
		for _, sc := range m.Meta.Security {
			if sc.System == access.SysConfidentiality && (sc.Code == "R" || sc.Code == "V") {
				return false
			}
		}
	}
	if own && !fromOrg {
		return false
	}
	if social && !tagged(access.SysShareWith, "social-care") {
		return false
	}
	if d.WithholdFromPatient && tagged(access.SysPatientView, "withhold") {
		return false
	}
	return true
}

// guardRead refuses a read of r (perm Read, or Search for a match) unless
// pr may see it, and notes it for the audit.
func (s *Service) guardRead(ctx context.Context, r *store.Resource) error {
	p, pr, err := s.principal(ctx)
	if p == nil || r == nil {
		return err
	}
	if err != nil {
		return err
	}
	if err := allowType(p, pr, r.Type, access.Read); err != nil {
		return err
	}
	if officerTask(pr, r.Type, r.Body) {
		access.NoteFrom(ctx).Patient(r.PatientKey)
		access.NoteFrom(ctx).Entity(r.Type + "/" + r.ID + "/_history/" + itoa(r.Version))
		return nil
	}
	d, err := s.decideResource(ctx, p, pr, r.Type, r.PatientKey)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return personRefusal(d)
	}
	if !d.TypeAllowed(r.Type) {
		return typeRefusal(d)
	}
	if !visible(pr, d, r) {
		access.NoteFrom(ctx).Withheld(1)
		return fhir.E(fhir.Forbidden, "this item is withheld from you (sealed, or not shared with your organisation or role)")
	}
	access.NoteFrom(ctx).Entity(r.Type + "/" + r.ID + "/_history/" + itoa(r.Version))
	return nil
}

// guardWrite refuses a write unless pr may make it: perm on the type, and
// the person-level decision on the record it leaves (and, for a change,
// the record it was in, whose current version pr must be able to see).
func (s *Service) guardWrite(ctx context.Context, e *entry, cur *store.Resource, exists bool, patientKey string) error {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil {
		return err
	}
	perm := map[string]access.Perm{"POST": access.Create, "PUT": access.Update, "PATCH": access.Update, "DELETE": access.Delete}[e.method]
	if e.method == "PUT" && !exists {
		perm = access.Create
	}
	if err := allowType(p, pr, e.typ, perm); err != nil {
		return err
	}
	if err := platformItems(pr, e, cur, exists); err != nil {
		return err
	}
	if pr.Kind == access.System || !access.InRecord(e.typ) || (exists && officerReview(pr, e, cur, patientKey)) {
		access.NoteFrom(ctx).Patient(patientKey)
		return nil
	}
	ctx = context.WithValue(ctx, noSyncKey{}, true) // inside the write: the person index must not be waited for
	keys := []string{patientKey}
	if cur != nil && cur.PatientKey != patientKey {
		keys = append(keys, cur.PatientKey)
	}
	for _, k := range keys {
		if k == "" && e.method == "DELETE" {
			continue
		}
		if e.typ == "Patient" && !exists && k == e.id && pr.Kind == access.User {
			// Registering a new person: nobody has a relationship yet.
			access.NoteFrom(ctx).Patient(k)
			continue
		}
		d, ok := e.approved[k]
		if !ok {
			var err error
			if d, err = s.decideWrite(ctx, p, pr, e.typ, k); err != nil {
				return err
			}
		}
		if !d.Allowed {
			if k == "" {
				return fhir.E(fhir.Forbidden, "an entry written by a person must belong to a person's record (give it a subject or patient)")
			}
			return personRefusal(d)
		}
		if d.ReadOnly {
			return fhir.E(fhir.Forbidden, "you may read this record but not change it (%s)", d.Why)
		}
		if !d.TypeAllowed(e.typ) {
			return typeRefusal(d)
		}
		if cur != nil && exists && !visible(pr, d, cur) {
			return fhir.E(fhir.Forbidden, "this item is withheld from you, so you may not change it")
		}
	}
	return nil
}

// guardConditional refuses conditional interactions (If-None-Exist,
// conditional update, patch and delete, conditional references) to all
// but systems: their criteria run over everyone's records, and what they
// find (one match, none, several) would tell a person about records they
// may not open. Feeds and integration engines, which use them, are
// systems.
func (s *Service) guardConditional(ctx context.Context) error {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil {
		return err
	}
	if pr.Kind != access.System {
		return fhir.E(fhir.Forbidden, "conditional interactions and references are for systems: name the resource by id")
	}
	return nil
}

// decideWrite is decideResource for a change: demographics open to every
// professional for reading are not theirs to change without a
// relationship with the person.
func (s *Service) decideWrite(ctx context.Context, p *access.Policy, pr *access.Principal, typ, patientKey string) (access.Decision, error) {
	if typ == "Patient" && patientKey != "" && pr.Kind == access.User {
		return s.decidePerson(ctx, p, pr, patientKey)
	}
	return s.decideResource(ctx, p, pr, typ, patientKey)
}

// preapprove decides a single write before its transaction where the
// record it touches is already known, so the single writer does not wait
// on the lookups a decision may need.
func (s *Service) preapprove(ctx context.Context, e *entry) error {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil {
		return err
	}
	if pr.Kind == access.System || !access.InRecord(e.typ) {
		return nil
	}
	var keys []string
	if e.prep != nil {
		keys = append(keys, e.prep.patientKey)
	}
	if e.id != "" && e.cond == "" && e.method != "POST" {
		if cur, err := s.Store.Read(ctx, e.typ, e.id); err == nil {
			if officerReview(pr, e, cur, cur.PatientKey) {
				return nil // decided in the transaction (guardWrite)
			}
			keys = append(keys, cur.PatientKey)
		}
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		if e.typ == "Patient" && k == e.id && pr.Kind == access.User {
			continue // decided in the transaction, where it is known whether it exists
		}
		d, err := s.decideWrite(ctx, p, pr, e.typ, k)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return personRefusal(d)
		}
		if d.ReadOnly {
			return fhir.E(fhir.Forbidden, "you may read this record but not change it (%s)", d.Why)
		}
		if e.approved == nil {
			e.approved = map[string]access.Decision{}
		}
		e.approved[k] = d
	}
	return nil
}

// officerReview reports whether e is a privacy officer closing a review
// in their queue: an update (not a delete) of a queue Task (a break-glass
// review, a person's access query) that stays the same kind of queue Task
// about the same person. The officer reads and closes these whoever's
// record they are in; nothing else of the record is theirs to write.
func officerReview(pr *access.Principal, e *entry, cur *store.Resource, patientKey string) bool {
	if cur == nil || e.method == "DELETE" || !officerTask(pr, e.typ, cur.Body) || cur.PatientKey != patientKey {
		return false
	}
	next := e.obj
	if e.method == "PATCH" {
		if e.patched == nil {
			return true // before the patch runs: its result is checked again in guardWrite, with its patient key
		}
		next = e.patched
	}
	curObj, err := fhir.DecodeResource(cur.Body)
	return err == nil && queueKind(next) == queueKind(curObj)
}

// platformItems refuses, to all but systems, the writes that would forge
// what the platform itself records: a break-glass review (which would
// open the record to whoever it names), a Task in the privacy officer's
// queue other than a person's query about their own record, and (to
// professionals) a person's share of their record with an organisation,
// which only the person or their delegate chooses.
func platformItems(pr *access.Principal, e *entry, cur *store.Resource, exists bool) error {
	if pr.Kind == access.System {
		return nil
	}
	var bodies []fhir.Object
	if e.obj != nil {
		bodies = append(bodies, e.obj)
	} else if e.patched != nil {
		bodies = append(bodies, e.patched)
	}
	if exists && cur != nil && len(cur.Body) > 0 {
		if obj, err := fhir.DecodeResource(cur.Body); err == nil {
			bodies = append(bodies, obj)
		}
	}
	for i, obj := range bodies {
		switch e.typ {
		case "Task":
			if officerReviewing(pr) {
				continue // officerReview decides (and nothing else is the officer's to write)
			}
			kind, tagged := queueKind(obj), hasTag(obj, access.SysPrivacyReview, access.ReviewTag)
			if kind == "break-glass" {
				return fhir.E(fhir.Forbidden, "break-glass reviews are written by $break-glass only")
			}
			if kind == "" && !tagged {
				continue
			}
			if pr.Kind != access.PatientUser || kind != access.AccessQueryCode {
				return fhir.E(fhir.Forbidden, "the privacy officer's queue takes break-glass reviews and people's queries about accesses to their own record, nothing else")
			}
			if i > 0 || e.method != "POST" && !(e.method == "PUT" && !exists) {
				return fhir.E(fhir.Forbidden, "a query to the privacy officer, once sent, is theirs to answer: send another to add to it")
			}
		case "Consent":
			if pr.Kind != access.PatientUser && orgShareConsent(obj) {
				return fhir.E(fhir.Forbidden, "a share of a person's record with an organisation is the person's own choice (or their delegate's): only they may make or change it")
			}
		}
	}
	return nil
}

func officerReviewing(pr *access.Principal) bool {
	return pr.Kind == access.User && pr.Role == access.RolePrivacyOfficer
}

func orgShareConsent(obj fhir.Object) bool {
	for _, cat := range arrOf(obj["category"]) {
		for _, c := range arrOf(mapOf(cat)["coding"]) {
			cm := mapOf(c)
			if strOf(cm["system"]) == access.SysConsentKind && strOf(cm["code"]) == access.ConsentOrgShare {
				return true
			}
		}
	}
	return false
}

func hasTag(obj fhir.Object, system, code string) bool {
	for _, t := range arrOf(mapOf(obj["meta"])["tag"]) {
		tm := mapOf(t)
		if strOf(tm["system"]) == system && strOf(tm["code"]) == code {
			return true
		}
	}
	return false
}

// maxAnchors bounds the people one search may name (a chained name
// search that finds more must be narrowed).
const maxAnchors = 50

// guardSearch narrows a search to what the principal may see: it refuses
// types the role or scopes do not allow, _has (which would reveal facts
// about anyone), and searches of people's records that do not name whose
// record; it adds the filters that keep to the allowed people's records
// and hold back withheld items.
func (s *Service) guardSearch(ctx context.Context, req *SearchRequest, q *search.Query, sq *store.SearchQuery, res *SearchResult) ([]access.Decision, error) {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil {
		return nil, err
	}
	types := sq.Types
	wholeCompartment := req.Compartment != "" && len(sq.Types) == 0
	if len(types) == 0 && req.Compartment != "" {
		types = fhirdef.PatientCompartmentTypes()
		if !slices.Contains(types, "Patient") {
			types = append(types, "Patient")
		}
	}
	if len(types) == 0 {
		if pr.Kind == access.System && p.TypePerms(pr, "*") != 0 {
			return nil, nil
		}
		return nil, fhir.E(fhir.Forbidden, "a search across every type is refused: name the types with _type")
	}
	var recordTypes []string
	for _, t := range types {
		if p.TypePerms(pr, t)&access.Search == 0 {
			if req.Compartment != "" && len(sq.Types) == 0 {
				continue // a whole-compartment search leaves out what the role may not see
			}
			return nil, allowType(p, pr, t, access.Search)
		}
		if access.InRecord(t) {
			recordTypes = append(recordTypes, t)
		}
	}
	if req.Compartment != "" && len(sq.Types) == 0 {
		sq.Types = nil
		for _, t := range types {
			if p.TypePerms(pr, t)&access.Search != 0 {
				sq.Types = append(sq.Types, t)
			}
		}
		if len(sq.Types) == 0 {
			return nil, fhir.E(fhir.Forbidden, "the role %s may not search a person's record", pr.Role)
		}
	}
	if pr.Kind == access.System {
		return nil, nil
	}
	for _, c := range q.Clauses {
		if c.Has != nil {
			return nil, fhir.E(fhir.Forbidden, "_has is available to systems only: it would reveal facts about people whose records you may not open")
		}
	}
	if len(recordTypes) == 0 {
		return nil, nil
	}
	if pr.Role == access.RolePrivacyOfficer && len(recordTypes) == 1 && recordTypes[0] == "Task" && req.Compartment == "" {
		// The privacy officer's queue, across everyone's records: Tasks
		// tagged for review, and break-glass reviews written before the
		// tag. Each match is checked again (officerTask).
		sq.Filters = append(sq.Filters, store.Filter{Require: []store.TokenRef{
			{Param: "_tag", System: access.SysPrivacyReview, Code: access.ReviewTag},
			{Param: "code", System: access.SysBreakGlass, Code: "break-glass"},
		}})
		return nil, nil
	}
	// Whose records does the search name?
	clinical := slices.ContainsFunc(recordTypes, func(t string) bool { return t != "Patient" })
	var anchors []string
	// named are the people the request names outright (a reference, an
	// id, a compartment): refusing any of them refuses the request.
	// People a chain finds (patient.name=…) are only left out.
	named := map[string]bool{}
	if req.Compartment != "" {
		anchors = append(append(anchors, req.Compartment), req.linked...)
		named[req.Compartment] = true
	}
	for _, c := range sq.Clauses {
		ids, explicit, err := s.anchorsOf(ctx, c, recordTypes)
		if err != nil {
			return nil, err
		}
		anchors = append(anchors, ids...)
		for _, id := range ids {
			if explicit {
				named[id] = true
			}
		}
	}
	if pr.Kind == access.PatientUser {
		own, err := s.ownPatients(ctx, pr)
		if err != nil {
			return nil, err
		}
		anchors = append(anchors, own...)
	} else if pr.Kind == access.User && p.PatientScoped(pr, recordTypes[0]) && pr.Patient != "" {
		anchors = append(anchors, pr.Patient)
	}
	if len(anchors) == 0 {
		if inbox, err := inboxSearch(p, pr, q, recordTypes, req.Compartment); err != nil {
			return nil, err
		} else if inbox {
			// The organisation's inbox, across the people it is addressed
			// about: only what is addressed to the user's organisation,
			// sealed items withheld as anywhere else.
			sq.Filters = append(sq.Filters,
				store.Filter{Types: recordTypes, Require: []store.TokenRef{{Param: "_tag", System: access.SysAddressedTo, Code: pr.Org}}},
				sealedFilter(pr, recordTypes))
			return nil, nil
		}
		if !clinical && pr.Kind == access.User {
			// Finding a person by demographics.
			sq.Filters = append(sq.Filters, sealedFilter(pr, []string{"Patient"}))
			return nil, nil
		}
		return nil, fhir.E(fhir.Forbidden, "a search of people's records must say whose: add patient= (or subject=), or search within Patient/[id]")
	}
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	if len(anchors) > maxAnchors {
		return nil, fhir.E(fhir.Forbidden, "the search names more than %d people; narrow it", maxAnchors)
	}
	var owners, sealedBy []string
	withheldFromPatient := false
	var decisions []access.Decision
	var lastRefusal access.Decision
	done := map[string]bool{}
	for _, a := range anchors {
		if done[a] {
			continue
		}
		d, err := s.decidePerson(ctx, p, pr, a)
		if err != nil {
			return nil, err
		}
		f, err := s.Facts(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, id := range f.Patients {
			done[id] = true
		}
		sealedBy = append(sealedBy, f.SealedBy...)
		if d.Allowed && d.WithholdFromPatient && f.WithheldFromPatient {
			withheldFromPatient = true
		}
		if !d.Allowed {
			if named[a] {
				return nil, personRefusal(d)
			}
			lastRefusal = d
			continue
		}
		owners = append(owners, f.Patients...)
		decisions = append(decisions, d)
	}
	if len(owners) == 0 {
		return nil, personRefusal(lastRefusal)
	}
	if pr.Kind == access.User && !clinical {
		// Demographics only: the Patients named, findable as usual.
		sq.Filters = append(sq.Filters, sealedFilter(pr, []string{"Patient"}))
		return decisions, nil
	}
	slices.Sort(owners)
	owners = slices.Compact(owners)
	strict := strictest(decisions)
	if strict.Types != nil {
		// A share of some types only: a whole record is narrowed to them
		// (and the person's demographics); naming another type is refused.
		kept := recordTypes[:0:0]
		for _, t := range recordTypes {
			if strict.TypeAllowed(t) || t == "Patient" && pr.Kind == access.User {
				kept = append(kept, t)
			} else if !wholeCompartment {
				return nil, typeRefusal(strict)
			}
		}
		if len(kept) == 0 {
			return nil, typeRefusal(strict)
		}
		if wholeCompartment {
			sq.Types = slices.DeleteFunc(sq.Types, func(t string) bool { return access.InRecord(t) && !slices.Contains(kept, t) })
		}
		recordTypes = kept
	}
	sq.Filters = append(sq.Filters, store.Filter{Types: recordTypes, Restrict: true, Owners: owners})
	if !strict.Unseal {
		sq.Filters = append(sq.Filters, sealedFilter(pr, recordTypes))
	}
	nonPatient := slices.DeleteFunc(slices.Clone(recordTypes), func(t string) bool { return t == "Patient" })
	if strict.OwnOrgOnly && len(nonPatient) > 0 {
		sq.Filters = append(sq.Filters, store.Filter{Types: nonPatient, Require: []store.TokenRef{odsTag(pr.Org)}})
		res.Warnings = append(res.Warnings, "the person asked that their record not be shared: only your organisation's own entries are shown")
	}
	if strict.SocialOnly {
		var outside []string
		for _, t := range recordTypes {
			if !access.SocialView(t) {
				outside = append(outside, t)
			}
		}
		if len(outside) > 0 {
			sq.Filters = append(sq.Filters, store.Filter{Types: outside, Require: []store.TokenRef{{Param: "_tag", System: access.SysShareWith, Code: "social-care"}}})
		}
	}
	if strict.WithholdFromPatient {
		sq.Filters = append(sq.Filters, store.Filter{Types: recordTypes, Withhold: []store.TokenRef{{Param: "_tag", System: access.SysPatientView, Code: "withhold"}}})
		if withheldFromPatient {
			// Said of the record (from the facts), not of the search.
			res.Warnings = append(res.Warnings, "some information (for example a result not yet discussed with you) is not yet available here: the person who looks after you will discuss it with you")
		}
	}
	// A delegate is not told that sealed items exist: that alone would
	// say something of the person they act for.
	if !strict.Unseal && pr.Kind != access.PatientUser && slices.ContainsFunc(sealedBy, func(org string) bool { return org != pr.Org || org == "" }) {
		// Said of the record, not of the search: what is withheld, and
		// whether it would have matched, stays unsaid.
		access.NoteFrom(ctx).Withheld(1)
		res.Warnings = append(res.Warnings, "some items in this record are withheld from you (sealed by the organisation that recorded them)")
	}
	return decisions, nil
}

// inboxSearch reports whether a search that names nobody's record is an
// organisation's inbox: a professional with access to care records
// searching only Communication or only Task with
// _tag=SysAddressedTo|<their organisation>. Naming another organisation
// is refused.
func inboxSearch(p *access.Policy, pr *access.Principal, q *search.Query, types []string, compartment string) (bool, error) {
	if pr.Kind != access.User || compartment != "" || len(types) != 1 || (types[0] != "Communication" && types[0] != "Task") {
		return false, nil
	}
	asked := false
	for _, c := range q.Clauses {
		if c.Param.Code != "_tag" {
			continue
		}
		for _, v := range c.Values {
			if v.Token == nil || v.Token.System != access.SysAddressedTo {
				continue
			}
			if c.Modifier != search.ModNone || pr.Org == "" || v.Token.Code != pr.Org {
				return false, fhir.E(fhir.Forbidden, "an inbox search is of what is addressed to your own organisation: _tag=%s|%s", access.SysAddressedTo, pr.Org)
			}
			asked = true
		}
	}
	if !asked {
		return false, nil
	}
	if !inboxRole(pr) || p.PatientScoped(pr, types[0]) {
		return false, fhir.E(fhir.Forbidden, "the role %s (or the token's scopes) gives no organisation inbox", pr.Role)
	}
	return true, nil
}

// inboxRole reports whether pr's role reads an organisation's inbox:
// those who give care.
func inboxRole(pr *access.Principal) bool {
	return pr.Kind == access.User && pr.Org != "" && (pr.Role.Clinical() || pr.Role == access.RoleSocialWorker)
}

// inboxItem reports whether r, a match of a search, is an item addressed
// to pr's organisation that pr reads in its inbox (inboxSearch), sealed
// items excepted: the inbox search's filters let only those through.
func inboxItem(pr *access.Principal, r *store.Resource) bool {
	if !inboxRole(pr) || (r.Type != "Communication" && r.Type != "Task") || !bytes.Contains(r.Body, []byte(access.SysAddressedTo)) {
		return false
	}
	var m itemMeta
	if json.Unmarshal(r.Body, &m) != nil {
		return false
	}
	for _, t := range m.Meta.Tag {
		if t.System == access.SysAddressedTo && t.Code == pr.Org {
			return visible(pr, access.Decision{}, r)
		}
	}
	return false
}

// strictest combines the decisions for several people into the one whose
// item rules hold for all.
func strictest(ds []access.Decision) access.Decision {
	out := access.Decision{Unseal: true}
	for _, d := range ds {
		if d.Types != nil {
			if out.Types == nil {
				out.Types, out.Why = slices.Clone(d.Types), d.Why
			} else {
				out.Types = slices.DeleteFunc(out.Types, func(t string) bool { return !slices.Contains(d.Types, t) })
			}
		}
		out.ReadOnly = out.ReadOnly || d.ReadOnly
		out.Unseal = out.Unseal && d.Unseal
		out.OwnOrgOnly = out.OwnOrgOnly || d.OwnOrgOnly
		out.SocialOnly = out.SocialOnly || d.SocialOnly
		out.WithholdFromPatient = out.WithholdFromPatient || d.WithholdFromPatient
	}
	return out
}

func odsTag(org string) store.TokenRef {
	return store.TokenRef{Param: "_tag", System: access.SysODS, Code: org}
}

// sealedFilter withholds restricted and very restricted items of types
// except those the principal's own organisation contributed.
func sealedFilter(pr *access.Principal, types []string) store.Filter {
	f := store.Filter{Types: types, Withhold: []store.TokenRef{
		{Param: "_security", System: access.SysConfidentiality, Code: "R"},
		{Param: "_security", System: access.SysConfidentiality, Code: "V"},
	}}
	if pr.Org != "" {
		f.Except = []store.TokenRef{odsTag(pr.Org)}
	}
	return f
}

// anchorsOf returns the Patient ids a clause confines a search to: a
// plain reference to a Patient through one of the types' compartment
// parameters (patient=, subject=Patient/…), _id on Patient, or a chain
// through such a parameter, which is run on Patients to find whom it
// names.
func (s *Service) anchorsOf(ctx context.Context, c *search.Clause, types []string) ([]string, bool, error) {
	if c.Has != nil || c.Param.Type == "" {
		return nil, false, nil
	}
	code := c.Param.Code
	onPatient := true
	for _, t := range types {
		if t == "Patient" && code == "_id" {
			continue
		}
		if !slices.Contains(fhirdef.PatientCompartmentParams(t), code) && !(code == "patient" && slices.Contains(c.Param.Target, "Patient")) {
			onPatient = false
		}
	}
	if !onPatient || c.Modifier == search.ModNot || c.Modifier == search.ModMissing || c.Modifier == search.ModIdentifier {
		return nil, false, nil
	}
	if code == "_id" {
		var ids []string
		for _, v := range c.Values {
			ids = append(ids, v.Raw)
		}
		return ids, true, nil
	}
	if c.Param.Type != "reference" || (c.TargetType != "" && c.TargetType != "Patient") {
		return nil, false, nil
	}
	if len(c.Chain) > 0 {
		// The chain's own parameters, run on Patients (as the system:
		// finding whom the search names is not reading their records).
		_, rest, _ := strings.Cut(c.Name, ".")
		vals := make([]string, 0, len(c.Chain[0].Values))
		for _, v := range c.Chain[0].Values {
			vals = append(vals, v.Raw)
		}
		r, err := s.Search(internal(ctx), SearchRequest{Type: "Patient", Params: url.Values{rest: {strings.Join(vals, ",")}, "_count": {itoa(maxAnchors + 1)}, "_elements": {"id"}}})
		if err != nil {
			return nil, false, err
		}
		ids := make([]string, 0, len(r.Matches))
		for _, m := range r.Matches {
			ids = append(ids, m.ID)
		}
		return ids, false, nil
	}
	var ids []string
	for _, v := range c.Values {
		if ref := v.Reference; ref != nil && ref.ID != "" && (ref.Type == "Patient" || ref.Type == "" && (c.TargetType == "Patient" || onlyPatient(c.Param))) {
			ids = append(ids, ref.ID)
		}
	}
	return ids, true, nil
}

func onlyPatient(p fhirdef.SearchParameter) bool {
	return len(p.Target) == 1 && p.Target[0] == "Patient"
}

// ownPatients returns the Patient ids whose records a patient principal
// may open: their own person's, and those of the people they are a
// delegate for.
func (s *Service) ownPatients(ctx context.Context, pr *access.Principal) ([]string, error) {
	var out []string
	typ, id, _ := strings.Cut(pr.FHIRUser, "/")
	switch {
	case typ == "Patient":
		out = append(out, id)
	case typ == "RelatedPerson":
		r, err := s.Store.Read(internal(ctx), "RelatedPerson", id)
		if err == nil && !r.Deleted && r.PatientKey != "" {
			out = append(out, r.PatientKey)
		}
	case pr.Patient != "":
		out = append(out, pr.Patient)
	}
	return out, nil
}

// filterIncluded drops the included resources pr may not see, and says
// that some were withheld.
func (s *Service) filterIncluded(ctx context.Context, res *SearchResult) error {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil || pr.Kind == access.System {
		return err
	}
	var n int
	res.Matches, n, err = s.keepVisible(ctx, p, pr, res.Matches, true)
	if err != nil {
		return err
	}
	if n > 0 {
		// The database filters should have kept these out: a bug, never a leak.
		s.log().ErrorContext(ctx, "access: search returned items the filters should have withheld", slog.Int("count", n))
	}
	res.Included, n, err = s.keepVisible(ctx, p, pr, res.Included, false)
	if err != nil {
		return err
	}
	if n > 0 {
		access.NoteFrom(ctx).Withheld(n)
		res.Warnings = append(res.Warnings, "some included items are withheld from you")
	}
	for _, r := range res.Matches {
		access.NoteFrom(ctx).Entity(r.Type + "/" + r.ID + "/_history/" + itoa(r.Version))
	}
	for _, r := range res.Included {
		access.NoteFrom(ctx).Entity(r.Type + "/" + r.ID + "/_history/" + itoa(r.Version))
	}
	return nil
}

// keepVisible returns the resources of rs pr may see and how many it
// left out, deciding once per person. matches says rs are a search's
// matches, among which items addressed to pr's organisation are its inbox.
func (s *Service) keepVisible(ctx context.Context, p *access.Policy, pr *access.Principal, rs []store.Resource, matches bool) ([]store.Resource, int, error) {
	decided := map[string]access.Decision{}
	out := rs[:0]
	n := 0
	for i := range rs {
		r := &rs[i]
		if p.TypePerms(pr, r.Type)&access.Read == 0 {
			n++
			continue
		}
		if officerTask(pr, r.Type, r.Body) || (matches && inboxItem(pr, r)) {
			out = append(out, *r)
			continue
		}
		key := r.Type + "\x00" + r.PatientKey
		if !access.InRecord(r.Type) {
			key = ""
		} else if r.Type != "Patient" {
			key = "\x00" + r.PatientKey
		}
		d, ok := decided[key]
		if !ok {
			var err error
			if d, err = s.decideResource(ctx, p, pr, r.Type, r.PatientKey); err != nil {
				return nil, 0, err
			}
			decided[key] = d
		}
		if !d.Allowed || !d.TypeAllowed(r.Type) || !visible(pr, d, r) {
			n++
			continue
		}
		out = append(out, *r)
	}
	return out, n, nil
}

// guardHistory refuses history that would cross people's records for a
// principal who is not a system, and checks an instance's record.
func (s *Service) guardHistory(ctx context.Context, typ, id string) (*access.Policy, *access.Principal, error) {
	p, pr, err := s.principal(ctx)
	if p == nil || err != nil {
		return p, pr, err
	}
	if typ == "" {
		if pr.Kind != access.System {
			return nil, nil, fhir.E(fhir.Forbidden, "the whole system's history is available to systems only")
		}
		return p, pr, nil
	}
	if err := allowType(p, pr, typ, access.Read); err != nil {
		return nil, nil, err
	}
	if id == "" && access.InRecord(typ) && pr.Kind != access.System {
		return nil, nil, fhir.E(fhir.Forbidden, "the history of every %s crosses people's records: open one record's history instead", typ)
	}
	return p, pr, nil
}

// filterVersions keeps the versions pr may see.
func (s *Service) filterVersions(ctx context.Context, p *access.Policy, pr *access.Principal, vs []store.Resource) ([]store.Resource, error) {
	if p == nil || pr.Kind == access.System {
		return vs, nil
	}
	out, n, err := s.keepVisible(ctx, p, pr, vs, false)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(out) == 0 {
		return nil, fhir.E(fhir.Forbidden, "this history is withheld from you")
	}
	for _, r := range out {
		access.NoteFrom(ctx).Entity(r.Type + "/" + r.ID + "/_history/" + itoa(r.Version))
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
