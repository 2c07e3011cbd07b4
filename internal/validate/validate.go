// Package validate checks a resource, decoded by fhir.DecodeResource, against
// the FHIR R4 definitions of package fhirdef before it is written: known
// resource type and elements, choice types, the JSON type and format of every
// primitive (with primitive extensions such as _birthDate), cardinality,
// required elements, enumerated required bindings on code elements, and the
// resources nested in contained, Bundle.entry.resource and Parameters.
//
// Every finding is a fhir.Issue whose expression is the FHIRPath of the
// offending element, such as Patient.name[0].given[1] or
// Observation.valueQuantity.value. Checking never panics, whatever the shape
// of the input.
package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// Issue codes (http://hl7.org/fhir/issue-type) used here.
const (
	CodeInvalid     = "invalid"      // unknown resource type
	CodeStructure   = "structure"    // unknown element, wrong JSON shape, cardinality
	CodeRequired    = "required"     // a mandatory element is missing
	CodeValue       = "value"        // a primitive value of the wrong JSON type or format
	CodeCodeInvalid = "code-invalid" // a code outside its required value set
	CodeInvariant   = "invariant"    // a core invariant (ext-1)
	CodeTooCostly   = "too-costly"   // too many findings, or nesting too deep
)

// DefaultMaxIssues is the number of issues after which checking stops.
const DefaultMaxIssues = 100

// maxDepth bounds the nesting of objects and arrays walked. fhir.Decode
// already refuses input nested deeper than fhir.MaxDepth; this guards callers
// that build maps themselves.
const maxDepth = 128

// maxString is the largest string value allowed: "strings SHALL NOT exceed
// 1MB in size" (R4 datatypes). base64Binary and xhtml are not bound by it.
const maxString = 1 << 20

// Options tune a check. The zero value is ready to use.
type Options struct {
	// MaxIssues stops the check after that many issues; 0 means
	// DefaultMaxIssues.
	MaxIssues int
	// UnknownElements reports elements the definitions do not have as
	// warnings instead of errors, so they are stored and read back as
	// sent: for migrating data from systems that wrote non-conformant
	// JSON. Off by default: FHIR servers should refuse them.
	UnknownElements bool
}

// Resource checks a resource with the default options. It returns nil when
// the resource is valid; every issue returned has severity "error".
func Resource(m map[string]any) []fhir.Issue { return Options{}.Resource(m) }

// Resource checks a resource. Issues are sorted by expression.
func (o Options) Resource(m map[string]any) []fhir.Issue {
	c := checker{max: o.MaxIssues, lenient: o.UnknownElements}
	c.path = c.pathBuf[:0]
	if c.max <= 0 {
		c.max = DefaultMaxIssues
	}
	if m == nil {
		c.report(CodeInvalid, "a resource must be a JSON object")
		return c.issues
	}
	c.resource(m, "", true)
	sort.SliceStable(c.issues, func(i, j int) bool {
		return firstExpr(c.issues[i]) < firstExpr(c.issues[j])
	})
	if c.full {
		c.issues = append(c.issues, fhir.Issue{Severity: "error", Code: CodeTooCostly,
			Diagnostics: fmt.Sprintf("validation stopped after %d issues", c.max)})
	}
	return c.issues
}

func firstExpr(is fhir.Issue) string {
	if len(is.Expression) == 0 {
		return ""
	}
	return is.Expression[0]
}

// Error turns issues into the error to return for an invalid resource: nil
// when none has severity error or fatal, otherwise a fhir.Invalid error
// (400 Bad Request) carrying them.
func Error(op string, issues []fhir.Issue) error {
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			e := fhir.WithIssues(fhir.Invalid, "the resource is not valid FHIR R4", issues)
			e.Op = op
			return e
		}
	}
	return nil
}

// segment is one step of the path being checked: a name, with an index when
// it is an item of an array.
type segment struct {
	name  string
	index int // -1: none
}

type checker struct {
	issues  []fhir.Issue
	max     int
	full    bool // max reached
	lenient bool // unknown elements are warnings
	path    []segment
	depth   int

	pathBuf [16]segment
}

