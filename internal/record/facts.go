package record

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// factsTTL bounds how long gathered facts are reused. Commits that touch
// a person drop their facts at once (so a new Consent takes effect on the
// next request); the TTL only covers time passing (a recent encounter
// ageing out, a break-glass expiring is checked against the clock anyway).
const factsTTL = time.Minute

// factsCache holds what the access decision gathered per person, by each
// of the person's Patient ids, and each Organization's ODS codes.
type factsCache struct {
	mu    sync.Mutex
	gen   uint64
	facts map[string]factsEntry
	orgs  map[string][]string
}

type factsEntry struct {
	f  *access.Facts
	at time.Time
}

// invalidate drops what a commit may have changed.
func (c *factsCache) invalidate(written []store.Resource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range written {
		switch r.Type {
		case "Organization", "Patient":
			// A Patient write may relink the person index; an
			// Organization may change the hierarchy.
			c.facts, c.gen = nil, c.gen+1
			if r.Type == "Organization" {
				c.orgs = nil
			}
		default:
			if r.PatientKey == "" {
				continue
			}
			if e, ok := c.facts[r.PatientKey]; ok {
				for _, p := range e.f.Patients {
					delete(c.facts, p)
				}
				c.gen++
			}
		}
	}
}

var internalPrincipal = access.SystemPrincipal("sharedcare-access", "")

// internal returns ctx for lookups the server makes for itself: as the
// system, outside the request's audit note.
func internal(ctx context.Context) context.Context {
	return access.WithPrincipal(access.WithoutNote(ctx), internalPrincipal)
}

// Facts gathers (or recalls) what the record says about the person whose
// record Patient id is in: their other records, registration, care,
// sharing choices, break-glass grants and delegates.
func (s *Service) Facts(ctx context.Context, id string) (*access.Facts, error) {
	c := &s.guard.cache
	c.mu.Lock()
	if e, ok := c.facts[id]; ok && time.Since(e.at) < factsTTL {
		c.mu.Unlock()
		return e.f, nil
	}
	gen := c.gen
	c.mu.Unlock()
	f, err := s.gatherFacts(internal(ctx), id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.facts == nil {
			c.facts = map[string]factsEntry{}
		}
		for _, p := range f.Patients {
			c.facts[p] = factsEntry{f, time.Now()}
		}
	}
	c.mu.Unlock()
	return f, nil
}

func (s *Service) gatherFacts(ctx context.Context, id string) (*access.Facts, error) {
	f := &access.Facts{Patients: []string{id}}
	if fp := s.expander.f.Load(); fp != nil {
		s.syncPersons(ctx)
		for _, p := range (*fp)([]string{id}) {
			if p != id {
				f.Patients = append(f.Patients, p)
			}
		}
	}
	for _, p := range f.Patients {
		r, err := s.Store.Read(ctx, "Patient", p)
		if err != nil || r.Deleted {
			continue
		}
		obj, err := fhir.DecodeResource(r.Body)
		if err != nil {
			continue
		}
		for _, gp := range arrOf(obj["generalPractitioner"]) {
			if ref := refOf(gp); strings.HasPrefix(ref, "Organization/") {
				orgs, err := s.orgCodes(ctx, strings.TrimPrefix(ref, "Organization/"))
				if err != nil {
					return nil, err
				}
				if len(orgs) > 0 {
					f.GP = append(f.GP, orgs)
				}
			}
		}
	}
	now := s.Now()
	since := now.Add(-s.guard.policy.Load().RecentWindow()).UTC().Format(time.RFC3339)
	type lookup struct {
		typ    string
		params url.Values
	}
	lookups := []lookup{
		{"Encounter", url.Values{"date": {"ge" + since}}},
		{"EpisodeOfCare", url.Values{"date": {"ge" + since}}},
		{"ServiceRequest", url.Values{"status": {"active"}}},
		{"CareTeam", url.Values{"status": {"active"}}},
		{"Consent", url.Values{"status": {"active"}}},
		{"Task", url.Values{"code": {access.SysBreakGlass + "|break-glass"}}},
		{"RelatedPerson", url.Values{}},
	}
	latest := map[string]time.Time{}
	for _, l := range lookups {
		rs, err := s.compartmentAll(ctx, f.Patients, l.typ, l.params)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			obj, err := fhir.DecodeResource(r.Body)
			if err != nil {
				continue
			}
			if err := s.addFact(ctx, f, r, obj, latest); err != nil {
				return nil, err
			}
		}
	}
	sealed, err := s.Search(ctx, SearchRequest{Compartment: f.Patients[0], linked: f.Patients[1:], Params: url.Values{
		"_security": {access.SysConfidentiality + "|R," + access.SysConfidentiality + "|V"}, "_count": {"1000"}}})
	if err != nil {
		return nil, err
	}
	withheld, err := s.Search(ctx, SearchRequest{Compartment: f.Patients[0], linked: f.Patients[1:], Params: url.Values{
		"_tag": {access.SysPatientView + "|withhold"}, "_summary": {"count"}}})
	if err != nil {
		return nil, err
	}
	f.WithheldFromPatient = withheld.Total != nil && *withheld.Total > 0
	for _, r := range sealed.Matches {
		var m itemMeta
		if json.Unmarshal(r.Body, &m) != nil {
			continue
		}
		org := ""
		for _, t := range m.Meta.Tag {
			if t.System == access.SysODS {
				org = t.Code
			}
		}
		if !slices.Contains(f.SealedBy, org) {
			f.SealedBy = append(f.SealedBy, org)
		}
	}
	return f, nil
}

