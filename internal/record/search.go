package record

import (
	"context"
	"net/url"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// SearchPage is one page of search results, ordered by id.
type SearchPage struct {
	Resources []*store.Resource
	Next      string // token for the next page ("_page"), "" on the last
	// Total is the number of matches, set for _summary=count.
	Total *int64
}

// maxCounted bounds a count that has to list matches to count them.
const maxCounted = 1_000_000

// resultParams are the search parameters that shape results rather than
// select them, and the ones that only concern the HTTP rendering.
var resultParams = map[string]bool{"_count": true, "_page": true, "_format": true, "_pretty": true, "_summary": true, "_elements": true}

// Search runs a type-level search. It supports the parameters the store
// can answer from its index today (_id and identifier, as for conditional
// interactions); an unsupported parameter is an error, never silently
// ignored, because ignoring it would return records the caller did not ask
// for.
func (s *Service) Search(ctx context.Context, typ string, params url.Values) (*SearchPage, error) {
	if err := s.CheckType(typ); err != nil {
		return nil, err
	}
	n, err := Count(params)
	if err != nil {
		return nil, err
	}
	crit := url.Values{}
	for k, vs := range params {
		if !resultParams[k] {
			crit[k] = vs
		}
	}
	c := store.Criteria{Type: typ}
	if len(crit) > 0 {
		if c, err = ParseCriteria(typ, crit.Encode()); err != nil {
			return nil, err
		}
	}
	if params.Get("_summary") == "count" {
		var n int64
		if len(crit) == 0 {
			n, err = s.Store.Count(ctx, typ)
		} else {
			var ids []string
			ids, err = s.Store.Find(ctx, c, maxCounted)
			n = int64(len(ids))
		}
		if err != nil {
			return nil, err
		}
		return &SearchPage{Total: &n}, nil
	}
	if tok := params.Get("_page"); tok != "" {
		b, err := decodePageID(tok)
		if err != nil {
			return nil, err
		}
		c.After = b
	}
	ids, err := s.Store.Find(ctx, c, n+1)
	if err != nil {
		return nil, err
	}
	page := &SearchPage{}
	if len(ids) > n {
		ids = ids[:n]
		page.Next = encodePageID(ids[n-1])
	}
	for _, id := range ids {
		r, err := s.Store.Read(ctx, typ, id)
		if err != nil {
			continue // deleted between the find and the read
		}
		if !r.Deleted {
			page.Resources = append(page.Resources, r)
		}
	}
	return page, nil
}

func encodePageID(id string) string { return "i" + id }

func decodePageID(tok string) (string, error) {
	if len(tok) < 2 || tok[0] != 'i' || !ValidID(tok[1:]) {
		return "", fhir.E(fhir.Invalid, "_page %q is not a page token this server issued", tok)
	}
	return tok[1:], nil
}
