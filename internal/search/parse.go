package search

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// Options tune Parse.
type Options struct {
	// Strict is Prefer: handling=strict: unknown and unsupported
	// parameters are errors. Otherwise they are dropped and listed in
	// Query.Ignored.
	Strict bool
	// MaxOr caps the values of one OR list (and of _sort and _elements);
	// default 1000.
	MaxOr int
	// MaxParams caps the parameter occurrences of one query; default 100.
	MaxParams int
	// MaxCount caps _count (a larger _count is lowered to it); default 1000.
	MaxCount int
	// Location is the zone of dates written without one; default UTC.
	Location *time.Location
	// Params are the search parameters in force; default R4's.
	Params *fhirdef.Params
}

const (
	defaultMaxOr     = 1000
	defaultMaxParams = 100
	defaultMaxCount  = 1000
	// maxDepth caps chains and _has nesting together.
	maxDepth = 4
	// maxNodes caps the clauses one parameter expands to: a chain through
	// a reference that may point at any type fans out to every type having
	// the next parameter, at every level.
	maxNodes = 256
	// maxWork caps the values a chained parameter parses, once per target.
	maxWork = 4096
)

// listParam is _list, which the R4 definitions do not carry as a
// SearchParameter: its value is the id of a List.
var listParam = fhirdef.SearchParameter{Code: "_list", Base: []string{"Resource"}, Type: "special",
	MultipleOr: true, MultipleAnd: true}

// dropError is an unknown or unsupported parameter: an error under strict
// handling, dropped and reported otherwise.
type dropError struct{ e *fhir.Error }

func (d *dropError) Error() string { return d.e.Error() }

// noPathError is a chain hop that leads nowhere: a target type without the
// next parameter. An ambiguous chain prunes such targets.
type noPathError struct{ e *fhir.Error }

func (n *noPathError) Error() string { return n.e.Error() }
func (n *noPathError) Unwrap() error { return n.e }

func (p *parser) noPath(format string, args ...any) error {
	return &noPathError{invalid(p.key, format, args...)}
}

func invalid(param, format string, args ...any) *fhir.Error {
	detail := fmt.Sprintf(format, args...)
	return &fhir.Error{Kind: fhir.Invalid, Msg: param + ": " + detail,
		Issues: []fhir.Issue{{Severity: "error", Diagnostics: detail, Expression: []string{param}}}}
}

func unsupported(param, format string, args ...any) *fhir.Error {
	e := invalid(param, format, args...)
	e.Issues[0].Code = "not-supported"
	return e
}

func drop(param, format string, args ...any) error {
	return &dropError{unsupported(param, format, args...)}
}

type parser struct {
	opts  Options
	q     *Query
	key   string // the top-level key being parsed, named by errors
	nodes int    // clauses made for the current key
	work  int    // values parsed for the current key
	seen  map[string]bool
}

