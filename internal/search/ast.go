package search

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// Query is a parsed, validated search.
type Query struct {
	ResourceType string   // "" for a system search
	Types        []string // _type of a system search, in the order given
	Clauses      []*Clause

	Sort          []SortKey
	Count         *int   // _count, capped at Options.MaxCount; nil when absent
	Total         string // none | estimate | accurate, or ""
	Summary       string // true | text | data | count | false, or ""
	Elements      []string
	Include       []Include
	RevInclude    []Include
	Contained     string // true | false | both, or ""
	ContainedType string // container | contained, or ""
	Page          string // opaque cursor, as given

	// Ignored lists what lenient handling dropped; it is not part of String.
	Ignored []Ignored
}

// Ignored is a parameter dropped under lenient handling.
type Ignored struct {
	Param  string // the key as written
	Reason string
}

// Clause is one occurrence of a search parameter: its values are ORed, the
// clauses of a query ANDed. A clause is a leaf (Values), a chain (Chain) or
// a reverse chain (Has).
type Clause struct {
	// Name is the key as written: "name:exact", "subject:Patient.name",
	// "_has:Observation:patient:code". In a chain's sub-clause it is the
	// rest of the key ("name").
	Name string
	// ResourceType is the type the clause is evaluated on: the searched
	// type, a chain's target type or a _has referring type ("" in a system
	// search).
	ResourceType string
	// Param is the parameter's definition; zero for a _has clause.
	Param    fhirdef.SearchParameter
	Modifier Modifier
	// TargetType is the type named by a reference modifier (ModType,
	// subject:Patient=123) or by a chain's explicit type
	// (subject:Patient.name).
	TargetType string

	Values []Value
	// Chain is set for a chained reference parameter: the clause matches
	// when Param references a resource of one of the sub-clauses' types
	// that matches that sub-clause.
	Chain []*Clause
	Has   *Has
}

// Has is a reverse chain: the clause matches a resource when some resource
// of Type refers to it through Ref and matches Clause.
type Has struct {
	Type   string
	Ref    fhirdef.SearchParameter
	Clause *Clause
}

// Modifier is a search parameter modifier.
type Modifier string

const (
	ModNone       Modifier = ""
	ModMissing    Modifier = "missing"
	ModExact      Modifier = "exact"
	ModContains   Modifier = "contains"
	ModText       Modifier = "text"
	ModNot        Modifier = "not"
	ModAbove      Modifier = "above"
	ModBelow      Modifier = "below"
	ModIn         Modifier = "in"
	ModNotIn      Modifier = "not-in"
	ModOfType     Modifier = "of-type"
	ModIdentifier Modifier = "identifier"
	ModType       Modifier = "type" // reference:[type]; the type is Clause.TargetType
)

// Prefix is the comparison prefix of a number, date or quantity value.
type Prefix string

const (
	Eq Prefix = "eq"
	Ne Prefix = "ne"
	Gt Prefix = "gt"
	Lt Prefix = "lt"
	Ge Prefix = "ge"
	Le Prefix = "le"
	Sa Prefix = "sa"
	Eb Prefix = "eb"
	Ap Prefix = "ap"
)

var prefixes = []Prefix{Eq, Ne, Gt, Lt, Ge, Le, Sa, Eb, Ap}

// Value is one value of an OR list. Raw is the text as written (escapes
// kept); exactly one of the typed parts is set, by the parameter's type and
// modifier: Missing for :missing; Number, Date, Quantity (with Prefix);
// Token (token, reference:identifier, token:of-type); Str (string,
// token:text, _text, _content); URI (uri, token:in, token:not-in);
// Reference; Composite (one Value per component).
type Value struct {
	Raw       string
	Prefix    Prefix // number, date and quantity only; Eq when none was written
	Missing   *bool
	Number    *Number
	Date      *Date
	Quantity  *Quantity
	Token     *Token
	Str       *StringValue
	URI       string
	Reference *Reference
	Composite []Value
}

// Number is a decimal kept as text, never through float64, with the range
// its precision implies: [Low, High).
type Number struct {
	Value string // plain decimal notation: "100", "1.50", "-0.5"; 1e2 gives "100"
	Low   string
	High  string
}

// Precision is the precision a date value was written with.
type Precision int

