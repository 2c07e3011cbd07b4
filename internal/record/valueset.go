package record

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// maxExpansion caps the codes a ValueSet may expand to for :in.
const maxExpansion = 1000

// expandValueSets rewrites token :in and :not-in clauses (anywhere in
// chains and _has) into plain token OR lists, from ValueSets stored here
// that list their codes (an expansion, or compose.include with concepts).
// A ValueSet that needs a terminology service to expand (filters,
// whole code systems, imports) is refused rather than half-applied.
func (s *Service) expandValueSets(ctx context.Context, cs []*search.Clause) ([]*search.Clause, error) {
	out := make([]*search.Clause, len(cs))
	for i, c := range cs {
		// Rewritten clauses are copies: the parsed query stays as written,
		// for the self link.
		cc := *c
		if c.Has != nil {
			sub, err := s.expandValueSets(ctx, []*search.Clause{c.Has.Clause})
			if err != nil {
				return nil, err
			}
			h := *c.Has
			h.Clause = sub[0]
			cc.Has = &h
		}
		if len(c.Chain) > 0 {
			chain, err := s.expandValueSets(ctx, c.Chain)
			if err != nil {
				return nil, err
			}
			cc.Chain = chain
		}
		out[i] = &cc
		if c.Modifier != search.ModIn && c.Modifier != search.ModNotIn {
			continue
		}
		var vals []search.Value
		for _, v := range c.Values {
			codes, err := s.expand(ctx, c.Name, v.URI)
			if err != nil {
				return nil, err
			}
			for _, code := range codes {
				vals = append(vals, search.Value{Raw: code[0] + "|" + code[1], Token: &search.Token{System: code[0], Code: code[1], HasSystem: true}})
			}
		}
		if len(vals) > maxExpansion {
			return nil, fhir.E(fhir.Invalid, "%s: the value sets expand to %d codes, more than %d", c.Name, len(vals), maxExpansion)
		}
		if c.Modifier == search.ModNotIn {
			cc.Modifier = search.ModNot
		} else {
			cc.Modifier = search.ModNone
		}
		cc.Values = vals
		if len(vals) == 0 {
			// Nothing is in an empty value set: match nothing (:in) or
			// everything (:not-in) by a code no resource has (longer than
			// any indexed).
			cc.Values = []search.Value{{Token: &search.Token{Code: strings.Repeat("-", index.MaxTokenLen+1)}}}
		}
	}
	return out, nil
}

func (s *Service) expand(ctx context.Context, name, url string) ([][2]string, error) {
	sp, _ := fhirdef.SearchParam("ValueSet", "url")
	hits, err := s.Store.Search(ctx, store.SearchQuery{
		Types:   []string{"ValueSet"},
		Clauses: []*search.Clause{{Name: "url", ResourceType: "ValueSet", Param: sp, Values: []search.Value{{Raw: url, URI: url}}}},
		Limit:   2,
	})
	if err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		return nil, fhir.E(fhir.Invalid, "%s: no ValueSet %s is stored here, and this server has no terminology service", name, url)
	}
	var vs struct {
		Compose *struct {
			Include []struct {
				System   string                  `json:"system"`
				Concept  []struct{ Code string } `json:"concept"`
				Filter   []json.RawMessage       `json:"filter"`
				ValueSet []string                `json:"valueSet"`
			} `json:"include"`
			Exclude []json.RawMessage `json:"exclude"`
		} `json:"compose"`
		Expansion *struct {
			Contains []contains `json:"contains"`
		} `json:"expansion"`
	}
	if err := json.Unmarshal(hits[0].Body, &vs); err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "read ValueSet")
	}
	var out [][2]string
	if vs.Expansion != nil {
		var walk func([]contains)
		walk = func(cs []contains) {
			for _, c := range cs {
				if c.Code != "" && !c.Abstract {
					out = append(out, [2]string{c.System, c.Code})
				}
				walk(c.Contains)
			}
		}
		walk(vs.Expansion.Contains)
		return out, nil
	}
	if vs.Compose == nil || len(vs.Compose.Exclude) > 0 {
		return nil, fhir.E(fhir.Invalid, "%s: ValueSet %s cannot be expanded without a terminology service", name, url)
	}
	for _, in := range vs.Compose.Include {
		if len(in.Filter) > 0 || len(in.ValueSet) > 0 || len(in.Concept) == 0 {
			return nil, fhir.E(fhir.Invalid, "%s: ValueSet %s cannot be expanded without a terminology service (it includes filters, other value sets or whole code systems)", name, url)
		}
		for _, c := range in.Concept {
			out = append(out, [2]string{in.System, c.Code})
		}
	}
	return out, nil
}

type contains struct {
	System   string     `json:"system"`
	Code     string     `json:"code"`
	Abstract bool       `json:"abstract"`
	Contains []contains `json:"contains"`
}
