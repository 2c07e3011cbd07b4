package index

import (
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/fhirpath"
)

// param is one search parameter compiled for one resource type.
type param struct {
	code string
	typ  string
	// parts are the alternatives of the expression's top-level union
	// ("Observation.code | Observation.component.code"), each evaluated
	// only when the resource has what it starts from; their values are
	// the union's, and the rows they give are de-duplicated.
	parts      []part
	components []component
	compart    int // 1 + its place among the type's Patient compartment parameters; 0 if not one
}

type part struct {
	expr *fhirpath.Expr
	// keys are member paths from the resource, one of which the resource
	// must have for the part to give a value; nil: always evaluate.
	keys []keyPath
}

type component struct {
	typ  string
	expr *fhirpath.Expr
}

// A keyPath is a chain of JSON members from the resource down
// (meta → tag); each step lists the names that satisfy it: one, or the
// JSON names of a choice element (valueQuantity, valueString, ...).
type keyPath [][]string

// maxKeyDepth bounds how deep keys look: deeper steps rarely rule out more
// and cost more to check.
const maxKeyDepth = 3

// fromResourceTable are the parameters the planner answers from the
// resource table (res_id, last_updated): rows for them would cost one per
// resource for nothing, and meta.lastUpdated as the client sent it is not
// the server's anyway.
var fromResourceTable = map[string]bool{"_id": true, "_lastUpdated": true}

// compilePlans compiles the parameters of ps for the types in types (nil:
// every resource type).
func compilePlans(ps *fhirdef.Params, types []string) map[string][]*param {
	if types == nil {
		types = fhirdef.ResourceTypes()
	}
	plans := make(map[string][]*param, len(types))
	for _, rt := range types {
		comp := map[string]int{}
		for i, c := range fhirdef.PatientCompartmentParams(rt) {
			comp[c] = i + 1
		}
		for _, sp := range ps.SearchParams(rt) {
			if sp.Expression == "" || sp.Type == "special" || fromResourceTable[sp.Code] {
				continue
			}
			if p := compile(rt, sp, ps); p != nil {
				p.compart = comp[sp.Code]
				plans[rt] = append(plans[rt], p)
			}
		}
	}
	return plans
}

// compile makes the plan of search parameter sp for type rt, nil when it
// has nothing for rt or cannot be compiled.
func compile(rt string, sp fhirdef.SearchParameter, ps *fhirdef.Params) *param {
	srcs := forType(sp.Expression, rt)
	if len(srcs) == 0 {
		return nil
	}
	p := &param{code: sp.Code, typ: sp.Type}
	var compKeys []keyPath // what a composite's components need, for a part that is the resource itself
	if sp.Type == "composite" {
		if len(sp.Components) == 0 || len(sp.Components) > 3 {
			return nil
		}
		for _, c := range sp.Components {
			def, found := ps.ByURL(c.Definition)
			cx, err := fhirpath.Compile(c.Expression)
			if !found || err != nil {
				return nil
			}
			p.components = append(p.components, component{typ: def.Type, expr: cx})
		}
		compKeys = componentKeys(sp.Components, rt)
	}
	for _, s := range srcs {
		x, err := fhirpath.Compile(s.src)
		if err != nil {
			return nil
		}
		keys := s.keys
		if s.self {
			keys = compKeys
		}
		p.parts = append(p.parts, part{expr: x, keys: keys})
	}
	return p
}

// componentKeys are the keys of a composite whose element is the resource
// itself ("Observation" for code-value-quantity): every component must
// have a value for a tuple, so the keys of one of them will do; the last
// is usually the value ("value.ofType(Quantity)").
func componentKeys(cs []fhirdef.SearchParamComponent, rt string) []keyPath {
	for i := len(cs) - 1; i >= 0; i-- {
		var keys []keyPath
		always := false
		for _, s := range forType(cs[i].Expression, rt) {
			if s.keys == nil {
				always = true
				break
			}
			keys = append(keys, s.keys...)
		}
		if !always && len(keys) > 0 {
			return keys
		}
	}
	return nil
}