// maxFacts bounds the resources of one kind read for one decision.
const maxFacts = 1000

// compartmentAll returns the resources of typ in the compartments of
// patients matching params, up to maxFacts.
func (s *Service) compartmentAll(ctx context.Context, patients []string, typ string, params url.Values) ([]store.Resource, error) {
	p := url.Values{"_count": {"1000"}}
	for k, v := range params {
		p[k] = v
	}
	res, err := s.Search(ctx, SearchRequest{Type: typ, Compartment: patients[0], linked: patients[1:], Params: p})
	if err != nil {
		return nil, err
	}
	return res.Matches, nil
}

func (s *Service) addFact(ctx context.Context, f *access.Facts, r store.Resource, obj fhir.Object, latest map[string]time.Time) error {
	careOf := func(orgRefs []string, period any, open bool) (access.Care, error) {
		c := access.Care{Ref: r.Type + "/" + r.ID, Open: open}
		for _, ref := range orgRefs {
			if id, ok := strings.CutPrefix(ref, "Organization/"); ok {
				codes, err := s.orgCodes(ctx, id)
				if err != nil {
					return c, err
				}
				c.Orgs = append(c.Orgs, codes...)
			}
		}
		if pm, _ := period.(map[string]any); pm != nil {
			c.Start, _ = ParseInstant(strOf(pm["start"]))
			c.End, _ = ParseInstant(strOf(pm["end"]))
		}
		return c, nil
	}
	var err error
	var c access.Care
	switch r.Type {
	case "Encounter":
		st := strOf(obj["status"])
		if st == "cancelled" || st == "entered-in-error" {
			return nil
		}
		orgs := []string{refOf(obj["serviceProvider"])}
		c, err = careOf(orgs, obj["period"], st == "in-progress" || st == "arrived" || st == "triaged" || st == "onleave")
		f.Encounters = append(f.Encounters, c)
	case "EpisodeOfCare":
		st := strOf(obj["status"])
		if st == "cancelled" || st == "entered-in-error" {
			return nil
		}
		c, err = careOf([]string{refOf(obj["managingOrganization"])}, obj["period"], st == "active" || st == "waitlist" || st == "onhold")
		f.Episodes = append(f.Episodes, c)
	case "ServiceRequest":
		var orgs []string
		for _, p := range arrOf(obj["performer"]) {
			orgs = append(orgs, refOf(p))
		}
		c, err = careOf(orgs, nil, true)
		f.Referrals = append(f.Referrals, c)
	case "CareTeam":
		for _, p := range arrOf(obj["participant"]) {
			pm, _ := p.(map[string]any)
			ref := refOf(pm["member"])
			if id, ok := strings.CutPrefix(ref, "Organization/"); ok {
				codes, e := s.orgCodes(ctx, id)
				if e != nil {
					return e
				}
				if len(codes) > 0 {
					f.CareTeams = append(f.CareTeams, codes[0])
				}
				continue
			}
			if ref != "" {
				f.CareTeams = append(f.CareTeams, ref)
			}
		}
	case "Consent":
		access.ConsentFacts(obj, f, latest, r.LastUpdated)
	case "Task":
		g := grantOf(obj)
		if g.Who != "" {
			f.BreakGlass = append(f.BreakGlass, g)
		}
	case "RelatedPerson":
		if d, ok := access.DelegateOf(r.ID, obj); ok {
			f.Delegates = append(f.Delegates, d)
		}
	}
	return err
}

