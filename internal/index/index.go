// Package index turns a resource into the rows the store indexes it by:
// its patient-compartment key (the person it belongs to, which is also the
// key the database can later shard by) and its search index values, one
// typed row per value of every official R4 search parameter.
//
// # Row encodings (what the SQL planner matches against)
//
// Every row names its parameter (Param, the search parameter's code).
// _id and _lastUpdated have no rows: the planner reads the resource
// table's res_id and last_updated. _profile, _tag, _security and _source
// are indexed like any other parameter.
//
//   - token (idx_token): System and Code; Display is search.Normalize of
//     Coding.display (on each coding's row) for :text. A CodeableConcept's
//     text is an extra row with empty System and Code and Display set.
//     Coding, CodeableConcept (each coding), Identifier (system, value),
//     ContactPoint (system, value), and code/boolean/string/id/uri
//     primitives (Code only; booleans as "true"/"false"). An Identifier
//     with a type adds, for :of-type, one row per type coding with Param
//     "<param>:of-type", System the type coding's system and Code
//     "<type code>|<identifier value>".
//   - string (idx_string): Norm = search.Normalize(value), Exact = value,
//     for string/markdown primitives, each HumanName part (family, given,
//     prefix, suffix, text) and each Address part (line, city, district,
//     state, postalCode, country, text).
//   - date (idx_date): [Low, High] in microseconds since the epoch, UTC,
//     inclusive, from the precision written: "2024" covers the whole year,
//     "2024-03-01T10:00:00Z" the whole second, ".123" the millisecond; an
//     instant is exact (Low = High). A dateTime without a timezone is read
//     as UTC. Period gives start..end with a missing end as
//     math.MinInt64 / math.MaxInt64; Timing gives one row per event (or its
//     repeat.boundsPeriod when it has none).
//   - reference (idx_reference): Type, ID, Version from "Type/id",
//     "Type/id/_history/v" or the same tail of an absolute URL; URL is the
//     absolute URL, urn:uuid:/urn:oid:, or a canonical without its
//     "|version" (which goes to Version); IDSystem/IDValue from
//     Reference.identifier (a reference holding only an identifier gives a
//     row with those alone). Contained references ("#id") are not indexed.
//   - quantity (idx_quantity): Value, [Low, High] = Value ± half a unit of
//     the last written digit, System, Code (Quantity.code, else .unit);
//     Money uses System "urn:iso:std:iso:4217" and the currency as Code.
//     CanonValue/CanonCode: the value in the canonical UCUM unit (g, L, m,
//     s, mol/L, g/L, ...) for units in ucumCanon; for any other UCUM unit
//     the value and code unchanged; CanonCode "" when the system is not
//     UCUM.
//   - number (idx_number): Value and Value ± half a unit of the last digit.
//   - uri (idx_uri): the string as written.
//   - composite (idx_composite): one row per tuple of component values
//     found on the same element of the composite's expression (the
//     cartesian product when a component has several values), components
//     in definition order in C1..C3, each encoded as text by the
//     component parameter's type: token "system|code" ("|code" when there
//     is no system), quantity "value|system|code" (value as Go's 'g'
//     format of the float64), date "low..high" (the microsecond range
//     above, decimal), string normalised, reference "Type/id" (or the URL),
//     number 'g' format, uri as written.
//   - compartment (idx_compartment): one row per distinct Patient whose
//     compartment the resource is in, from the reference values of the
//     official CompartmentDefinition's parameters for the type that point
//     at a local Patient ("Patient/id"); a Patient is in its own with Param
//     "_id", first. The resource's PatientKey is the first of them.
//   - text (idx_text, scope All only): at most two rows of words, each
//     text " w1 w2 ... wn " (one space between words and one before the
//     first and after the last, so that LIKE '% word %' matches a whole
//     word), normalised with search.Normalize and split at white space;
//     punctuation stays in its word ("well." in "is well."). Param "_text":
//     the narrative (text.div) with tags and comments stripped (inline
//     elements such as <b> and <span> do not split words, the others do)
//     and character references (&amp; &nbsp; &#233;) decoded. Param
//     "_content": each word once, in order of first appearance, of every
//     string, code, markdown, uri and url value in the resource (displays,
//     texts, names, addresses, notes, identifier and telecom values,
//     systems), its narrative, its contained resources and its extensions'
//     values, the members of each object walked in sorted order; ids,
//     Reference.reference, canonicals, Extension.url, dates, numbers,
//     booleans and base64Binary are left out. Words longer than 256 bytes
//     are dropped, and a text is cut at a word boundary so that it is at
//     most MaxTextLen (16 KiB). No row when there are no words.
//
// A parameter's rows for one resource are distinct: values that give the
// same row (the two sides of a union, two codings alike) give it once.
// Expressions are evaluated as written, including their values for absent
// elements: Patient.deceased ("deceased.exists() and deceased != false")
// gives "false" for a Patient without deceased[x].
//
// Work is bounded: token and string values longer than MaxTokenLen are
// skipped, one parameter gives a resource at most MaxParamRows rows of a
// kind (1000: a Provenance with more targets is found by its first 1000),
// a resource gives at most MaxRows rows (the rest are dropped and counted
// by Dropped), and FHIRPath evaluation is itself bounded. Parameters are
// not evaluated for a resource that lacks the members their expression
// starts from (see plan.go).
package index

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/fhirpath"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// MaxTokenLen is the longest code or identifier value indexed. Longer ones
// are stored with the resource but not indexed: nothing real is that long,
// and PostgreSQL's btree refuses entries past about 2.7 KB.
const MaxTokenLen = 1024