// partSrc is one alternative of an expression's union, for one type.
type partSrc struct {
	src  string
	keys []keyPath
	self bool // the part is the resource itself
}

// forType keeps the parts of a union expression ("A.x | B.y") that apply
// to resource type rt, each with its keys.
func forType(expr, rt string) []partSrc {
	td := fhirdef.Type(rt)
	if td == nil {
		return nil
	}
	root := td.Root()
	splits := splitUnion(expr)
	if len(splits) > 1 && hasLowOperator(expr) {
		// "a | b and c" is "(a | b) and c": the parts cannot be taken
		// apart. No R4 parameter is written so; keep it whole.
		splits = []string{expr}
	}
	var out []partSrc
	for _, p := range splits {
		p = strings.TrimSpace(p)
		q := strings.TrimLeft(p, "( ")
		head, rest := ident(q)
		s := partSrc{src: p}
		switch {
		case head == "":
		case head == rt || head == "Resource" || head == "DomainResource":
			if !strings.HasPrefix(rest, ".") {
				s.self = rest == "" || strings.TrimLeft(rest, ") ") == ""
				break
			}
			s.keys = pathKeys(rest, root)
		case fhirdef.IsResourceType(head) || head[0] >= 'A' && head[0] <= 'Z':
			continue // a path of another type
		default:
			// A path relative to the resource ("name | alias").
			s.keys = pathKeys("."+q, root)
		}
		out = append(out, s)
	}
	return out
}

// pathKeys reads the member path at the start of rest (".meta.tag...",
// ".value.ofType(Quantity)...") from the definition def, and returns it as
// keys; nil when it names no member of def.
func pathKeys(rest string, def *fhirdef.ElementDef) []keyPath {
	var kp keyPath
	for len(kp) < maxKeyDepth && strings.HasPrefix(rest, ".") {
		name, after := ident(rest[1:])
		if name == "" || strings.HasPrefix(after, "(") {
			break
		}
		el, typ := def.Child(name)
		var names []string
		switch {
		case el != nil && !el.IsChoice():
			names = []string{name}
		default:
			el = choice(def, name)
			if el == nil {
				break
			}
			names = el.JSONNames()
		}
		if names == nil {
			break
		}
		kp = append(kp, names)
		rest = after
		if el.IsChoice() {
			if t, after, ok := typeFilter(rest); ok {
				if n := ofType(def, el, t); len(n) > 0 {
					kp[len(kp)-1] = n
					rest = after
				}
			}
			break
		}
		if t := fhirdef.Type(typ); t == nil || t.IsPrimitive() || el.Content() == nil {
			break
		}
		def = el
	}
	if len(kp) == 0 {
		return nil
	}
	if !harmlessOnEmpty(rest) {
		// What follows can make a value of nothing: Patient.deceased is
		// "deceased.exists() and deceased != false", false for the living.
		return nil
	}
	return []keyPath{kp}
}

// choice returns the choice element name[x] of def, or nil.
func choice(def *fhirdef.ElementDef, name string) *fhirdef.ElementDef {
	for _, c := range def.Children() {
		if c.IsChoice() && len(c.Name) == len(name)+3 && strings.HasPrefix(c.Name, name) {
			return c
		}
	}
	return nil
}

// typeFilter reads ".ofType(T)", ".as(T)" or " as T" at the start of s.
func typeFilter(s string) (typ, rest string, ok bool) {
	for _, f := range []string{".ofType(", ".as("} {
		if r, found := strings.CutPrefix(s, f); found {
			t, after := qualifiedIdent(r)
			if t != "" && strings.HasPrefix(after, ")") {
				return t, after[1:], true
			}
			return "", s, false
		}
	}
	if r, found := strings.CutPrefix(s, " as "); found {
		if t, after := qualifiedIdent(r); t != "" {
			return t, after, true
		}
	}
	return "", s, false
}

