package index

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// ExtractVersion numbers the extraction code. Bump it in any change that
// makes Compute give other rows for the same resource and definitions (a
// new encoding, a new kind of row, a fixed bug): stored rows then belong to
// an older generation and are rebuilt in the background at the next start.
const ExtractVersion = 2

// A generation names what a resource type's index rows were built with:
// ExtractVersion, the Scope and the search parameter definitions Compute
// evaluates for that type. The store records, per type, the generation its
// rows are complete at; when the running server's generation differs (an
// upgrade, another --search-index, later a custom SearchParameter), the
// type's rows are rebuilt. Definitions are hashed, not listed, so the
// generation is derived from the active definitions whatever their source:
// when custom SearchParameter resources arrive, hashing the set in force
// for the type is all this file needs.

// Generation returns a short, stable name for the rows Compute writes under
// scope with R4's parameters for every resource type.
func Generation(scope Scope) string { return R4().Generation(scope) }

// TypeGeneration returns the generation of rt's rows under scope with R4's
// parameters, or "" for a name that is not a resource type.
func TypeGeneration(scope Scope, rt string) string { return R4().Generations(scope)[rt] }

// Generations returns the generation of every resource type under scope
// with R4's parameters. The map is shared: do not modify it.
func Generations(scope Scope) map[string]string { return R4().Generations(scope) }

// Generation returns a short, stable name for the rows d's Compute writes
// under scope for every resource type: a change to any type's generation
// changes it. It is what status reports show; the store keeps each type's.
func (d *Definitions) Generation(scope Scope) string {
	gens := d.Generations(scope)
	types := make([]string, 0, len(gens))
	for t := range gens {
		types = append(types, t)
	}
	slices.Sort(types)
	h := sha256.New()
	for _, t := range types {
		fmt.Fprintf(h, "%s %s\n", t, gens[t])
	}
	return name(scope, h.Sum(nil))
}

// Generations returns the generation of every resource type under scope.
// The map is shared: do not modify it.
func (d *Definitions) Generations(scope Scope) map[string]string {
	return d.versions(scope).gens
}

// Serves reports whether the rows of rt built at generation built (by
// this process's definitions, now or earlier) answer the parameters codes
// as d's would: each was evaluated the same way there. It is what lets
// a type stay searchable by its other parameters while it is reindexed
// for a new one. An unknown generation serves nothing.
func (d *Definitions) Serves(scope Scope, rt, built string, codes []string) bool {
	v, ok := known.Load(built)
	if !ok || built == "" {
		return false
	}
	old := v.(map[string]string)
	now := d.versions(scope).sigs[rt]
	for _, c := range codes {
		if fromResourceTable[c] {
			continue
		}
		if sig, ok := now[c]; !ok || old[c] != sig {
			return false
		}
	}
	return true
}

// versions are the generations of a Definitions under one scope.
type versions struct {
	gens map[string]string            // by type
	sigs map[string]map[string]string // by type, then parameter code: what decides its rows
}

func (d *Definitions) versions(scope Scope) *versions {
	i := 0
	if scope == All {
		i = 1
	}
	d.versionsOnce[i].Do(func() {
		v := &versions{gens: map[string]string{}, sigs: map[string]map[string]string{}}
		for _, rt := range fhirdef.ResourceTypes() {
			g, sigs := typeGeneration(scope, rt, d.params.SearchParams(rt), fhirdef.PatientCompartmentParams(rt), d.params)
			v.gens[rt], v.sigs[rt] = g, sigs
			known.LoadOrStore(g, sigs)
		}
		d.vers[i] = v
	})
	return d.vers[i]
}

// known maps every type generation this process has computed to its
// parameters' signatures, for Serves.
var known sync.Map

// typeGeneration hashes what decides rt's rows: the parameters Compute
// evaluates under scope (code, type, expression, composite components)
// and the Patient compartment parameters in order (the first decides the
// patient key). Parameters are hashed whether or not their expression
// compiles: the set is what is stable, and a parameter that starts to
// compile is a change to ExtractVersion's code. It returns each
// parameter's own signature too.
func typeGeneration(scope Scope, rt string, params []fhirdef.SearchParameter, compart []string, ps *fhirdef.Params) (string, map[string]string) {
	h := sha256.New()
	head := fmt.Sprintf("extract %d\nscope %s\ntype %s\ncompartment %s\n", ExtractVersion, scopeName(scope), rt, strings.Join(compart, ","))
	h.Write([]byte(head))
	sigs := map[string]string{"_text": head, "_content": head}
	params = slices.Clone(params)
	slices.SortFunc(params, func(a, b fhirdef.SearchParameter) int { return strings.Compare(a.Code, b.Code) })
	var b strings.Builder
	for _, p := range params {
		if scope == Conditional && p.Code != "identifier" && !slices.Contains(compart, p.Code) {
			continue
		}
		b.Reset()
		fmt.Fprintf(&b, "param %s\t%s\t%s", p.Code, p.Type, strconv.Quote(p.Expression))
		for _, c := range p.Components {
			def, _ := ps.ByURL(c.Definition)
			fmt.Fprintf(&b, "\t%s=%s:%s", c.Definition, def.Type, strconv.Quote(c.Expression))
		}
		b.WriteByte('\n')
		h.Write([]byte(b.String()))
		sigs[p.Code] = head + b.String()
	}
	return name(scope, h.Sum(nil)), sigs
}

// name makes a generation readable in status reports: "1.all.3f9a2b1c0d4e".
func name(scope Scope, sum []byte) string {
	return strconv.Itoa(ExtractVersion) + "." + scopeName(scope) + "." + hex.EncodeToString(sum[:6])
}

func scopeName(scope Scope) string {
	if scope == All {
		return "all"
	}
	return "conditional"
}
