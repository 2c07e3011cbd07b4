package record

import (
	"context"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/search"
)

// everyScope are the parameters every index scope holds (or that are read
// from the resource table), which a search may use while the rest of the
// index is being rebuilt.
var everyScope = map[string]bool{"_id": true, "_lastUpdated": true, "identifier": true}

// checkIndexed refuses a search that needs index rows which are not there
// in full: under --search-index conditional, or while the types it reads
// are being reindexed for parameters it uses. Partial results would look
// complete.
func (s *Service) checkIndexed(ctx context.Context, q *search.Query, types []string) error {
	need := needs{}
	var walk func(c *search.Clause, typ []string)
	walk = func(c *search.Clause, typ []string) {
		switch {
		case c.Has != nil:
			need.add(typ, c.Has.Ref.Code)
			need.add([]string{c.Has.Type}, c.Has.Ref.Code)
			walk(c.Has.Clause, []string{c.Has.Type})
		case len(c.Chain) > 0:
			need.add(typ, c.Param.Code)
			for _, sub := range c.Chain {
				walk(sub, []string{sub.ResourceType})
			}
		case !everyScope[c.Param.Code]:
			need.add(typ, c.Param.Code)
			if c.Param.Code == "_list" {
				need.add([]string{"List"}, "item")
			}
		}
	}
	for _, c := range q.Clauses {
		walk(c, types)
	}
	for _, k := range q.Sort {
		if !everyScope[k.Code] {
			need.add(types, k.Code)
		}
	}
	for _, in := range q.Include {
		need.add([]string{in.Source}, in.Code)
	}
	for _, in := range q.RevInclude {
		need.add([]string{in.Source}, in.Code)
	}
	if len(need) == 0 {
		return nil
	}
	if s.IndexScope != index.All {
		return fhir.E(fhir.Invalid, "this server indexes only identifiers and patient compartments (--search-index conditional): search by _id, identifier, _lastUpdated or compartment")
	}
	return s.checkNeeds(ctx, need)
}

// needs are the parameter codes a search reads index rows of, by type; a
// code "*" stands for every parameter of the type (an _include:*).
type needs map[string]map[string]bool

// add marks code as needed on types; none means every type (a system
// search).
func (n needs) add(types []string, code string) {
	if len(types) == 0 {
		types = fhirdef.ResourceTypes()
	}
	if code == "" {
		code = "*"
	}
	for _, t := range types {
		if n[t] == nil {
			n[t] = map[string]bool{}
		}
		n[t][code] = true
	}
}
