package index

import (
	"fmt"
	"sync"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/fhirpath"
)

// Definitions are a set of search parameters compiled for extraction:
// what Compute evaluates, and what the generations of its rows are named
// after. A server has one in force at a time; a custom SearchParameter
// makes another (New), and the types whose generation changed are
// reindexed. Definitions are immutable and safe for concurrent use.
type Definitions struct {
	params *fhirdef.Params
	base   *Definitions // whose plans are shared for the types with no custom parameter

	plansOnce sync.Once
	plans     map[string][]*param

	versionsOnce [2]sync.Once
	vers         [2]*versions
}

var r4 = sync.OnceValue(func() *Definitions { return &Definitions{params: fhirdef.R4Params()} })

// R4 returns the Definitions of R4's own search parameters.
func R4() *Definitions { return r4() }

// New compiles ps. Plans of the types ps leaves as R4 has them are R4's,
// so a custom parameter costs the compilation of its own types only.
func New(ps *fhirdef.Params) *Definitions {
	if ps == fhirdef.R4Params() {
		return R4()
	}
	return &Definitions{params: ps, base: R4()}
}

// Params returns the parameters d compiles.
func (d *Definitions) Params() *fhirdef.Params { return d.params }

func (d *Definitions) plansFor(rt string) []*param {
	d.plansOnce.Do(func() {
		if d.base == nil {
			d.plans = compilePlans(d.params, nil)
			return
		}
		own := compilePlans(d.params, d.params.CustomTypes())
		d.plans = make(map[string][]*param, len(fhirdef.ResourceTypes()))
		for _, t := range fhirdef.ResourceTypes() {
			if ps, ok := own[t]; ok {
				d.plans[t] = ps
			} else {
				d.plans[t] = d.base.plansFor(t)
			}
		}
	})
	return d.plans[rt]
}

// CheckParam reports why a search parameter could not be indexed: its
// type is not one the server indexes, its expression does not compile,
// or it selects nothing from any of its base types. nil means every base
// type it applies to has a plan.
func CheckParam(sp fhirdef.SearchParameter, ps *fhirdef.Params) error {
	switch sp.Type {
	case "number", "date", "string", "token", "reference", "quantity", "uri", "composite":
	case "special":
		return fmt.Errorf("special search parameters need code of their own; they cannot be added as resources")
	default:
		return fmt.Errorf("%q is not a search parameter type", sp.Type)
	}
	if sp.Expression == "" {
		return fmt.Errorf("an expression is needed: it says what the parameter indexes")
	}
	if _, err := fhirpath.Compile(sp.Expression); err != nil {
		return fmt.Errorf("the expression does not compile: %v", err)
	}
	if sp.Type == "composite" {
		if len(sp.Components) < 2 || len(sp.Components) > 3 {
			return fmt.Errorf("a composite parameter needs 2 or 3 components")
		}
		for _, c := range sp.Components {
			def, ok := ps.ByURL(c.Definition)
			if !ok {
				return fmt.Errorf("the component %s is not a search parameter this server knows", c.Definition)
			}
			if def.Type == "composite" || def.Type == "special" {
				return fmt.Errorf("the component %s is a %s parameter", c.Definition, def.Type)
			}
			if _, err := fhirpath.Compile(c.Expression); err != nil {
				return fmt.Errorf("the expression of component %s does not compile: %v", c.Definition, err)
			}
		}
	}
	for _, rt := range fhirdef.ResourceTypes() {
		if !appliesTo(sp.Base, rt) {
			continue
		}
		if compile(rt, sp, ps) == nil {
			return fmt.Errorf("the expression %q selects nothing from %s: it must start with the resource type (%s.…)", sp.Expression, rt, rt)
		}
	}
	return nil
}

func appliesTo(bases []string, rt string) bool {
	for _, b := range bases {
		if b == rt || b == "Resource" || b == "DomainResource" && fhirdef.Type(rt).Base == "DomainResource" {
			return true
		}
	}
	return false
}
