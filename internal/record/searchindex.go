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
// are being reindexed. Partial results would look complete.
func (s *Service) checkIndexed(ctx context.Context, q *search.Query, types []string) error {
	need := map[string]bool{}
	var walk func(c *search.Clause, typ []string)
	walk = func(c *search.Clause, typ []string) {
		switch {
		case c.Has != nil:
			add(need, typ)
			need[c.Has.Type] = true
			walk(c.Has.Clause, []string{c.Has.Type})
		case len(c.Chain) > 0:
			add(need, typ)
			for _, sub := range c.Chain {
				walk(sub, []string{sub.ResourceType})
			}
		case !everyScope[c.Param.Code]:
			add(need, typ)
			if c.Param.Code == "_list" {
				need["List"] = true
			}
		}
	}
	for _, c := range q.Clauses {
		walk(c, types)
	}
	for _, k := range q.Sort {
		if !everyScope[k.Code] {
			add(need, types)
		}
	}
	for _, in := range q.Include {
		need[in.Source] = true
	}
	for _, in := range q.RevInclude {
		need[in.Source] = true
	}
	if len(need) == 0 {
		return nil
	}
	if s.IndexScope != index.All {
		return fhir.E(fhir.Invalid, "this server indexes only identifiers and patient compartments (--search-index conditional): search by _id, identifier, _lastUpdated or compartment")
	}
	list := make([]string, 0, len(need))
	for t := range need {
		list = append(list, t)
	}
	return s.CheckIndexed(ctx, list...)
}

// add marks types as needed; none means every type (a system search).
func add(need map[string]bool, types []string) {
	if len(types) == 0 {
		types = fhirdef.ResourceTypes()
	}
	for _, t := range types {
		need[t] = true
	}
}
