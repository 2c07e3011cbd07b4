package record

import (
	"context"
	"net/url"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// ParseCriteria turns the query of a conditional interaction
// ("identifier=http://x|123&birthdate=1970-01-01") into store criteria for
// typ. Any search parameter may be used, but strictly: an unknown
// parameter, or one that shapes results rather than selecting them
// (_sort, _include, _count...), is an error rather than ignored, because
// ignoring a criterion would make a conditional update hit the wrong
// resource. For the same reason criteria that need index rows still being
// rebuilt are refused.
func (s *Service) ParseCriteria(ctx context.Context, typ, query string) (store.Criteria, error) {
	return s.parseCriteria(ctx, typ, query, true)
}

// parseCriteria is ParseCriteria, with or without the conditional filter
// (SetConditionalFilter).
func (s *Service) parseCriteria(ctx context.Context, typ, query string, filtered bool) (store.Criteria, error) {
	c, q, err := s.criteriaOf(typ, query, filtered)
	if err != nil {
		return c, err
	}
	if err := s.checkIndexed(ctx, q, []string{typ}); err != nil {
		return c, err
	}
	return c, nil
}

// criteria parses conditional criteria without looking at the index.
func (s *Service) criteria(typ, query string) (store.Criteria, *search.Query, error) {
	return s.criteriaOf(typ, query, true)
}

func (s *Service) criteriaOf(typ, query string, filtered bool) (store.Criteria, *search.Query, error) {
	c := store.Criteria{Type: typ}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return c, nil, fhir.E(fhir.Invalid, "conditional criteria %q are not a valid query: %v", query, err)
	}
	if len(vals) > 0 && filtered {
		if f := s.expander.conditional.Load(); f != nil && f.typ == typ {
			vals[f.param] = append(vals[f.param], f.value)
		}
	}
	q, err := search.Parse(typ, vals, search.Options{Strict: true, Params: s.Definitions().Params()})
	if err != nil {
		return c, nil, err
	}
	if len(q.Clauses) == 0 {
		return c, nil, fhir.E(fhir.Invalid, "conditional criteria are empty")
	}
	if len(q.Sort) > 0 || q.Count != nil || q.Total != "" || q.Summary != "" || len(q.Elements) > 0 ||
		len(q.Include) > 0 || len(q.RevInclude) > 0 || q.Page != "" || q.Contained != "" {
		return c, nil, fhir.E(fhir.Invalid, "conditional criteria %q may only select resources; leave out _sort, _count, _include and the like", query)
	}
	c.Clauses = q.Clauses
	return c, q, nil
}