// orgCodes returns the ODS codes of Organization id and of the providers
// it is part of: a ward's trust counts as the ward. The climb stops at
// organisations that are not providers (an integrated care board), which
// would otherwise make everyone related to everyone.
func (s *Service) orgCodes(ctx context.Context, id string) ([]string, error) {
	c := &s.guard.cache
	c.mu.Lock()
	if codes, ok := c.orgs[id]; ok {
		c.mu.Unlock()
		return codes, nil
	}
	c.mu.Unlock()
	var codes []string
	cur := id
	for depth := 0; depth < 8 && cur != ""; depth++ {
		r, err := s.Store.Read(ctx, "Organization", cur)
		if err != nil || r.Deleted {
			break
		}
		obj, err := fhir.DecodeResource(r.Body)
		if err != nil {
			break
		}
		if depth > 0 && governance(obj) {
			break
		}
		for _, idf := range arrOf(obj["identifier"]) {
			im, _ := idf.(map[string]any)
			if strOf(im["system"]) == access.SysODS && strOf(im["value"]) != "" {
				codes = append(codes, strOf(im["value"]))
			}
		}
		cur, _ = strings.CutPrefix(refOf(obj["partOf"]), "Organization/")
	}
	c.mu.Lock()
	if c.orgs == nil {
		c.orgs = map[string][]string{}
	}
	c.orgs[id] = codes
	c.mu.Unlock()
	return codes, nil
}

// governance reports whether an Organization is typed as a government
// body (HL7 organization-type govt) rather than a care provider.
func governance(obj fhir.Object) bool {
	for _, t := range arrOf(obj["type"]) {
		tm, _ := t.(map[string]any)
		for _, c := range arrOf(tm["coding"]) {
			cm, _ := c.(map[string]any)
			if strOf(cm["code"]) == "govt" {
				return true
			}
		}
	}
	return false
}

// grantOf reads a break-glass Task (see BreakGlass).
func grantOf(obj fhir.Object) access.Grant {
	var g access.Grant
	if st := strOf(obj["status"]); st == "cancelled" || st == "entered-in-error" || st == "rejected" {
		return g
	}
	if id := strOf(obj["id"]); id != "" {
		g.TaskRef = "Task/" + id
	}
	req, _ := obj["requester"].(map[string]any)
	if idf, _ := req["identifier"].(map[string]any); idf != nil {
		g.Who = strOf(idf["value"])
	}
	for _, c := range arrOf(mapOf(obj["reasonCode"])["coding"]) {
		cm, _ := c.(map[string]any)
		if strOf(cm["system"]) == access.SysBreakGlass {
			g.Reason = strOf(cm["code"])
		}
	}
	g.Text = strOf(mapOf(obj["reasonCode"])["text"])
	if rs := mapOf(obj["restriction"]); rs != nil {
		g.Until, _ = ParseInstant(strOf(mapOf(rs["period"])["end"]))
	}
	for _, in := range arrOf(obj["input"]) {
		im, _ := in.(map[string]any)
		if strOf(mapOf(im["type"])["text"]) == "organization" {
			g.Org = strOf(im["valueString"])
		}
	}
	return g
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

func arrOf(v any) []any {
	a, _ := v.([]any)
	return a
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func refOf(v any) string {
	return strOf(mapOf(v)["reference"])
}
