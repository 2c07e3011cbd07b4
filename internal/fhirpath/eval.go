package fhirpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"runtime/debug"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// Limits that keep a hostile or careless expression from running away.
const (
	maxEvalDepth  = 400
	maxSteps      = 500_000
	maxStringLen  = 1 << 20
	maxCollection = 50_000
)

// Options change how an expression is evaluated.
type Options struct {
	// Resolver returns the resource a reference points at ("Patient/123",
	// an absolute URL, "urn:uuid:..."), or nil. Without it, or when it
	// returns nil, resolve() gives a stand-in resource of the type named by
	// the reference (with its id), so resolve() is Patient still works.
	Resolver func(ref string) any
	// Strict reports names that are not elements of the context's type as
	// errors (the official suite's mode="strict").
	Strict bool
	// LenientChoice allows JSON names of choice elements (valueQuantity) as
	// path steps; by default they are an error, as FHIRPath requires.
	LenientChoice bool
	// Trace receives the output of trace(); nil drops it.
	Trace func(name string, values []Value)
}

// Expr is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	src  string
	root node
}

// Compile parses a FHIRPath expression.
func Compile(expr string) (*Expr, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return &Expr{src: expr, root: n}, nil
}

// MustCompile is Compile that panics on error, for expressions in source.
func MustCompile(expr string) *Expr {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source text.
func (x *Expr) String() string { return x.src }

// Evaluate evaluates the expression against a decoded resource (or any
// decoded JSON node; nil for none). env supplies %variables: each value may
// be a Value, a []Value, a decoded JSON node, or a Go string, bool, int,
// int64, float64 or json.Number.
func (x *Expr) Evaluate(resource any, env map[string]any) ([]Value, error) {
	return x.EvaluateOptions(resource, env, Options{})
}

// evaluation is the state of one evaluation, allocated at once: the
// search index evaluates some twenty expressions per resource written, and
// separate allocations were a good part of their cost.
type evaluation struct {
	e    evaluator
	opts Options
	f    frame
	root [1]Value
}

// EvaluateOptions is Evaluate with options.
func (x *Expr) EvaluateOptions(resource any, env map[string]any, opts Options) (out []Value, err error) {
	ev := &evaluation{opts: opts}
	e := &ev.e
	e.opts, e.env = &ev.opts, env
	var root []Value
	switch r := resource.(type) {
	case nil:
	case Value:
		ev.root[0] = r
		root = ev.root[:]
	case []Value:
		root = r
	default:
		ev.root[0] = FromResource(r)
		root = ev.root[:]
	}
	e.root = root
	defer func() {
		if r := recover(); r != nil {
			if le, ok := r.(limitError); ok {
				out, err = nil, le.err
				return
			}
			// A bug: report it rather than take the server down.
			out, err = nil, &Error{Kind: "internal", Msg: fmt.Sprintf("internal error evaluating %q: %v\n%s", x.src, r, debug.Stack())}
		}
	}()
	f := &ev.f
	*f = frame{this: root, index: -1}
	return x.root.eval(e, f)
}

// EvaluateBool evaluates a predicate: true when the result is a single
// true, false when it is empty or a single false; any other single item
// counts as true (FHIRPath singleton evaluation); several items are an
// error.
func (x *Expr) EvaluateBool(resource any, env map[string]any, opts Options) (bool, error) {
	out, err := x.EvaluateOptions(resource, env, opts)
	if err != nil {
		return false, err
	}
	switch len(out) {
	case 0:
		return false, nil
	case 1:
		if b, ok := out[0].Bool(); ok {
			return b, nil
		}
		return true, nil
	}
	return false, execErr("expected a single boolean, found %d items", len(out))
}

type limitError struct{ err error }

type frame struct {
	this     []Value
	index    int
	total    []Value
	hasTotal bool
}

type evaluator struct {
	opts  *Options
	env   map[string]any
	root  []Value
	depth int
	steps int
	now   *DateTime // now() is the same throughout one evaluation
}

func (e *evaluator) nowDT() DateTime {
	if e.now == nil {
		d := nowDT()
		e.now = &d
	}
	return *e.now
}

func (e *evaluator) step(n int) {
	e.steps += n
	if e.steps > maxSteps {
		panic(limitError{execErr("expression too costly to evaluate")})
	}
}

func (e *evaluator) enter() {
	e.depth++
	if e.depth > maxEvalDepth {
		panic(limitError{execErr("expression nests too deeply")})
	}
	e.step(1)
}

func (e *evaluator) leave() { e.depth-- }

func (n *literalNode) eval(e *evaluator, f *frame) ([]Value, error) { return n.vals, nil }

func (n *specialNode) eval(e *evaluator, f *frame) ([]Value, error) {
	switch n.name {
	case "$this":
		return f.this, nil
	case "$index":
		if f.index < 0 {
			return nil, nil
		}
		return one(intV(int64(f.index))), nil
	case "$total":
		return f.total, nil
	}
	return nil, nil
}

var builtinConsts = map[string]string{
	"ucum":  "http://unitsofmeasure.org",
	"sct":   "http://snomed.info/sct",
	"loinc": "http://loinc.org",
}

func (n *constNode) eval(e *evaluator, f *frame) ([]Value, error) {
	if v, ok := e.env[n.name]; ok {
		return toValues(v), nil
	}
	switch n.name {
	case "resource", "context", "rootResource":
		return e.root, nil
	}
	if s, ok := builtinConsts[n.name]; ok {
		return one(strV(s)), nil
	}
	if rest, ok := strings.CutPrefix(n.name, "vs-"); ok {
		return one(strV("http://hl7.org/fhir/ValueSet/" + rest)), nil
	}
	if rest, ok := strings.CutPrefix(n.name, "ext-"); ok {
		return one(strV("http://hl7.org/fhir/StructureDefinition/" + rest)), nil
	}
	return nil, &Error{Kind: "semantic", Msg: "undefined variable %" + n.name}
}

// toValues converts an environment value to a collection.
func toValues(v any) []Value {
	switch x := v.(type) {
	case nil:
		return nil
	case Value:
		return one(x)
	case []Value:
		return x
	case string:
		return one(strV(x))
	case bool:
		return one(boolV(x))
	case int:
		return one(intV(int64(x)))
	case int64:
		return one(intV(x))
	case float64:
		if d, ok := decFromFloat(x); ok {
			return one(decV(d))
		}
		return nil
	case json.Number:
		if d, ok := ParseDecimal(string(x)); ok {
			if d.scale == 0 {
				if i, err := x.Int64(); err == nil {
					return one(intV(i))
				}
			}
			return one(decV(d))
		}
		return nil
	case Decimal:
		return one(decV(x))
	case DateTime:
		return one(dtV(x))
	case Quantity:
		return one(qtyV(x))
	case []any:
		var out []Value
		for _, it := range x {
			out = append(out, toValues(it)...)
		}
		return out
	}
	return one(FromResource(v))
}

func (n *identNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	var out []Value
	typeLike := n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z'
	if typeLike && len(f.this) > 0 {
		// "Patient.name" on a Patient, the common case, selects the whole
		// context: return it rather than a copy (capped, so that an append
		// to the result cannot write into it).
		all := true
		for _, v := range f.this {
			if !n.selects(v) {
				all = false
				break
			}
		}
		if all {
			return f.this[:len(f.this):len(f.this)], nil
		}
	}
	for _, v := range f.this {
		// A type name at the start of a path selects the context itself.
		if typeLike && n.selects(v) {
			out = append(out, v)
			continue
		}
		if isResourceValue(v) && e.opts.Strict && fhirdef.IsResourceType(n.name) {
			return nil, &Error{Kind: "semantic", Msg: "the context is a " + v.typ + ", not a " + n.name}
		}
		var err error
		if out, err = e.child(v, n.name, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// selects reports whether the identifier, a type name, names the type of
// context item v (or one it derives from, for a resource).
func (n *identNode) selects(v Value) bool {
	return !v.sys && v.typ != "" && (v.typ == n.name || (isResourceValue(v) && fhirIsA(v.typ, n.name)))
}

// checkMemberOfCast is a strict-mode check of "(x as T).name": name must be
// an element of T even when the cast gives nothing.
func checkMemberOfCast(n *memberNode) error {
	var ts typeSpec
	switch t := n.target.(type) {
	case *typeOpNode:
		if t.op != "as" {
			return nil
		}
		ts = t.typ
	case *funcNode:
		if t.name != "as" && t.name != "ofType" {
			return nil
		}
		ts = t.typ
	default:
		return nil
	}
	if ts.ns == "System" {
		return nil
	}
	td := fhirdef.Type(ts.name)
	if td == nil || td.IsPrimitive() {
		return nil
	}
	if c, _ := td.Child(n.name); c != nil {
		return nil
	}
	for _, c := range td.Root().Children() {
		if c.Name == n.name+"[x]" {
			return nil
		}
	}
	return &Error{Kind: "semantic", Msg: "'" + n.name + "' is not an element of " + ts.name}
}

// orderedFuncs depend on the order of their input, which children() and
// descendants() do not define.
var orderedFuncs = map[string]bool{"skip": true, "take": true, "first": true, "last": true, "tail": true}

func isResourceValue(v Value) bool {
	m, ok := v.raw.(map[string]any)
	if !ok || v.sys {
		return false
	}
	_, ok = m["resourceType"]
	return ok
}

func (n *memberNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	if e.opts.Strict {
		if err := checkMemberOfCast(n); err != nil {
			return nil, err
		}
	}
	in, err := n.target.eval(e, f)
	if err != nil {
		return nil, err
	}
	var out []Value
	for _, v := range in {
		if out, err = e.child(v, n.name, out); err != nil {
			return nil, err
		}
	}
	e.step(len(out))
	return out, nil
}

func (n *indexerNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	in, err := n.target.eval(e, f)
	if err != nil {
		return nil, err
	}
	idx, err := n.index.eval(e, f)
	if err != nil {
		return nil, err
	}
	if len(idx) == 0 {
		return nil, nil
	}
	i, ok, err := singleInt(idx)
	if err != nil || !ok {
		return nil, execErr("index must be an integer")
	}
	if i < 0 || i >= int64(len(in)) {
		return nil, nil
	}
	return one(in[i]), nil
}

func (n *unaryNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	x, err := n.x.eval(e, f)
	if err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, nil
	}
	if len(x) > 1 {
		return nil, execErr("unary %s needs a single item", n.op)
	}
	v, ok := x[0].toSystem()
	if !ok {
		return nil, execErr("unary %s needs a number", n.op)
	}
	if n.op == "+" {
		switch v.raw.(type) {
		case int64, Decimal, Quantity:
			return one(v), nil
		}
		return nil, execErr("unary + needs a number")
	}
	switch y := v.raw.(type) {
	case int64:
		return one(intV(-y)), nil
	case Decimal:
		return one(decV(y.neg())), nil
	case Quantity:
		return one(qtyV(Quantity{Value: y.Value.neg(), Unit: y.Unit})), nil
	}
	return nil, execErr("unary - needs a number")
}

func (n *typeOpNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	x, err := n.x.eval(e, f)
	if err != nil {
		return nil, err
	}
	if err := checkTypeSpec(n.typ); err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, nil
	}
	if len(x) > 1 {
		if n.op == "as" && !n.fn {
			// R4's search parameters use "(X.useContext.value as
			// CodeableConcept)" on repeating elements: the operator form
			// filters like ofType(); the function form as() is strict.
			var out []Value
			for _, v := range x {
				if asType(v, n.typ) {
					out = append(out, v)
				}
			}
			return out, nil
		}
		return nil, execErr("'%s' needs a single item, found %d", n.op, len(x))
	}
	if n.op == "is" {
		return boolC(isType(x[0], n.typ)), nil
	}
	if asType(x[0], n.typ) {
		return x, nil
	}
	return nil, nil
}

func checkTypeSpec(t typeSpec) error {
	switch t.ns {
	case "System":
		return nil
	case "FHIR":
		if fhirdef.Type(t.name) == nil {
			return execErr("unknown type FHIR.%s", t.name)
		}
		return nil
	}
	if !systemTypes[t.name] && fhirdef.Type(t.name) == nil {
		return execErr("unknown type %s", t.name)
	}
	return nil
}

// isType is the 'is' test: FHIR types match their base types too.
func isType(v Value, t typeSpec) bool {
	if v.sys {
		return t.ns != "FHIR" && (v.typ == t.name || t.name == "Any")
	}
	if t.ns == "System" {
		return false
	}
	return fhirIsA(v.typ, t.name)
}

// asType is the 'as'/ofType test: primitives must match exactly (a code is
// not as(string)), complex types and resources match their base types.
func asType(v Value, t typeSpec) bool {
	if v.sys || t.ns == "System" {
		return isType(v, t)
	}
	if isFHIRPrimitive(v.typ) {
		return v.typ == t.name
	}
	return fhirIsA(v.typ, t.name)
}

func (n *binaryNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	switch n.op {
	case "and", "or", "xor", "implies":
		return e.logic(n, f)
	}
	l, err := n.l.eval(e, f)
	if err != nil {
		return nil, err
	}
	r, err := n.r.eval(e, f)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "|":
		return union(e, l, r), nil
	case "=", "!=":
		res, ok := equalColl(l, r)
		if !ok {
			return nil, nil
		}
		return boolC(res == (n.op == "=")), nil
	case "~", "!~":
		return boolC(equivColl(l, r) == (n.op == "~")), nil
	case "in", "contains":
		item, coll := l, r
		if n.op == "contains" {
			item, coll = r, l
		}
		if len(item) == 0 {
			return nil, nil
		}
		if len(item) > 1 {
			return nil, execErr("'%s' needs a single item", n.op)
		}
		for _, c := range coll {
			if eq, ok := equalItem(item[0], c); ok && eq {
				return boolC(true), nil
			}
		}
		return boolC(false), nil
	case "&":
		ls, err := concatOperand(l)
		if err != nil {
			return nil, err
		}
		rs, err := concatOperand(r)
		if err != nil {
			return nil, err
		}
		if len(ls)+len(rs) > maxStringLen {
			return nil, execErr("string too long")
		}
		return one(strV(ls + rs)), nil
	}
	if len(l) == 0 || len(r) == 0 {
		return nil, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, execErr("operator %s needs single items", n.op)
	}
	a, ok1 := l[0].toSystem()
	b, ok2 := r[0].toSystem()
	if !ok1 || !ok2 {
		if l[0].raw == nil || r[0].raw == nil {
			return nil, nil
		}
		return nil, execErr("operator %s cannot apply to %s and %s", n.op, l[0].typ, r[0].typ)
	}
	switch n.op {
	case "<", ">", "<=", ">=":
		c, ok, err := compare(a, b)
		if err != nil || !ok {
			return nil, err
		}
		switch n.op {
		case "<":
			return boolC(c < 0), nil
		case ">":
			return boolC(c > 0), nil
		case "<=":
			return boolC(c <= 0), nil
		}
		return boolC(c >= 0), nil
	}
	return arith(n.op, a, b)
}

func concatOperand(c []Value) (string, error) {
	if len(c) == 0 {
		return "", nil
	}
	if len(c) > 1 {
		return "", execErr("& needs single items")
	}
	s, ok := c[0].toSystem()
	if !ok {
		return "", nil
	}
	str, ok := s.raw.(string)
	if !ok {
		return "", execErr("& needs strings")
	}
	return str, nil
}

// toBool3 converts a collection for a boolean operator: 0 empty, 1 false, 2 true.
func toBool3(c []Value) (int, error) {
	if len(c) == 0 {
		return 0, nil
	}
	if len(c) > 1 {
		return 0, execErr("expected a single boolean, found %d items", len(c))
	}
	if b, ok := c[0].Bool(); ok {
		if b {
			return 2, nil
		}
		return 1, nil
	}
	return 2, nil // singleton evaluation: a single non-boolean item is true
}

func (e *evaluator) logic(n *binaryNode, f *frame) ([]Value, error) {
	lc, err := n.l.eval(e, f)
	if err != nil {
		return nil, err
	}
	l, err := toBool3(lc)
	if err != nil {
		return nil, err
	}
	// short cuts
	switch {
	case n.op == "and" && l == 1:
		return boolC(false), nil
	case n.op == "or" && l == 2:
		return boolC(true), nil
	case n.op == "implies" && l == 1:
		return boolC(true), nil
	}
	rc, err := n.r.eval(e, f)
	if err != nil {
		return nil, err
	}
	r, err := toBool3(rc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and":
		if r == 1 {
			return boolC(false), nil
		}
		if l == 2 && r == 2 {
			return boolC(true), nil
		}
		return nil, nil
	case "or":
		if r == 2 {
			return boolC(true), nil
		}
		if l == 1 && r == 1 {
			return boolC(false), nil
		}
		return nil, nil
	case "xor":
		if l == 0 || r == 0 {
			return nil, nil
		}
		return boolC(l != r), nil
	default: // implies
		if r == 2 {
			return boolC(true), nil
		}
		if l == 2 && r == 1 {
			return boolC(false), nil
		}
		return nil, nil
	}
}

func union(e *evaluator, a, b []Value) []Value {
	out := make([]Value, 0, len(a)+len(b))
	set := newValueSet(e, false)
	for _, list := range [][]Value{a, b} {
		for _, v := range list {
			if set.addNew(v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func containsValue(list []Value, v Value) bool {
	for _, x := range list {
		if eq, ok := equalItem(x, v); ok && eq {
			return true
		}
	}
	return false
}

// equalColl is '=' on collections; ok false means empty.
func equalColl(a, b []Value) (bool, bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	if len(a) != len(b) {
		return false, true
	}
	for i := range a {
		eq, ok := equalItem(a[i], b[i])
		if !ok {
			return false, false
		}
		if !eq {
			return false, true
		}
	}
	return true, true
}

// equalItem compares two items; ok false means unknown (empty).
func equalItem(a, b Value) (bool, bool) {
	as, aok := a.toSystem()
	bs, bok := b.toSystem()
	if aok && bok {
		return equalSystem(as, bs)
	}
	if aok != bok {
		if (!aok && a.raw == nil) || (!bok && b.raw == nil) {
			return false, false
		}
		return false, true
	}
	return deepEqual(a.raw, b.raw) && deepEqual(a.ext, b.ext), true
}

func equalSystem(a, b Value) (bool, bool) {
	switch x := a.raw.(type) {
	case bool:
		y, ok := b.raw.(bool)
		return ok && x == y, true
	case string:
		y, ok := b.raw.(string)
		return ok && x == y, true
	case int64:
		switch y := b.raw.(type) {
		case int64:
			return x == y, true
		case Decimal:
			return decFromInt(x).Cmp(y) == 0, true
		case Quantity:
			return false, true
		}
	case Decimal:
		switch y := b.raw.(type) {
		case int64:
			return x.Cmp(decFromInt(y)) == 0, true
		case Decimal:
			return x.Cmp(y) == 0, true
		}
	case DateTime:
		y, ok := b.raw.(DateTime)
		if !ok || (x.Kind == KindTime) != (y.Kind == KindTime) {
			return false, true
		}
		c, ok := compareDT(x, y)
		if !ok {
			return false, false
		}
		return c == 0, true
	case Quantity:
		y, ok := b.raw.(Quantity)
		if !ok {
			return false, true
		}
		c, ok := compareQty(x, y)
		if !ok {
			return false, false
		}
		return c == 0, true
	case map[string]any:
		return deepEqual(a.raw, b.raw), true
	}
	return false, true
}

// deepEqual compares raw JSON nodes, numbers by value.
func deepEqual(a, b any) bool { return fhir.JSONEqual(a, b) }

// equivColl is '~'.
func equivColl(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && equivItem(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func normSpace(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func equivItem(a, b Value) bool {
	as, aok := a.toSystem()
	bs, bok := b.toSystem()
	if !aok || !bok {
		if aok != bok {
			return false
		}
		return deepEqual(a.raw, b.raw)
	}
	switch x := as.raw.(type) {
	case string:
		y, ok := bs.raw.(string)
		return ok && normSpace(x) == normSpace(y)
	case int64:
		switch y := bs.raw.(type) {
		case int64:
			return x == y
		case Decimal:
			return decEquivalent(decFromInt(x), y)
		}
		return false
	case Decimal:
		switch y := bs.raw.(type) {
		case int64:
			return decEquivalent(x, decFromInt(y))
		case Decimal:
			return decEquivalent(x, y)
		}
		return false
	case DateTime:
		y, ok := bs.raw.(DateTime)
		if !ok || x.Kind != y.Kind && (x.Kind == KindTime || y.Kind == KindTime) {
			return false
		}
		c, ok := compareDT(x, y)
		return ok && c == 0
	case Quantity:
		y, ok := bs.raw.(Quantity)
		return ok && qtyEquivalent(x, y)
	}
	eq, ok := equalSystem(as, bs)
	return ok && eq
}

// compare orders two System values; ok false means unknown (empty).
func compare(a, b Value) (int, bool, error) {
	switch x := a.raw.(type) {
	case string:
		if y, ok := b.raw.(string); ok {
			return strings.Compare(x, y), true, nil
		}
	case int64:
		switch y := b.raw.(type) {
		case int64:
			switch {
			case x < y:
				return -1, true, nil
			case x > y:
				return 1, true, nil
			}
			return 0, true, nil
		case Decimal:
			return decFromInt(x).Cmp(y), true, nil
		}
	case Decimal:
		switch y := b.raw.(type) {
		case int64:
			return x.Cmp(decFromInt(y)), true, nil
		case Decimal:
			return x.Cmp(y), true, nil
		}
	case DateTime:
		if y, ok := b.raw.(DateTime); ok && (x.Kind == KindTime) == (y.Kind == KindTime) {
			c, ok := compareDT(x, y)
			return c, ok, nil
		}
	case Quantity:
		if y, ok := b.raw.(Quantity); ok {
			c, ok := compareQty(x, y)
			return c, ok, nil
		}
	}
	return 0, false, execErr("cannot compare %s with %s", a.typ, b.typ)
}

func arith(op string, a, b Value) ([]Value, error) {
	switch x := a.raw.(type) {
	case string:
		if y, ok := b.raw.(string); ok && op == "+" {
			if len(x)+len(y) > maxStringLen {
				return nil, execErr("string too long")
			}
			return one(strV(x + y)), nil
		}
	case int64:
		switch y := b.raw.(type) {
		case int64:
			return intArith(op, x, y)
		case Decimal:
			return decArith(op, decFromInt(x), y)
		case Quantity:
			if op == "*" {
				return qtyScale(y, decFromInt(x), false)
			}
		}
	case Decimal:
		switch y := b.raw.(type) {
		case int64:
			return decArith(op, x, decFromInt(y))
		case Decimal:
			return decArith(op, x, y)
		case Quantity:
			if op == "*" {
				return qtyScale(y, x, false)
			}
		}
	case DateTime:
		if y, ok := b.raw.(Quantity); ok && (op == "+" || op == "-") {
			sign := 1
			if op == "-" {
				sign = -1
			}
			d, err := addDuration(x, y, sign)
			if err != nil {
				return nil, execErr("%v", err)
			}
			return one(dtV(d)), nil
		}
	case Quantity:
		switch y := b.raw.(type) {
		case Quantity:
			return qtyArith(op, x, y)
		case int64:
			if op == "*" || op == "/" {
				return qtyScale(x, decFromInt(y), op == "/")
			}
		case Decimal:
			if op == "*" || op == "/" {
				return qtyScale(x, y, op == "/")
			}
		}
	}
	return nil, execErr("operator %s cannot apply to %s and %s", op, a.typ, b.typ)
}

func intArith(op string, x, y int64) ([]Value, error) {
	switch op {
	case "+":
		r := x + y
		if (r > x) != (y > 0) {
			return nil, nil
		}
		return one(intV(r)), nil
	case "-":
		r := x - y
		if (r < x) != (y > 0) {
			return nil, nil
		}
		return one(intV(r)), nil
	case "*":
		if x != 0 && ((x*y)/x != y || (x == -1 && y == -1<<63) || (y == -1 && x == -1<<63)) {
			return nil, nil
		}
		return one(intV(x * y)), nil
	case "/":
		return decArith(op, decFromInt(x), decFromInt(y))
	case "div":
		if y == 0 || (x == -1<<63 && y == -1) {
			return nil, nil
		}
		return one(intV(x / y)), nil
	case "mod":
		if y == 0 || (x == -1<<63 && y == -1) {
			return nil, nil
		}
		return one(intV(x % y)), nil
	}
	return nil, execErr("bad operator %s", op)
}

func decArith(op string, x, y Decimal) ([]Value, error) {
	switch op {
	case "+":
		return one(decV(x.add(y))), nil
	case "-":
		return one(decV(x.sub(y))), nil
	case "*":
		return one(decV(x.mul(y))), nil
	case "/":
		r, ok := x.div(y)
		if !ok {
			return nil, nil
		}
		return one(decV(r)), nil
	case "div":
		r, ok := x.div(y)
		if !ok {
			return nil, nil
		}
		i, ok := intFromBig(r.truncInt())
		if !ok {
			return nil, nil
		}
		return one(intV(i)), nil
	case "mod":
		r, ok := x.div(y)
		if !ok {
			return nil, nil
		}
		q := Decimal{r: new(big.Rat).SetInt(r.truncInt())}
		return one(decV(x.sub(q.mul(y)))), nil
	}
	return nil, execErr("bad operator %s", op)
}

func qtyScale(q Quantity, d Decimal, divide bool) ([]Value, error) {
	if divide {
		r, ok := q.Value.div(d)
		if !ok {
			return nil, nil
		}
		return one(qtyV(Quantity{Value: r, Unit: q.Unit})), nil
	}
	return one(qtyV(Quantity{Value: q.Value.mul(d), Unit: q.Unit})), nil
}

func qtyArith(op string, x, y Quantity) ([]Value, error) {
	switch op {
	case "+", "-":
		yc, ok := y.convertTo(x.Unit)
		if !ok {
			return nil, nil
		}
		if op == "+" {
			return one(qtyV(Quantity{Value: x.Value.add(yc.Value), Unit: x.Unit})), nil
		}
		return one(qtyV(Quantity{Value: x.Value.sub(yc.Value), Unit: x.Unit})), nil
	case "*", "/":
		r, ok := mulQty(x, y, op == "/")
		if !ok {
			return nil, nil
		}
		return one(qtyV(r)), nil
	}
	return nil, execErr("operator %s cannot apply to quantities", op)
}

// singleInt reads a single integer argument.
func singleInt(c []Value) (int64, bool, error) {
	if len(c) == 0 {
		return 0, false, nil
	}
	if len(c) > 1 {
		return 0, false, execErr("expected a single integer")
	}
	s, ok := c[0].toSystem()
	if !ok {
		return 0, false, nil
	}
	if i, ok := s.raw.(int64); ok {
		return i, true, nil
	}
	return 0, false, execErr("expected an integer, found %s", s.typ)
}

// singleString reads a single string input or argument.
func singleString(c []Value) (string, bool, error) {
	if len(c) == 0 {
		return "", false, nil
	}
	if len(c) > 1 {
		return "", false, execErr("expected a single string, found %d items", len(c))
	}
	s, ok := c[0].toSystem()
	if !ok {
		if c[0].raw == nil {
			return "", false, nil
		}
		return "", false, &Error{Kind: "semantic", Msg: "expected a string, found " + c[0].typ}
	}
	if str, ok := s.raw.(string); ok {
		return str, true, nil
	}
	return "", false, execErr("expected a string, found %s", c[0].typ)
}

func itoa(i int64) string { return fmt.Sprint(i) }

// IsKind reports whether err is a FHIRPath error of the kind.
func IsKind(err error, kind string) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Kind == kind
}