// Parse parses the query of a search on resourceType ("" for a system
// search, whose types are _type's) into a validated Query. Errors are
// *fhir.Error of kind fhir.Invalid naming the parameter.
func Parse(resourceType string, q url.Values, opts Options) (*Query, error) {
	if opts.MaxOr <= 0 {
		opts.MaxOr = defaultMaxOr
	}
	if opts.MaxParams <= 0 {
		opts.MaxParams = defaultMaxParams
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = defaultMaxCount
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Params == nil {
		opts.Params = fhirdef.R4Params()
	}
	if resourceType != "" && !fhirdef.IsResourceType(resourceType) {
		return nil, fhir.E(fhir.Invalid, "%q is not a resource type", resourceType)
	}
	n := 0
	for _, vs := range q {
		n += len(vs)
	}
	if n > opts.MaxParams {
		return nil, fhir.E(fhir.Invalid, "too many search parameters: %d, at most %d", n, opts.MaxParams)
	}
	p := &parser{opts: opts, q: &Query{ResourceType: resourceType}, seen: map[string]bool{}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// _type decides how a system search's parameters are looked up.
	if i := slices.Index(keys, "_type"); i >= 0 {
		keys = append(append([]string{"_type"}, keys[:i]...), keys[i+1:]...)
	}
	for _, k := range keys {
		for _, v := range q[k] {
			p.key, p.nodes, p.work = k, 0, 0
			err := p.param(k, v)
			var d *dropError
			switch {
			case err == nil:
			case errors.As(err, &d):
				if p.opts.Strict {
					return nil, d.e
				}
				p.q.Ignored = append(p.q.Ignored, Ignored{Param: k, Reason: d.e.Issues[0].Diagnostics})
			default:
				var fe *fhir.Error
				if errors.As(err, &fe) {
					return nil, fe
				}
				return nil, err
			}
		}
	}
	return p.q, nil
}

func (p *parser) fail(format string, args ...any) error { return invalid(p.key, format, args...) }

func (p *parser) once(k string) error {
	if p.seen[k] {
		return p.fail("may appear only once")
	}
	p.seen[k] = true
	return nil
}

func (p *parser) param(k, v string) error {
	if !utf8.ValidString(k) || !utf8.ValidString(v) {
		return p.fail("not valid UTF-8")
	}
	if v == "" {
		p.q.Ignored = append(p.q.Ignored, Ignored{Param: k, Reason: "no value"})
		return nil
	}
	name, mod, _ := strings.Cut(k, ":")
	switch name {
	case "_format", "_pretty":
		return nil
	case "_type":
		if mod != "" {
			return p.fail("unknown modifier :%s", mod)
		}
		if p.q.ResourceType != "" {
			return drop(k, "_type applies to system search only")
		}
		return p.types(v)
	case "_sort", "_count", "_total", "_summary", "_elements", "_contained", "_containedType", "_page":
		if mod != "" {
			return p.fail("unknown modifier :%s", mod)
		}
		return p.result(name, v)
	case "_include", "_revinclude":
		iterate := false
		switch mod {
		case "":
		case "iterate", "recurse":
			iterate = true
		default:
			return p.fail("unknown modifier :%s", mod)
		}
		return p.include(name == "_revinclude", iterate, v)
	}
	raws := splitEsc(v, ',')
	if len(raws) > p.opts.MaxOr {
		return p.fail("%d values, at most %d", len(raws), p.opts.MaxOr)
	}
	c, err := p.clause(p.q.ResourceType, k, raws, 0)
	if err != nil {
		return err
	}
	if !c.multipleAnd() && p.seen["clause "+c.Param.Code] {
		return p.fail("may appear only once")
	}
	p.seen["clause "+c.Param.Code] = true
	p.q.Clauses = append(p.q.Clauses, c)
	return nil
}

func (c *Clause) multipleAnd() bool { return c.Has != nil || c.Param.MultipleAnd }

func (p *parser) types(v string) error {
	if err := p.once("_type"); err != nil {
		return err
	}
	items := strings.Split(v, ",")
	if len(items) > p.opts.MaxOr {
		return p.fail("%d values, at most %d", len(items), p.opts.MaxOr)
	}
	for _, t := range items {
		if !fhirdef.IsResourceType(t) {
			return p.fail("%q is not a resource type", t)
		}
		if !slices.Contains(p.q.Types, t) {
			p.q.Types = append(p.q.Types, t)
		}
	}
	return nil
}

// lookup finds a parameter on rt; on "" (system search) on every _type, or
// among the Resource parameters when there is no _type.
func (p *parser) lookup(rt, code string) (fhirdef.SearchParameter, bool) {
	if code == "_list" {
		return listParam, true
	}
	if rt != "" {
		return p.opts.Params.SearchParam(rt, code)
	}
	if len(p.q.Types) == 0 {
		return p.opts.Params.ResourceParam(code)
	}
	var first fhirdef.SearchParameter
	for i, t := range p.q.Types {
		sp, ok := p.opts.Params.SearchParam(t, code)
		if !ok || (i > 0 && sp.Type != first.Type) {
			return fhirdef.SearchParameter{}, false
		}
		if i == 0 {
			first = sp
		}
	}
	return first, true
}

func where(rt string) string {
	if rt == "" {
		return "a system search"
	}
	return rt
}

// clause parses a key (and its OR values) evaluated on rt.
func (p *parser) clause(rt, key string, raws []string, depth int) (*Clause, error) {
	if depth > maxDepth {
		return nil, p.fail("chains and _has nest at most %d deep", maxDepth)
	}
	if p.nodes++; p.nodes > maxNodes {
		return nil, p.fail("the chain expands to too many resource types; name the target type (param:Type.next)")
	}
	if rest, ok := strings.CutPrefix(key, "_has:"); ok {
		return p.has(rt, key, rest, raws, depth)
	}
	head, tail, chained := strings.Cut(key, ".")
	code, mod, hasMod := strings.Cut(head, ":")
	if code == "" {
		return nil, drop(p.key, "no parameter name")
	}
	sp, ok := p.lookup(rt, code)
	if !ok {
		if depth > 0 {
			return nil, p.noPath("%s has no search parameter %q", where(rt), code)
		}
		return nil, drop(p.key, "unknown search parameter %q for %s", code, where(rt))
	}
	if sp.Type == "special" && sp.Code != "_list" || sp.Code == "_query" {
		if depth > 0 {
			return nil, unsupported(p.key, "search parameter %q is not supported", code)
		}
		return nil, drop(p.key, "search parameter %q is not supported", code)
	}
	c := &Clause{Name: key, ResourceType: rt, Param: sp}
	if chained {
		return p.chain(c, mod, hasMod, tail, raws, depth)
	}
	if err := p.modifier(c, mod, hasMod); err != nil {
		return nil, err
	}
	if !sp.MultipleOr && len(raws) > 1 {
		return nil, p.fail("%s takes one value, not a list", code)
	}
	// a chain parses the values once per target type
	if p.work += len(raws); depth > 0 && p.work > maxWork {
		return nil, p.fail("the chain expands to too many resource types for %d values; name the target type", len(raws))
	}
	for _, raw := range raws {
		v, err := p.value(c, raw)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, v)
	}
	return c, nil
}

func (p *parser) chain(c *Clause, mod string, hasMod bool, tail string, raws []string, depth int) (*Clause, error) {
	sp := c.Param
	if sp.Type != "reference" {
		return nil, p.fail("%s is a %s parameter, not a reference, and cannot be chained", sp.Code, sp.Type)
	}
	if tail == "" {
		return nil, p.fail("nothing after '.' in the chain")
	}
	targets := sp.Target
	if hasMod {
		if !fhirdef.IsResourceType(mod) {
			return nil, p.fail("a chained reference takes a resource type modifier, not :%s", mod)
		}
		if len(sp.Target) > 0 && !slices.Contains(sp.Target, mod) {
			return nil, p.fail("%s cannot refer to %s", sp.Code, mod)
		}
		targets = []string{mod}
		c.TargetType = mod
	}
	if len(targets) == 0 {
		return nil, p.fail("%s has no target types to chain through; name one (%s:Type.)", sp.Code, sp.Code)
	}
	nextKey, _, nextChained := strings.Cut(tail, ".")
	next, _, _ := strings.Cut(nextKey, ":")
	for _, t := range targets {
		// without an explicit type, the targets are those where the rest
		// of the chain makes sense
		if next != "_has" {
			nsp, ok := p.lookup(t, next)
			if !ok || !hasMod && nextChained && nsp.Type != "reference" {
				continue
			}
		}
		sub, err := p.clause(t, tail, raws, depth+1)
		var np *noPathError
		switch {
		case err == nil:
			c.Chain = append(c.Chain, sub)
		case !hasMod && errors.As(err, &np):
			continue // a dead end further down: prune this target
		default:
			return nil, err
		}
	}
	if len(c.Chain) == 0 {
		if hasMod {
			return nil, p.noPath("%s has no search parameter %q", mod, next)
		}
		return nil, p.noPath("no target type of %s (%s) has a search parameter %q", sp.Code, strings.Join(targets, ", "), next)
	}
	return c, nil
}

// has parses _has:Type:ref:rest.
func (p *parser) has(rt, key, rest string, raws []string, depth int) (*Clause, error) {
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) < 3 || parts[2] == "" {
		return nil, p.fail("_has takes the form _has:Type:reference:parameter")
	}
	typ, refCode, tail := parts[0], parts[1], parts[2]
	if !fhirdef.IsResourceType(typ) {
		return nil, p.fail("_has: %q is not a resource type", typ)
	}
	ref, ok := p.opts.Params.SearchParam(typ, refCode)
	if !ok {
		return nil, p.fail("_has: %s has no search parameter %q", typ, refCode)
	}
	if ref.Type != "reference" {
		return nil, p.fail("_has: %s:%s is a %s parameter, not a reference", typ, refCode, ref.Type)
	}
	if len(ref.Target) > 0 {
		switch {
		case rt != "" && !slices.Contains(ref.Target, rt):
			return nil, p.fail("_has: %s:%s cannot refer to %s", typ, refCode, rt)
		case rt == "" && len(p.q.Types) > 0 && !slices.ContainsFunc(p.q.Types, func(t string) bool { return slices.Contains(ref.Target, t) }):
			return nil, p.fail("_has: %s:%s cannot refer to any of %s", typ, refCode, strings.Join(p.q.Types, ", "))
		}
	}
	sub, err := p.clause(typ, tail, raws, depth+1)
	if err != nil {
		return nil, err
	}
	return &Clause{Name: key, ResourceType: rt, Has: &Has{Type: typ, Ref: ref, Clause: sub}}, nil
}