// MaxRows bounds the index rows of one resource.
const MaxRows = 2000

// MaxParamRows bounds the rows of one kind one parameter gives a resource,
// so that one long list (a Provenance's targets, a List's entries) cannot
// crowd the others out of MaxRows.
const MaxParamRows = 1000

// maxTuples bounds the composite tuples of one element.
const maxTuples = 64

var dropped, evalErrors atomic.Int64

// Dropped returns how many index rows were dropped because a resource had
// more than MaxRows, since the process started.
func Dropped() int64 { return dropped.Load() }

// EvalErrors returns how many search parameter expressions failed to
// evaluate (the parameter is then not indexed for that resource).
func EvalErrors() int64 { return evalErrors.Load() }

// Scope says which search parameters Compute extracts.
type Scope int

const (
	// Conditional extracts only identifier tokens and the Patient
	// compartment (the patient key): a few rows per resource, for bulk
	// loads that reindex afterwards (--search-index conditional).
	Conditional Scope = iota
	// All extracts every R4 search parameter and the _text and _content
	// rows: about 15 rows per resource on Synthea (two of them text), and
	// most of the cost of a write (see docs/PERFORMANCE.md). The default,
	// as search needs it.
	All
)

// Compute returns the index rows of resource m, whose id is id, for R4's
// parameters in scope, and its patient key.
func Compute(m fhir.Object, id string, scope Scope) (store.Index, string) {
	return R4().Compute(m, id, scope)
}

// Compute returns the index rows of resource m, whose id is id, for the
// parameters of d in scope, and its patient key.
func (d *Definitions) Compute(m fhir.Object, id string, scope Scope) (store.Index, string) {
	return d.compute(m, id, scope, true)
}

