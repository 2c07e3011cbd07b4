package record

import (
	"context"
	"math"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Everything is Patient/$everything: one page of the Patient's compartment
// (the Patient, then everything in it, by type and id), with the resources
// those refer to that belong to no other person (Practitioners,
// Organizations, Locations, Medications...) added to the page that first
// needs them. params may hold _since, _type, start and end (care dates:
// resources with a clinical date outside them are left out), _count and
// _page.
func (s *Service) Everything(ctx context.Context, id string, params url.Values) (*SearchResult, error) {
	patient, err := s.Read(ctx, "Patient", id)
	if err != nil {
		return nil, err
	}
	sp := url.Values{}
	var care *[2]int64
	for k, vs := range params {
		switch k {
		case "_count", "_page", "_type", "_elements", "_summary":
			sp[k] = vs
		case "_since":
			for _, v := range vs {
				if _, err := ParseInstant(v); err != nil {
					return nil, fhir.E(fhir.Invalid, "_since %q is not a FHIR instant", v)
				}
				sp.Add("_lastUpdated", "ge"+v)
			}
		case "start", "end":
			if len(vs) != 1 {
				return nil, fhir.E(fhir.Invalid, "$everything: %s may be given once", k)
			}
			lo, hi, ok := index.DateRange(vs[0], false)
			if !ok {
				return nil, fhir.E(fhir.Invalid, "$everything: %s %q is not a date", k, vs[0])
			}
			if care == nil {
				care = &[2]int64{math.MinInt64, math.MaxInt64}
			}
			if k == "start" {
				care[0] = lo
			} else {
				care[1] = hi
			}
		case "_format", "_pretty":
		default:
			return nil, fhir.E(fhir.Invalid, "$everything does not take the parameter %q", k)
		}
	}
	// A person's record is every organisation's: the compartments of all
	// the Patients the person index links to this one are searched too.
	var linked []string
	if fp := s.expander.f.Load(); fp != nil {
		s.syncPersons(ctx)
		for _, p := range (*fp)([]string{id}) {
			if p != id {
				linked = append(linked, p)
			}
		}
	}
	res, err := s.Search(ctx, SearchRequest{Compartment: id, linked: linked, Params: sp, Strict: true, care: care})
	if err != nil {
		return nil, err
	}
	res.LinkParams = url.Values{}
	for k, vs := range params {
		if k != "_page" && k != "_format" && k != "_pretty" {
			res.LinkParams[k] = vs
		}
	}
	// The Patient opens the first page, wherever its type sorts.
	ms := res.Matches[:0]
	for _, r := range res.Matches {
		if r.Type != "Patient" || r.ID != id {
			ms = append(ms, r)
		}
	}
	res.Matches = ms
	if params.Get("_page") == "" && typeWanted(params, "Patient") {
		res.Matches = append([]store.Resource{*patient}, res.Matches...)
	}
	keys := make([]store.Key, len(res.Matches))
	for i, r := range res.Matches {
		keys[i] = store.Key{Type: r.Type, ID: r.ID}
	}
	refs, err := s.Store.Include(ctx, store.IncludeQuery{Of: keys, Limit: MaxIncluded})
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		// Only what belongs to nobody: another person's record is not part
		// of this one's, whatever it refers to.
		if r.PatientKey == "" && r.Type != "Patient" {
			res.Included = append(res.Included, r)
		}
	}
	return res, nil
}

// typeWanted says whether _type (absent: every type) lets typ through.
func typeWanted(params url.Values, typ string) bool {
	vs := params["_type"]
	if len(vs) == 0 {
		return true
	}
	for _, v := range vs {
		for _, t := range strings.Split(v, ",") {
			if t == typ {
				return true
			}
		}
	}
	return false
}