// modifier validates a leaf clause's modifier against its parameter type.
func (p *parser) modifier(c *Clause, mod string, hasMod bool) error {
	if !hasMod {
		return nil
	}
	sp := c.Param
	text := sp.Expression == "" // _text, _content, _list
	if mod == "missing" && !text {
		c.Modifier = ModMissing
		return nil
	}
	m := Modifier(mod)
	ok := false
	switch sp.Type {
	case "string":
		ok = !text && (m == ModExact || m == ModContains)
	case "token":
		switch m {
		case ModText, ModNot, ModAbove, ModBelow, ModIn, ModNotIn:
			ok = true
		case ModOfType:
			if !strings.Contains(sp.Expression, "identifier") {
				return p.fail(":of-type applies to identifier parameters only, not %s", sp.Code)
			}
			ok = true
		}
	case "uri":
		ok = m == ModAbove || m == ModBelow
	case "reference":
		switch {
		case m == ModIdentifier:
			ok = true
		case m == ModAbove || m == ModBelow:
			return unsupported(p.key, "modifier :%s on reference parameters is not supported", mod)
		case fhirdef.IsResourceType(mod):
			if len(sp.Target) > 0 && !slices.Contains(sp.Target, mod) {
				return p.fail("%s cannot refer to %s", sp.Code, mod)
			}
			c.Modifier, c.TargetType = ModType, mod
			return nil
		}
	}
	if !ok {
		return p.fail("unknown modifier :%s for %s parameter %s", mod, sp.Type, sp.Code)
	}
	c.Modifier = m
	return nil
}