// compute is Compute; useKeys false evaluates every parameter, even those
// whose keys say they have no value (tests check that they do not).
func (d *Definitions) compute(m fhir.Object, id string, scope Scope, useKeys bool) (store.Index, string) {
	rt, _ := m["resourceType"].(string)
	x := &extractor{}
	if rt == "Patient" && id != "" {
		x.ix.Compartments = append(x.ix.Compartments, store.Compartment{Param: "_id", Patient: id})
	}
	// Patients by compartment parameter, in the CompartmentDefinition's
	// order, so the first (the patient key) is the subject or patient.
	var byParam [][]store.Compartment
	// Boxed once: as an interface argument it would be allocated anew for
	// every expression.
	var root any = fhirpath.FromResource(map[string]any(m))
	var vals []fhirpath.Value
	for _, p := range d.plansFor(rt) {
		if scope == Conditional && p.compart == 0 && p.code != "identifier" {
			continue
		}
		vals = vals[:0]
		failed := false
		for _, pt := range p.parts {
			if useKeys && pt.keys != nil && !present(m, pt.keys) {
				continue
			}
			v, err := pt.expr.EvaluateOptions(root, nil, fhirpath.Options{})
			if err != nil {
				evalErrors.Add(1)
				failed = true
				break
			}
			vals = append(vals, v...)
		}
		if failed || len(vals) == 0 {
			continue
		}
		start := x.lens()
		if p.typ == "composite" {
			x.composite(p, vals)
		} else {
			for _, v := range vals {
				x.value(p.code, p.typ, v)
			}
		}
		x.tidy(start)
		if p.compart > 0 {
			for _, r := range x.ix.References[start[kindReference]:] {
				if r.Type == "Patient" && r.ID != "" && r.URL == "" {
					for len(byParam) < p.compart {
						byParam = append(byParam, nil)
					}
					byParam[p.compart-1] = append(byParam[p.compart-1], store.Compartment{Param: p.code, Patient: r.ID})
				}
			}
		}
	}
	for _, cs := range byParam {
		for _, c := range cs {
			x.compartment(c.Param, c.Patient)
		}
	}
	if scope == All {
		x.texts(m, rt)
	}
	// Bound the rows.
	if x.ix.Rows() > MaxRows {
		x.ix = bound(x.ix)
	}
	pk := ""
	if len(x.ix.Compartments) > 0 {
		pk = x.ix.Compartments[0].Patient
	}
	return x.ix, pk
}

type extractor struct {
	ix store.Index
}

// The kinds of rows a parameter can give.
const (
	kindToken = iota
	kindString
	kindDate
	kindReference
	kindQuantity
	kindNumber
	kindURI
	kindComposite
	nKinds
)

// lens returns how many rows of each kind there are.
func (x *extractor) lens() [nKinds]int {
	ix := &x.ix
	return [nKinds]int{len(ix.Tokens), len(ix.Strings), len(ix.Dates), len(ix.References),
		len(ix.Quantities), len(ix.Numbers), len(ix.URIs), len(ix.Composites)}
}

// tidy removes the duplicates among the rows one parameter added since
// start (two parts of a union, or two values, giving the same row), and
// keeps at most MaxParamRows of each kind.
func (x *extractor) tidy(start [nKinds]int) {
	ix := &x.ix
	ix.Tokens = tidy(ix.Tokens, start[kindToken])
	ix.Strings = tidy(ix.Strings, start[kindString])
	ix.Dates = tidy(ix.Dates, start[kindDate])
	ix.References = tidy(ix.References, start[kindReference])
	ix.Quantities = tidy(ix.Quantities, start[kindQuantity])
	ix.Numbers = tidy(ix.Numbers, start[kindNumber])
	ix.URIs = tidy(ix.URIs, start[kindURI])
	ix.Composites = tidy(ix.Composites, start[kindComposite])
}

func tidy[T comparable](rows []T, start int) []T {
	n := len(rows) - start
	if n < 2 {
		return rows
	}
	out := rows[:start+1]
	if n <= 16 {
	next:
		for _, r := range rows[start+1:] {
			for _, o := range out[start:] {
				if o == r {
					continue next
				}
			}
			out = append(out, r)
		}
	} else {
		seen := make(map[T]struct{}, n)
		seen[rows[start]] = struct{}{}
		for _, r := range rows[start+1:] {
			if _, dup := seen[r]; !dup {
				seen[r] = struct{}{}
				out = append(out, r)
			}
		}
	}
	if len(out)-start > MaxParamRows {
		dropped.Add(int64(len(out) - start - MaxParamRows))
		out = out[:start+MaxParamRows]
	}
	clear(rows[len(out):])
	return out
}

func (x *extractor) compartment(param, pid string) {
	for _, c := range x.ix.Compartments {
		if c.Patient == pid {
			return
		}
	}
	x.ix.Compartments = append(x.ix.Compartments, store.Compartment{Param: param, Patient: pid})
}

