package record

import (
	"context"
	"net/url"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Everything is Patient/$everything: one page of the Patient's compartment
// (the Patient, then everything in it, by type and id), with the resources
// those refer to that belong to no other person (Practitioners,
// Organizations, Locations, Medications...) added to the page that first
// needs them. params may hold _since, _type, _count and _page.
func (s *Service) Everything(ctx context.Context, id string, params url.Values) (*SearchResult, error) {
	if _, err := s.Read(ctx, "Patient", id); err != nil {
		return nil, err
	}
	sp := url.Values{}
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
			return nil, fhir.E(fhir.NotSupported, "$everything: %s is not supported yet; use _since and _type", k)
		case "_format", "_pretty":
		default:
			return nil, fhir.E(fhir.Invalid, "$everything does not take the parameter %q", k)
		}
	}
	res, err := s.Search(ctx, SearchRequest{Compartment: id, Params: sp, Strict: true})
	if err != nil {
		return nil, err
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