const (
	Year Precision = iota + 1
	Month
	Day
	Minute
	Second
	Fraction // Date.Digits digits of a second
)

// Date is a date, dateTime or instant as the half-open range [Low, High)
// it covers, in UTC.
type Date struct {
	Precision Precision
	Digits    int  // fraction digits, for Precision Fraction
	Zoned     bool // written with a time zone
	Low       time.Time
	High      time.Time
}

// Quantity is number|system|code; System and Code are empty when not given.
type Quantity struct {
	Number Number
	System string
	Code   string
}

// Token is [system|]code. HasSystem says a '|' was written: "code" matches
// any system, "|code" only codes without a system, "system|" any code of
// the system. For :of-type, System|Code is the identifier type and Value
// the identifier value.
type Token struct {
	System    string
	Code      string
	HasSystem bool
	Value     string
}

// StringValue is a string value and its normalised form (lower case,
// Unicode-decomposed, combining marks removed).
type StringValue struct {
	Text       string
	Normalized string
}

// Reference is a reference value: Type/ID[/_history/Version], a plain ID
// (Type empty: any target), or an absolute URL (with an optional |version
// for canonical references).
type Reference struct {
	Type    string
	ID      string
	Version string
	URL     string
}

// SortKey is one key of _sort.
type SortKey struct {
	Code  string
	Param fhirdef.SearchParameter
	Desc  bool
}

// Include is one _include or _revinclude: the references of Source's Param
// (every reference parameter when Wildcard) to Target (any when empty).
type Include struct {
	Source   string
	Code     string // the parameter code, "*" for the wildcard
	Param    fhirdef.SearchParameter
	Wildcard bool
	Target   string
	Iterate  bool
}

func (in Include) text() string {
	s := in.Source + ":" + in.Code
	if in.Target != "" {
		s += ":" + in.Target
	}
	return s
}

// String is the canonical query string of what was applied, for self
// links: parameters sorted by key (repeats in their order), values as
// written, result parameters included, ignored ones left out.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	type kv struct{ k, v string }
	var out []kv
	add := func(k, v string) { out = append(out, kv{k, v}) }
	if len(q.Types) > 0 {
		add("_type", strings.Join(q.Types, ","))
	}
	for _, c := range q.Clauses {
		raws := make([]string, len(c.leafValues()))
		for i, v := range c.leafValues() {
			raws[i] = v.Raw
		}
		add(c.Name, strings.Join(raws, ","))
	}
	if len(q.Sort) > 0 {
		keys := make([]string, len(q.Sort))
		for i, s := range q.Sort {
			keys[i] = s.Code
			if s.Desc {
				keys[i] = "-" + s.Code
			}
		}
		add("_sort", strings.Join(keys, ","))
	}
	if q.Count != nil {
		add("_count", strconv.Itoa(*q.Count))
	}
	if q.Total != "" {
		add("_total", q.Total)
	}
	if q.Summary != "" {
		add("_summary", q.Summary)
	}
	if len(q.Elements) > 0 {
		add("_elements", strings.Join(q.Elements, ","))
	}
	for _, in := range q.Include {
		k := "_include"
		if in.Iterate {
			k += ":iterate"
		}
		add(k, in.text())
	}
	for _, in := range q.RevInclude {
		k := "_revinclude"
		if in.Iterate {
			k += ":iterate"
		}
		add(k, in.text())
	}
	if q.Contained != "" {
		add("_contained", q.Contained)
	}
	if q.ContainedType != "" {
		add("_containedType", q.ContainedType)
	}
	if q.Page != "" {
		add("_page", q.Page)
	}
	slices.SortStableFunc(out, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	for i, p := range out {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeQuery(p.k))
		b.WriteByte('=')
		b.WriteString(escapeQuery(p.v))
	}
	return b.String()
}

// leafValues returns the values of the clause's leaf: for a chain, those of
// its first target (all targets share the values as written).
func (c *Clause) leafValues() []Value {
	for c != nil {
		switch {
		case c.Has != nil:
			c = c.Has.Clause
		case len(c.Chain) > 0:
			c = c.Chain[0]
		default:
			return c.Values
		}
	}
	return nil
}

// escapeQuery percent-encodes what must be encoded in a query component,
// leaving the characters FHIR search syntax uses (, | : $ /) readable.
func escapeQuery(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~,|:$/@!*'()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