// bound keeps at most MaxRows rows, compartments, text rows and identifier
// tokens first, then kind by kind.
func bound(ix store.Index) store.Index {
	left := MaxRows
	before := ix.Rows()
	take := func(n int) int {
		k := min(n, left)
		left -= k
		return k
	}
	ix.Compartments = ix.Compartments[:take(len(ix.Compartments))]
	ix.Texts = ix.Texts[:take(len(ix.Texts))]
	ix.Tokens = ix.Tokens[:take(len(ix.Tokens))]
	ix.References = ix.References[:take(len(ix.References))]
	ix.Strings = ix.Strings[:take(len(ix.Strings))]
	ix.Dates = ix.Dates[:take(len(ix.Dates))]
	ix.Quantities = ix.Quantities[:take(len(ix.Quantities))]
	ix.Numbers = ix.Numbers[:take(len(ix.Numbers))]
	ix.URIs = ix.URIs[:take(len(ix.URIs))]
	ix.Composites = ix.Composites[:take(len(ix.Composites))]
	dropped.Add(int64(before - ix.Rows()))
	return ix
}

// value adds the rows of one value of a parameter of type typ.
func (x *extractor) value(code, typ string, v fhirpath.Value) {
	switch typ {
	case "token":
		x.token(code, v)
	case "string":
		x.str(code, v)
	case "date":
		x.date(code, v)
	case "reference":
		x.reference(code, v)
	case "quantity":
		x.quantity(code, v)
	case "number":
		x.number(code, v)
	case "uri":
		if s := primString(v); s != "" && len(s) <= MaxTokenLen {
			x.ix.URIs = append(x.ix.URIs, store.URI{Param: code, URI: s})
		}
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// primString is the string form of a primitive value, "" for others.
func primString(v fhirpath.Value) string {
	switch n := v.Node().(type) {
	case string:
		return n
	case bool:
		return strconv.FormatBool(n)
	case json.Number:
		return string(n)
	case map[string]any, nil:
		return ""
	}
	if v.Namespace() == "System" {
		return v.String()
	}
	return ""
}

func okLen(s string) bool { return s != "" && len(s) <= MaxTokenLen }

func (x *extractor) addToken(param, system, code, display string) {
	if len(system) > MaxTokenLen || len(code) > MaxTokenLen {
		return
	}
	if code == "" && display == "" {
		return
	}
	if len(display) > MaxTokenLen {
		display = ""
		if code == "" {
			return
		}
	}
	x.ix.Tokens = append(x.ix.Tokens, store.Token{Param: param, System: system, Code: code, Display: display})
}

func (x *extractor) coding(param string, c map[string]any) {
	d := str(c, "display")
	if d != "" {
		d = search.Normalize(d)
	}
	if code := str(c, "code"); code != "" {
		x.addToken(param, str(c, "system"), code, d)
	}
}

func (x *extractor) token(param string, v fhirpath.Value) {
	m, ok := v.Node().(map[string]any)
	if !ok {
		if s := primString(v); okLen(s) {
			x.addToken(param, "", s, "")
		}
		return
	}
	switch v.Type() {
	case "Coding":
		x.coding(param, m)
	case "CodeableConcept":
		if cs, ok := m["coding"].([]any); ok {
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					x.coding(param, cm)
				}
			}
		}
		if t := str(m, "text"); t != "" {
			x.addToken(param, "", "", search.Normalize(t))
		}
	case "Identifier":
		value := str(m, "value")
		if !okLen(value) {
			return
		}
		x.addToken(param, str(m, "system"), value, "")
		if t, ok := m["type"].(map[string]any); ok {
			if cs, ok := t["coding"].([]any); ok {
				for _, c := range cs {
					if cm, ok := c.(map[string]any); ok && str(cm, "code") != "" {
						x.addToken(param+":of-type", str(cm, "system"), str(cm, "code")+"|"+value, "")
					}
				}
			}
		}
	case "ContactPoint":
		if value := str(m, "value"); okLen(value) {
			x.addToken(param, str(m, "system"), value, "")
		}
	}
}

