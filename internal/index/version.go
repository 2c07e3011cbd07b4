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
// scope for every resource type: a change to any type's generation changes
// it. It is what status reports show; the store keeps TypeGeneration.
func Generation(scope Scope) string {
	gens := Generations(scope)
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

// TypeGeneration returns the generation of rt's rows under scope, or "" for
// a name that is not a resource type.
func TypeGeneration(scope Scope, rt string) string {
	return Generations(scope)[rt]
}

// Generations returns the generation of every resource type under scope.
// The map is shared: do not modify it.
func Generations(scope Scope) map[string]string {
	i := 0
	if scope == All {
		i = 1
	}
	generationsOnce[i].Do(func() {
		m := map[string]string{}
		byURL := map[string]fhirdef.SearchParameter{}
		for _, sp := range fhirdef.AllSearchParams() {
			byURL[sp.URL] = sp
		}
		for _, rt := range fhirdef.ResourceTypes() {
			m[rt] = typeGeneration(scope, rt, fhirdef.SearchParams(rt), fhirdef.PatientCompartmentParams(rt), byURL)
		}
		generations[i] = m
	})
	return generations[i]
}

var (
	generationsOnce [2]sync.Once
	generations     [2]map[string]string
)

// typeGeneration hashes what decides rt's rows: the parameters Compute
// evaluates under scope (code, type, expression, composite components)
// and the Patient compartment parameters in order (the first decides the
// patient key). Parameters are hashed whether or not their expression
// compiles: the set is what is stable, and a parameter that starts to
// compile is a change to ExtractVersion's code.
func typeGeneration(scope Scope, rt string, params []fhirdef.SearchParameter, compart []string, byURL map[string]fhirdef.SearchParameter) string {
	h := sha256.New()
	fmt.Fprintf(h, "extract %d\nscope %s\ntype %s\ncompartment %s\n", ExtractVersion, scopeName(scope), rt, strings.Join(compart, ","))
	params = slices.Clone(params)
	slices.SortFunc(params, func(a, b fhirdef.SearchParameter) int { return strings.Compare(a.Code, b.Code) })
	for _, p := range params {
		if scope == Conditional && p.Code != "identifier" && !slices.Contains(compart, p.Code) {
			continue
		}
		fmt.Fprintf(h, "param %s\t%s\t%s", p.Code, p.Type, strconv.Quote(p.Expression))
		for _, c := range p.Components {
			fmt.Fprintf(h, "\t%s=%s:%s", c.Definition, byURL[c.Definition].Type, strconv.Quote(c.Expression))
		}
		h.Write([]byte{'\n'})
	}
	return name(scope, h.Sum(nil))
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