// value parses one value of an OR list for c's parameter and modifier.
func (p *parser) value(c *Clause, raw string) (Value, error) {
	v := Value{Raw: raw}
	if raw == "" {
		return v, p.fail("empty value in the list")
	}
	if c.Modifier == ModMissing {
		switch raw {
		case "true", "false":
			b := raw == "true"
			v.Missing = &b
			return v, nil
		}
		return v, p.fail(":missing takes true or false, not %q", raw)
	}
	err := p.typed(&v, c.Param, c.Modifier, c.TargetType, raw)
	return v, err
}

func (p *parser) typed(v *Value, sp fhirdef.SearchParameter, mod Modifier, targetType, raw string) error {
	s := unescape(raw)
	switch sp.Type {
	case "number", "date", "quantity":
		pre, rest, err := cutPrefix(s)
		if err != nil {
			return p.fail("%q: %v", s, err)
		}
		if len(sp.Comparators) > 0 && !slices.Contains(sp.Comparators, string(pre)) {
			return p.fail("%s does not take the prefix %s", sp.Code, pre)
		}
		v.Prefix = pre
		switch sp.Type {
		case "number":
			n, ok := parseNumber(rest)
			if !ok {
				return p.fail("%q is not a valid number", s)
			}
			v.Number = &n
		case "date":
			d, ok := parseDate(rest, p.opts.Location)
			if !ok {
				return p.fail("%q is not a valid date", s)
			}
			v.Date = &d
			// a zone's '+' decoded as a space goes back as '+'
			v.Raw = strings.ReplaceAll(v.Raw, " ", "+")
		default:
			body := raw
			if len(rest) < len(s) { // a prefix was written; it has no escapes
				body = raw[2:]
			}
			parts := splitEsc(body, '|')
			if len(parts) != 1 && len(parts) != 3 {
				return p.fail("%q is not a valid quantity: number, number|system|code or number||code", s)
			}
			n, ok := parseNumber(unescape(parts[0]))
			if !ok {
				return p.fail("%q is not a valid quantity: %q is not a number", s, unescape(parts[0]))
			}
			qt := Quantity{Number: n}
			if len(parts) == 3 {
				qt.System, qt.Code = unescape(parts[1]), unescape(parts[2])
			}
			v.Quantity = &qt
		}
	case "string":
		v.Str = &StringValue{Text: s, Normalized: Normalize(s)}
	case "token":
		switch mod {
		case ModText:
			v.Str = &StringValue{Text: s, Normalized: Normalize(s)}
		case ModIn, ModNotIn:
			v.URI = s
		case ModOfType:
			parts := splitEsc(raw, '|')
			if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
				return p.fail("%q: :of-type takes system|code|value", s)
			}
			v.Token = &Token{System: unescape(parts[0]), Code: unescape(parts[1]), HasSystem: true, Value: unescape(parts[2])}
		default:
			t, err := p.token(raw)
			if err != nil {
				return err
			}
			v.Token = t
		}
	case "uri":
		v.URI = s
	case "reference":
		switch mod {
		case ModIdentifier:
			t, err := p.token(raw)
			if err != nil {
				return err
			}
			v.Token = t
		default:
			r, err := p.reference(sp, targetType, raw)
			if err != nil {
				return err
			}
			v.Reference = r
		}
	case "composite":
		parts := splitEsc(raw, '$')
		if len(parts) != len(sp.Components) {
			return p.fail("%q: %s takes %d values joined by $", s, sp.Code, len(sp.Components))
		}
		for i, part := range parts {
			csp, ok := p.opts.Params.ByURL(sp.Components[i].Definition)
			if !ok || csp.Type == "composite" {
				return unsupported(p.key, "component %s of %s is not supported", sp.Components[i].Definition, sp.Code)
			}
			if part == "" {
				return p.fail("%q: component %d is empty", s, i+1)
			}
			cv := Value{Raw: part}
			if err := p.typed(&cv, csp, ModNone, "", part); err != nil {
				return err
			}
			v.Composite = append(v.Composite, cv)
		}
	case "special": // _list
		if !idRE.MatchString(s) && !strings.HasPrefix(s, "$") {
			return p.fail("%q is not a List id", s)
		}
		v.Reference = &Reference{Type: "List", ID: s}
	default:
		return unsupported(p.key, "parameters of type %s are not supported", sp.Type)
	}
	return nil
}