func (x *extractor) addString(param, s string) {
	if !okLen(s) {
		return
	}
	x.ix.Strings = append(x.ix.Strings, store.String{Param: param, Norm: search.Normalize(s), Exact: s})
}

func (x *extractor) strParts(param string, m map[string]any, keys ...string) {
	for _, k := range keys {
		switch n := m[k].(type) {
		case string:
			x.addString(param, n)
		case []any:
			for _, e := range n {
				if s, ok := e.(string); ok {
					x.addString(param, s)
				}
			}
		}
	}
}

func (x *extractor) str(param string, v fhirpath.Value) {
	m, ok := v.Node().(map[string]any)
	if !ok {
		x.addString(param, primString(v))
		return
	}
	switch v.Type() {
	case "HumanName":
		x.strParts(param, m, "family", "given", "prefix", "suffix", "text")
	case "Address":
		x.strParts(param, m, "line", "city", "district", "state", "postalCode", "country", "text")
	}
}

// Date ranges.

// DateRange returns the range of microseconds (inclusive) a FHIR date,
// dateTime or instant covers given its precision; exact gives the instant
// itself (Low = High).
func DateRange(s string, exact bool) (lo, hi int64, ok bool) {
	var t time.Time
	var next func(time.Time) time.Time
	var err error
	switch len(s) {
	case 4:
		t, err = time.Parse("2006", s)
		next = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case 7:
		t, err = time.Parse("2006-01", s)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case 10:
		t, err = time.Parse("2006-01-02", s)
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	default:
		if len(s) < 16 || s[10] != 'T' {
			return 0, 0, false
		}
		body := s
		if !strings.HasSuffix(s, "Z") && !strings.ContainsAny(s[11:], "+-") {
			body = s + "Z"
		}
		if len(body) >= 17 && body[16] != ':' { // hh:mm only
			t, err = time.Parse("2006-01-02T15:04Z07:00", body)
			next = func(t time.Time) time.Time { return t.Add(time.Minute) }
			break
		}
		t, err = time.Parse(time.RFC3339Nano, body)
		digits := 0
		if i := strings.IndexByte(body, '.'); i >= 0 {
			j := i + 1
			for j < len(body) && body[j] >= '0' && body[j] <= '9' {
				j++
			}
			digits = j - i - 1
		}
		step := time.Second
		for range min(digits, 6) {
			step /= 10
		}
		next = func(t time.Time) time.Time { return t.Add(step) }
	}
	if err != nil {
		return 0, 0, false
	}
	t = t.UTC()
	lo = t.UnixMicro()
	if exact {
		return lo, lo, true
	}
	return lo, next(t).UnixMicro() - 1, true
}

func (x *extractor) addDate(param string, lo, hi int64) {
	x.ix.Dates = append(x.ix.Dates, store.Date{Param: param, Low: lo, High: hi})
}

func (x *extractor) date(param string, v fhirpath.Value) {
	if lo, hi, ok := dateOf(v); ok {
		x.addDate(param, lo, hi)
		return
	}
	m, ok := v.Node().(map[string]any)
	if !ok {
		return
	}
	switch v.Type() {
	case "Period":
		if lo, hi, ok := period(m); ok {
			x.addDate(param, lo, hi)
		}
	case "Timing":
		n := 0
		if ev, ok := m["event"].([]any); ok {
			for _, e := range ev {
				if s, ok := e.(string); ok {
					if lo, hi, ok := DateRange(s, false); ok {
						x.addDate(param, lo, hi)
						n++
					}
				}
			}
		}
		if n == 0 {
			if r, ok := m["repeat"].(map[string]any); ok {
				if bp, ok := r["boundsPeriod"].(map[string]any); ok {
					if lo, hi, ok := period(bp); ok {
						x.addDate(param, lo, hi)
					}
				}
			}
		}
	}
}