func (c *checker) push(name string) { c.path = append(c.path, segment{name, -1}) }
func (c *checker) index(i int)      { c.path[len(c.path)-1].index = i }
func (c *checker) pop()             { c.path = c.path[:len(c.path)-1] }
func (c *checker) expression() string {
	var b strings.Builder
	for i, s := range c.path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// report records an issue at the current path.
func (c *checker) report(code, format string, args ...any) {
	if c.full {
		return
	}
	is := fhir.Issue{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if e := c.expression(); e != "" {
		is.Expression = []string{e}
	}
	c.issues = append(c.issues, is)
	if len(c.issues) >= c.max {
		c.full = true
	}
}

// reportAt records an issue at the current path extended by name.
// unknown reports an element the definitions do not have.
func (c *checker) unknown(name string) {
	c.reportAt(name, CodeStructure, "unknown element %q", name)
	if c.lenient && len(c.issues) > 0 {
		c.issues[len(c.issues)-1].Severity = "warning"
	}
}

func (c *checker) reportAt(name, code, format string, args ...any) {
	c.push(name)
	c.report(code, format, args...)
	c.pop()
}

// resource checks a JSON object that must be a resource. want is the type
// the element allows ("Resource" or a resource type; "" at the top level).
func (c *checker) resource(m map[string]any, want string, top bool) {
	rtv, present := m["resourceType"]
	rt, ok := rtv.(string)
	if !present || !ok || rt == "" {
		if top {
			c.reportAt("resourceType", CodeRequired, "resourceType is required and must be a non-empty string")
		} else {
			c.report(CodeRequired, "a resource needs a resourceType")
		}
		return
	}
	if !fhirdef.IsResourceType(rt) {
		if top {
			c.reportAt("resourceType", CodeInvalid, "unknown resource type %q", rt)
		} else {
			c.report(CodeInvalid, "unknown resource type %q", rt)
		}
		return
	}
	if want != "" && want != "Resource" && rt != want {
		c.report(CodeStructure, "must be a %s resource, not %s", want, rt)
		return
	}
	if top {
		c.push(rt)
		defer c.pop()
	}
	c.object(m, fhirdef.Type(rt).Root(), true)
}

// choice remembers which type a choice element took in an object.
type choice struct {
	el  *fhirdef.ElementDef
	typ string
}

// object checks the properties of a JSON object against the children of
// node: a resource's root (isResource), a data type's root, a
// BackboneElement, or a primitive type's root for the object of a primitive
// extension (_birthDate), which may hold only id and extension.
func (c *checker) object(m map[string]any, node *fhirdef.ElementDef, isResource bool) {
	if c.depth++; c.depth > maxDepth {
		c.report(CodeTooCostly, "nested too deeply")
		c.depth--
		return
	}
	defer func() { c.depth-- }()
	if !isResource && len(m) == 0 {
		c.report(CodeStructure, "must not be empty")
		return
	}
	primitive := node.Type().IsPrimitive()
	var choiceBuf [2]choice
	choices := choiceBuf[:0]
	for k, v := range m {
		if c.full {
			return
		}
		if isResource && k == "resourceType" {
			continue
		}
		if strings.HasPrefix(k, "_") && !primitive {
			if el, typ := c.primitiveExtension(m, node, k, v); el != nil && el.IsChoice() {
				choices = c.choose(choices, el, typ, k[1:])
			}
			continue
		}
		el, typ := node.Child(k)
		if el == nil || (primitive && k == "value") {
			c.unknown(k)
			continue
		}
		if el.IsChoice() {
			choices = c.choose(choices, el, typ, k)
		}
		c.element(m, el, typ, k, v)
	}
	if c.full {
		return
	}
	for _, req := range node.MandatoryChildren() {
		if primitive && req.Name == "value" {
			continue // the value is beside the object, not in it
		}
		if !present(m, req) {
			c.reportAt(strings.TrimSuffix(req.Name, "[x]"), CodeRequired, "%s is required (min %d)", req.Name, req.Min)
		}
	}
	if !isResource && !primitive {
		if _, ok := m["id"]; ok && len(m) == 1 {
			c.report(CodeStructure, "must have a value or children other than id")
		}
	}
	if node.Type().Name == "Extension" && node == node.Type().Root() {
		c.extensionInvariant(m, node, choices)
	}
}

// choose records that a choice element took type typ (under JSON name key),
// reporting a second, different type.
func (c *checker) choose(choices []choice, el *fhirdef.ElementDef, typ, key string) []choice {
	for _, ch := range choices {
		if ch.el == el {
			if ch.typ != typ {
				a, b := min(ch.typ, typ), max(ch.typ, typ)
				c.reportAt(strings.TrimSuffix(el.Name, "[x]"), CodeStructure, "only one type of %s may be present (found %s and %s)", el.Name, a, b)
			}
			return choices
		}
	}
	return append(choices, choice{el, typ})
}

// extensionInvariant checks ext-1: an extension has a value or nested
// extensions, not both.
func (c *checker) extensionInvariant(m map[string]any, node *fhirdef.ElementDef, choices []choice) {
	_, nested := m["extension"]
	hasValue := len(choices) > 0
	if nested && hasValue {
		c.report(CodeInvariant, "an extension must have either extensions or a value, not both (ext-1)")
	} else if !nested && !hasValue {
		c.report(CodeInvariant, "an extension must have either extensions or a value (ext-1)")
	}
}

// present reports whether element el has a value or a primitive extension
// in m.
func present(m map[string]any, el *fhirdef.ElementDef) bool {
	for _, n := range el.JSONNames() {
		if v, ok := m[n]; ok && v != nil {
			return true
		}
		if v, ok := m["_"+n]; ok && v != nil {
			return true
		}
	}
	return false
}

// element checks the value of property key, defined by el with type typ.
func (c *checker) element(parent map[string]any, el *fhirdef.ElementDef, typ, key string, v any) {
	c.push(key)
	defer c.pop()
	if el.Max == 0 {
		c.report(CodeStructure, "%s is not allowed here (max 0)", key)
		return
	}
	arr, isArr := v.([]any)
	if !el.IsArray() {
		if isArr {
			c.report(CodeStructure, "%s must be a single value, not an array (max 1)", key)
			return
		}
		if v == nil {
			c.report(CodeStructure, "%s must not be null", key)
			return
		}
		c.value(el, typ, v)
		return
	}
	if !isArr {
		c.report(CodeStructure, "%s must be an array (max %s)", key, maxText(el.Max))
		return
	}
	if len(arr) == 0 {
		c.report(CodeStructure, "%s must not be an empty array", key)
		return
	}
	if el.Max > 0 && len(arr) > el.Max {
		c.report(CodeStructure, "%s has %d items, more than its max %d", key, len(arr), el.Max)
	}
	var ext []any // the aligned _key array, looked up only for null items
	extLooked := false
	for i, item := range arr {
		if c.full {
			return
		}
		c.index(i)
		if item == nil {
			if !extLooked {
				ext, _ = parent["_"+key].([]any)
				extLooked = true
			}
			if i < len(ext) && isObject(ext[i]) && isPrimitive(typ) {
				continue // the value is only in the extension
			}
			c.report(CodeStructure, "%s must not be null", key)
			continue
		}
		c.value(el, typ, item)
	}
	c.index(-1)
}

func maxText(max int) string {
	if max < 0 {
		return "*"
	}
	return strconv.Itoa(max)
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

func isPrimitive(typ string) bool {
	t := fhirdef.Type(typ)
	return t != nil && t.IsPrimitive()
}

// value checks one (non-array, non-null) value of element el with type typ.
func (c *checker) value(el *fhirdef.ElementDef, typ string, v any) {
	if typ == "Resource" || fhirdef.IsResourceType(typ) {
		m, ok := v.(map[string]any)
		if !ok {
			c.report(CodeStructure, "must be a resource (a JSON object), not %s", jsonKind(v))
			return
		}
		c.resource(m, typ, false)
		return
	}
	var td *fhirdef.TypeDef
	if typ != "" {
		td = fhirdef.Type(typ)
	}
	if td != nil && td.IsPrimitive() {
		c.primitive(el, td, v)
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		what := typ
		if what == "" {
			what = "an object"
		}
		c.report(CodeStructure, "must be %s (a JSON object), not %s", what, jsonKind(v))
		return
	}
	node := el.Content()
	if el.IsChoice() && td != nil {
		node = td.Root()
	}
	if node == nil {
		return // not reached with the R4 definitions
	}
	c.object(m, node, false)
}

// primitiveExtension checks the property _name holding the id and
// extensions of the primitive element name. It returns the element.
func (c *checker) primitiveExtension(parent map[string]any, node *fhirdef.ElementDef, key string, v any) (*fhirdef.ElementDef, string) {
	name := key[1:]
	el, typ := node.Child(name)
	if el == nil {
		c.unknown(key)
		return nil, ""
	}
	td := fhirdef.Type(typ)
	if td == nil || !td.IsPrimitive() {
		c.reportAt(key, CodeStructure, "%s is only allowed for a primitive element; %s is %s", key, name, typ)
		return nil, ""
	}
	c.push(name)
	defer c.pop()
	value, hasValue := parent[name]
	if !el.IsArray() {
		m, ok := v.(map[string]any)
		if !ok {
			c.report(CodeStructure, "%s must be a JSON object (id and extension of %s), not %s", key, name, jsonKind(v))
			return el, typ
		}
		c.primitiveObject(m, td, key, hasValue && value != nil)
		return el, typ
	}
	arr, ok := v.([]any)
	if !ok {
		c.report(CodeStructure, "%s must be an array, aligned with %s", key, name)
		return el, typ
	}
	if len(arr) == 0 {
		c.report(CodeStructure, "%s must not be an empty array", key)
		return el, typ
	}
	values, valuesOK := value.([]any)
	if hasValue && valuesOK && len(values) != len(arr) {
		c.report(CodeStructure, "%s has %d items but %s has %d: they must align", key, len(arr), name, len(values))
	}
	for i, item := range arr {
		if c.full {
			break
		}
		c.index(i)
		var val any
		if i < len(values) {
			val = values[i]
		}
		if item == nil {
			if val == nil && (!hasValue || i < len(values)) {
				c.report(CodeStructure, "item %d has neither a value in %s nor an extension in %s", i, name, key)
			}
			continue
		}
		m, ok := item.(map[string]any)
		if !ok {
			c.report(CodeStructure, "items of %s must be null or a JSON object, not %s", key, jsonKind(item))
			continue
		}
		c.primitiveObject(m, td, key, val != nil)
	}
	c.index(-1)
	return el, typ
}

// primitiveObject checks {id, extension} of a primitive; without a value it
// needs extensions (ele-1).
func (c *checker) primitiveObject(m map[string]any, td *fhirdef.TypeDef, key string, hasValue bool) {
	if len(m) == 0 {
		c.report(CodeStructure, "%s must not be empty", key)
		return
	}
	c.object(m, td.Root(), false)
	if _, ok := m["extension"]; !ok && !hasValue {
		c.report(CodeStructure, "%s without a value must have extensions", key)
	}
}

// primitive checks a primitive value: its JSON type, its format, and the
// required binding of its element.
func (c *checker) primitive(el *fhirdef.ElementDef, td *fhirdef.TypeDef, v any) {
	switch td.Name {
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.report(CodeValue, "must be a JSON boolean (true or false), not %s", jsonKind(v))
		}
		return
	case "integer", "positiveInt", "unsignedInt", "decimal":
		text, ok := numberText(v)
		if !ok {
			c.report(CodeValue, "must be a JSON number (%s), not %s", td.Name, jsonKind(v))
			return
		}
		if !matchFormat(td, text) {
			c.report(CodeValue, "%s is not a valid %s", quote(text), td.Name)
			return
		}
		if td.Name != "decimal" {
			if _, err := strconv.ParseInt(text, 10, 32); err != nil {
				c.report(CodeValue, "%s is out of range for %s (32-bit)", text, td.Name)
			}
		}
		return
	}
	s, ok := v.(string)
	if !ok {
		c.report(CodeValue, "must be a JSON string (%s), not %s", td.Name, jsonKind(v))
		return
	}
	if s == "" {
		c.report(CodeValue, "must not be empty")
		return
	}
	switch td.Name {
	case "string", "markdown":
		if len(s) > maxString {
			c.report(CodeValue, "the string is longer than 1 MB")
			return
		}
	}
	if !matchFormat(td, s) {
		c.report(CodeValue, "%s is not a valid %s", quote(s), td.Name)
		return
	}
	switch td.Name {
	case "date", "dateTime", "instant":
		if !validDay(s) {
			c.report(CodeValue, "%s is not a valid %s: no such day", quote(s), td.Name)
			return
		}
	}
	if !el.CodeAllowed(s) {
		c.report(CodeCodeInvalid, "%s is not in the value set %s (allowed: %s)", quote(s), el.ValueSet, strings.Join(el.RequiredCodes, ", "))
	}
}

// numberText returns the text of a JSON number: json.Number as written, or
// a Go number of a map built by hand.
func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", false
		}
		return strconv.FormatFloat(n, 'f', -1, 64), true
	case float32:
		f := float64(n)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 32), true
	case int:
		return strconv.Itoa(n), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case int32:
		return strconv.FormatInt(int64(n), 10), true
	}
	return "", false
}

// validDay checks that a date that passed the regex, with a day, names a day
// that exists (2023-02-29 does not).
func validDay(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return true // year or year-month only
	}
	y, err1 := strconv.Atoi(s[0:4])
	mo, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || mo < 1 || mo > 12 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[mo]
	if mo == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d >= 1 && d <= days
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}