func qualifiedIdent(s string) (string, string) {
	name, rest := ident(s)
	if (name == "FHIR" || name == "System") && strings.HasPrefix(rest, ".") {
		if name == "System" {
			return "", s // no member of a resource is a System value
		}
		return ident(rest[1:])
	}
	return name, rest
}

// ofType returns the JSON names of choice element el (a child of def) whose
// type can pass a type filter for t. It errs on the side of keeping a
// name: FHIRPath matches primitives by exact name and complex types by
// derivation; this also matches any case ("DateTime" and "dateTime").
func ofType(def, el *fhirdef.ElementDef, t string) []string {
	var out []string
	for _, jn := range el.JSONNames() {
		_, typ := def.Child(jn)
		if derives(typ, t) {
			out = append(out, jn)
		}
	}
	return out
}

func derives(typ, want string) bool {
	for i := 0; typ != "" && i < 20; i++ {
		if strings.EqualFold(typ, want) {
			return true
		}
		td := fhirdef.Type(typ)
		if td == nil {
			return false
		}
		if strings.EqualFold(td.Name, want) { // aliases (SimpleQuantity)
			return true
		}
		typ = td.Base
	}
	return false
}

// harmlessOnEmpty reports whether s, what follows a member path in an
// expression, gives nothing when the path gives nothing: only further
// members, closing parentheses, type filters and functions that map empty
// to empty (where, resolve, first...).
func harmlessOnEmpty(s string) bool {
	for {
		s = strings.TrimLeft(s, " )")
		if s == "" {
			return true
		}
		if t, rest, ok := typeFilter(s); ok && t != "" {
			s = rest
			continue
		}
		if !strings.HasPrefix(s, ".") {
			return false
		}
		name, rest := ident(s[1:])
		if name == "" {
			return false
		}
		if strings.HasPrefix(rest, "(") {
			if !emptyToEmpty[name] {
				return false
			}
			end := closing(rest)
			if end < 0 {
				return false
			}
			rest = rest[end+1:]
		}
		s = rest
	}
}

// emptyToEmpty are the functions whose result is empty when their input
// is.
var emptyToEmpty = map[string]bool{"where": true, "resolve": true, "ofType": true, "as": true, "first": true,
	"last": true, "single": true, "extension": true, "select": true, "distinct": true}

// closing returns the index of the parenthesis closing the one s starts
// with, -1 if none.
func closing(s string) int {
	depth, inStr := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '\'' {
				inStr = false
			}
		case c == '\'':
			inStr = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// hasLowOperator reports whether expr has, outside parentheses and
// strings, an operator binding more loosely than the union "|".
func hasLowOperator(expr string) bool {
	var top strings.Builder
	depth, inStr := 0, false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '\'' {
				inStr = false
			}
			continue
		case c == '\'':
			inStr = true
			continue
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
		if depth == 0 {
			top.WriteByte(c)
		}
	}
	t := top.String()
	for _, op := range []string{" and ", " or ", " xor ", " implies ", " in ", " contains ", "=", "<", ">", "~"} {
		if strings.Contains(t, op) {
			return true
		}
	}
	return false
}

// splitUnion splits s at the | outside parentheses and string literals.
func splitUnion(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '\'' {
				inStr = false
			}
		case c == '\'':
			inStr = true
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '|' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func ident(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i], s[i:]
}

// present reports whether m has one of keys.
func present(m map[string]any, keys []keyPath) bool {
	for _, kp := range keys {
		if hasPath(m, kp) {
			return true
		}
	}
	return false
}

func hasPath(node any, kp keyPath) bool {
	switch n := node.(type) {
	case map[string]any:
		for _, name := range kp[0] {
			v, ok := n[name]
			if !ok {
				continue
			}
			if len(kp) == 1 || hasPath(v, kp[1:]) {
				return true
			}
		}
	case []any:
		for _, e := range n {
			if hasPath(e, kp) {
				return true
			}
		}
	}
	return false
}