// dateOf reads a date, dateTime or instant value.
func dateOf(v fhirpath.Value) (int64, int64, bool) {
	if v.Namespace() == "System" {
		switch v.Type() {
		case fhirpath.TDate, fhirpath.TDateTime:
			return DateRange(strings.TrimPrefix(v.String(), "@"), false)
		}
		return 0, 0, false
	}
	s, ok := v.Node().(string)
	if !ok {
		return 0, 0, false
	}
	switch v.Type() {
	case "instant":
		return DateRange(s, true)
	case "date", "dateTime", "string":
		return DateRange(s, false)
	}
	return 0, 0, false
}

func period(m map[string]any) (int64, int64, bool) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	var okS, okE bool
	if s := str(m, "start"); s != "" {
		lo, _, okS = DateRange(s, false)
		if !okS {
			lo = math.MinInt64
		}
	}
	if e := str(m, "end"); e != "" {
		_, hi, okE = DateRange(e, false)
		if !okE {
			hi = math.MaxInt64
		}
	}
	return lo, hi, okS || okE
}

// References.

// ParseReference splits a reference string into type, id and version (from
// "Type/id[/_history/v]", also at the end of an absolute URL) and the URL
// (absolute or canonical, without "|version").
func ParseReference(s string) (typ, id, version, url string) {
	if s == "" || s[0] == '#' {
		return
	}
	abs := strings.Contains(s, ":")
	if abs {
		url = s
		if i := strings.LastIndexByte(s, '|'); i >= 0 {
			url, version = s[:i], s[i+1:]
		}
		if strings.HasPrefix(s, "urn:") {
			return
		}
	}
	path := s
	if abs {
		path = url
	}
	// The last four segments, last first (a Split would allocate for every
	// reference indexed).
	var seg [4]string
	n := 0
	for rest := path; n < len(seg); {
		i := strings.LastIndexByte(rest, '/')
		seg[n] = rest[i+1:]
		n++
		if i < 0 {
			break
		}
		rest = rest[:i]
	}
	if n == 4 && seg[1] == "_history" && fhirdef.IsResourceType(seg[3]) {
		return seg[3], seg[2], seg[0], url
	}
	if n >= 2 && fhirdef.IsResourceType(seg[1]) && seg[0] != "" {
		return seg[1], seg[0], version, url
	}
	return "", "", version, url
}

func (x *extractor) reference(param string, v fhirpath.Value) {
	m, ok := v.Node().(map[string]any)
	if !ok {
		s := primString(v)
		if !okLen(s) {
			return
		}
		t, id, ver, url := ParseReference(s)
		if t == "" && url == "" {
			return
		}
		x.ix.References = append(x.ix.References, store.Reference{Param: param, Type: t, ID: id, Version: ver, URL: url})
		return
	}
	r := store.Reference{Param: param}
	if s := str(m, "reference"); okLen(s) {
		r.Type, r.ID, r.Version, r.URL = ParseReference(s)
		if r.Type == "" && r.URL == "" && r.ID == "" {
			return // contained or unparseable: nothing to find it by
		}
	}
	if r.Type == "" {
		r.Type = str(m, "type")
	}
	if idm, ok := m["identifier"].(map[string]any); ok {
		if val := str(idm, "value"); okLen(val) {
			r.IDSystem, r.IDValue = str(idm, "system"), val
		}
	}
	if r.ID == "" && r.URL == "" && r.IDValue == "" {
		return
	}
	if len(r.IDSystem) > MaxTokenLen {
		r.IDSystem = ""
	}
	x.ix.References = append(x.ix.References, r)
}

// Numbers and quantities.

// decimalRange parses a JSON number and returns it with the range its
// written precision implies.
func decimalRange(n json.Number) (v, lo, hi float64, ok bool) {
	s := string(n)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, 0, 0, false
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		exp, _ = strconv.Atoi(s[i+1:])
	}
	scale := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		scale = len(mant) - i - 1
	}
	half := 0.5 * math.Pow10(exp-scale)
	return f, f - half, f + half, true
}

func number(node any) (json.Number, bool) {
	switch n := node.(type) {
	case json.Number:
		return n, true
	case float64:
		return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), true
	}
	return "", false
}