// token parses [system|]code.
func (p *parser) token(raw string) (*Token, error) {
	parts := splitEsc(raw, '|')
	switch {
	case len(parts) == 1:
		return &Token{Code: unescape(raw)}, nil
	case len(parts) == 2 && (parts[0] != "" || parts[1] != ""):
		return &Token{System: unescape(parts[0]), Code: unescape(parts[1]), HasSystem: true}, nil
	}
	return nil, p.fail("%q is not a valid token: code, system|code, |code or system|", unescape(raw))
}

// reference parses Type/id[/_history/version], id, or an absolute URL
// [|version].
func (p *parser) reference(sp fhirdef.SearchParameter, targetType, raw string) (*Reference, error) {
	s := unescape(raw)
	if isAbsolute(s) {
		r := &Reference{URL: s}
		if parts := splitEsc(raw, '|'); len(parts) == 2 {
			r.URL, r.Version = unescape(parts[0]), unescape(parts[1])
		}
		return r, nil
	}
	segs := strings.Split(s, "/")
	r := &Reference{}
	switch {
	case len(segs) == 1:
		r.ID = segs[0]
	case len(segs) == 2 || len(segs) == 4 && segs[2] == "_history":
		r.Type, r.ID = segs[0], segs[1]
		if len(segs) == 4 {
			r.Version = segs[3]
			if !idRE.MatchString(r.Version) {
				return nil, p.fail("%q is not a valid reference: bad version", s)
			}
		}
		if !fhirdef.IsResourceType(r.Type) {
			return nil, p.fail("%q is not a valid reference: %q is not a resource type", s, r.Type)
		}
		if len(sp.Target) > 0 && !slices.Contains(sp.Target, r.Type) {
			return nil, p.fail("%q: %s cannot refer to %s", s, sp.Code, r.Type)
		}
		if targetType != "" && r.Type != targetType {
			return nil, p.fail("%q is not a reference to %s", s, targetType)
		}
	default:
		return nil, p.fail("%q is not a valid reference: Type/id, id or an absolute URL", s)
	}
	if !idRE.MatchString(r.ID) {
		return nil, p.fail("%q is not a valid reference: bad id", s)
	}
	if r.Type == "" {
		r.Type = targetType
	}
	return r, nil
}