func (x *extractor) number(param string, v fhirpath.Value) {
	if n, ok := number(v.Node()); ok {
		if f, lo, hi, ok := decimalRange(n); ok {
			x.ix.Numbers = append(x.ix.Numbers, store.Number{Param: param, Value: f, Low: lo, High: hi})
		}
		return
	}
	if v.Namespace() == "System" && (v.Type() == fhirpath.TDecimal || v.Type() == fhirpath.TInteger) {
		if f, lo, hi, ok := decimalRange(json.Number(v.String())); ok {
			x.ix.Numbers = append(x.ix.Numbers, store.Number{Param: param, Value: f, Low: lo, High: hi})
		}
		return
	}
	if m, ok := v.Node().(map[string]any); ok && v.Type() == "Range" {
		lo, hi := math.Inf(-1), math.Inf(1)
		if l, ok := quantityValue(m["low"]); ok {
			lo = l
		}
		if h, ok := quantityValue(m["high"]); ok {
			hi = h
		}
		if !math.IsInf(lo, 0) || !math.IsInf(hi, 0) {
			mid := lo
			if math.IsInf(mid, 0) {
				mid = hi
			}
			x.ix.Numbers = append(x.ix.Numbers, store.Number{Param: param, Value: mid, Low: clampInf(lo), High: clampInf(hi)})
		}
	}
}

func clampInf(f float64) float64 {
	if math.IsInf(f, -1) {
		return -math.MaxFloat64
	}
	if math.IsInf(f, 1) {
		return math.MaxFloat64
	}
	return f
}

func quantityValue(node any) (float64, bool) {
	m, ok := node.(map[string]any)
	if !ok {
		return 0, false
	}
	n, ok := number(m["value"])
	if !ok {
		return 0, false
	}
	f, _, _, ok := decimalRange(n)
	return f, ok
}

// UCUM is the system of UCUM units.
const UCUM = "http://unitsofmeasure.org"

// ucumCanon maps common UCUM units to (factor, canonical unit).
var ucumCanon = map[string]struct {
	f    float64
	unit string
}{
	"kg": {1000, "g"}, "g": {1, "g"}, "mg": {1e-3, "g"}, "ug": {1e-6, "g"}, "ng": {1e-9, "g"}, "pg": {1e-12, "g"},
	"[lb_av]": {453.59237, "g"}, "[oz_av]": {28.349523125, "g"},
	"L": {1, "L"}, "l": {1, "L"}, "dL": {0.1, "L"}, "cL": {0.01, "L"}, "mL": {1e-3, "L"}, "uL": {1e-6, "L"}, "fL": {1e-15, "L"},
	"km": {1000, "m"}, "m": {1, "m"}, "cm": {0.01, "m"}, "mm": {1e-3, "m"}, "um": {1e-6, "m"}, "[in_i]": {0.0254, "m"}, "[ft_i]": {0.3048, "m"},
	"s": {1, "s"}, "ms": {1e-3, "s"}, "min": {60, "s"}, "h": {3600, "s"}, "d": {86400, "s"}, "wk": {604800, "s"},
	"mo": {2629800, "s"}, "a": {31557600, "s"},
	"mol/L": {1, "mol/L"}, "mmol/L": {1e-3, "mol/L"}, "umol/L": {1e-6, "mol/L"}, "nmol/L": {1e-9, "mol/L"}, "pmol/L": {1e-12, "mol/L"},
	"g/L": {1, "g/L"}, "g/dL": {10, "g/L"}, "mg/dL": {0.01, "g/L"}, "mg/L": {1e-3, "g/L"}, "ug/L": {1e-6, "g/L"}, "ng/mL": {1e-6, "g/L"}, "ug/mL": {1e-3, "g/L"}, "pg/mL": {1e-9, "g/L"},
	"kg/m2": {1000, "g/m2"}, "g/m2": {1, "g/m2"},
	"Pa": {1, "Pa"}, "kPa": {1000, "Pa"}, "mm[Hg]": {133.322387415, "Pa"},
	"/min": {1.0 / 60, "/s"}, "{beats}/min": {1.0 / 60, "{beats}/s"}, "{breaths}/min": {1.0 / 60, "{breaths}/s"},
}

// Canonical returns value in the canonical unit of a UCUM code, or value
// and code unchanged when the unit is not one of the common ones.
func Canonical(value float64, code string) (float64, string) {
	if c, ok := ucumCanon[code]; ok {
		return value * c.f, c.unit
	}
	return value, code
}

func (x *extractor) quantity(param string, v fhirpath.Value) {
	if q, ok := quantityRow(param, v); ok {
		x.ix.Quantities = append(x.ix.Quantities, q)
	}
}

func quantityRow(param string, v fhirpath.Value) (store.Quantity, bool) {
	m, ok := v.Node().(map[string]any)
	if !ok {
		return store.Quantity{}, false
	}
	n, ok := number(m["value"])
	if !ok {
		return store.Quantity{}, false
	}
	f, lo, hi, ok := decimalRange(n)
	if !ok {
		return store.Quantity{}, false
	}
	q := store.Quantity{Param: param, Value: f, Low: lo, High: hi, CanonValue: f}
	if v.Type() == "Money" {
		q.System, q.Code = "urn:iso:std:iso:4217", str(m, "currency")
	} else {
		q.System, q.Code = str(m, "system"), str(m, "code")
		if q.Code == "" {
			q.Code = str(m, "unit")
		}
	}
	if len(q.System) > MaxTokenLen || len(q.Code) > MaxTokenLen {
		return store.Quantity{}, false
	}
	if q.System == UCUM && q.Code != "" {
		q.CanonValue, q.CanonCode = Canonical(f, q.Code)
	}
	return q, true
}

// Composites.

func (x *extractor) composite(p *param, elems []fhirpath.Value) {
	for _, v := range elems {
		var el any = v
		var cols [][]string
		for _, c := range p.components {
			vals, err := c.expr.EvaluateOptions(el, nil, fhirpath.Options{})
			if err != nil {
				evalErrors.Add(1)
				cols = nil
				break
			}
			var enc []string
			for _, v := range vals {
				enc = append(enc, encode(c.typ, v)...)
			}
			if len(enc) == 0 {
				cols = nil
				break
			}
			cols = append(cols, enc)
		}
		if cols == nil {
			continue
		}
		n := 0
		var walk func(i int, t [3]string)
		walk = func(i int, t [3]string) {
			if n >= maxTuples {
				return
			}
			if i == len(cols) {
				n++
				x.ix.Composites = append(x.ix.Composites, store.Composite{Param: p.code, C1: t[0], C2: t[1], C3: t[2]})
				return
			}
			for _, s := range cols[i] {
				t[i] = s
				walk(i+1, t)
			}
		}
		walk(0, [3]string{})
	}
}

// encode gives the text forms of one component value (see the package
// documentation).
func encode(typ string, v fhirpath.Value) []string {
	var sub extractor
	sub.value("c", typ, v)
	ix := &sub.ix
	var out []string
	for _, t := range ix.Tokens {
		if t.Code != "" {
			out = append(out, t.System+"|"+t.Code)
		}
	}
	for _, s := range ix.Strings {
		out = append(out, s.Norm)
	}
	for _, d := range ix.Dates {
		out = append(out, strconv.FormatInt(d.Low, 10)+".."+strconv.FormatInt(d.High, 10))
	}
	for _, r := range ix.References {
		switch {
		case r.Type != "" && r.ID != "":
			out = append(out, r.Type+"/"+r.ID)
		case r.URL != "":
			out = append(out, r.URL)
		}
	}
	for _, q := range ix.Quantities {
		out = append(out, strconv.FormatFloat(q.Value, 'g', -1, 64)+"|"+q.System+"|"+q.Code)
	}
	for _, n := range ix.Numbers {
		out = append(out, strconv.FormatFloat(n.Value, 'g', -1, 64))
	}
	for _, u := range ix.URIs {
		out = append(out, u.URI)
	}
	return out
}
