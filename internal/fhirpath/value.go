package fhirpath

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// System type names.
const (
	TBoolean  = "Boolean"
	TString   = "String"
	TInteger  = "Integer"
	TDecimal  = "Decimal"
	TDate     = "Date"
	TDateTime = "DateTime"
	TTime     = "Time"
	TQuantity = "Quantity"
)

var systemTypes = map[string]bool{TBoolean: true, TString: true, TInteger: true, TDecimal: true,
	TDate: true, TDateTime: true, TTime: true, TQuantity: true, "Any": true}

// Value is one item of a FHIRPath collection: either a node of the decoded
// resource with its FHIR type (namespace FHIR: "HumanName", "string",
// "Patient") or a System value made by the expression (namespace System:
// Boolean, String, Integer, Decimal, Date, DateTime, Time, Quantity).
type Value struct {
	typ string
	sys bool
	// raw is, for a FHIR value, the decoded JSON node (map[string]any,
	// string, bool, json.Number, or nil for a primitive that only has
	// extensions); for a System value one of bool, string, int64, Decimal,
	// DateTime, Quantity (or map[string]any for type() reflection).
	raw any
	ext map[string]any      // a FHIR primitive's "_name" sibling
	def *fhirdef.ElementDef // the element describing this node's content (may be nil)
}

// Type returns the value's type name, without namespace ("HumanName",
// "code", "Patient", "Integer").
func (v Value) Type() string { return v.typ }

// Namespace returns "FHIR" or "System".
func (v Value) Namespace() string {
	if v.sys {
		return "System"
	}
	return "FHIR"
}

// Node returns the decoded JSON node of a FHIR value (map[string]any, string,
// bool, json.Number or nil), or the Go value of a System value (bool,
// string, int64, Decimal, DateTime, Quantity).
func (v Value) Node() any { return v.raw }

// PrimitiveExtension returns the "_name" sibling object of a FHIR primitive,
// or nil.
func (v Value) PrimitiveExtension() map[string]any { return v.ext }

// String returns the FHIRPath string form of a primitive value (what
// toString() gives), or the JSON of a complex one.
func (v Value) String() string {
	if v.raw == nil {
		return ""
	}
	if s, ok := v.toSystem(); ok {
		if str, ok := systemString(s); ok {
			return str
		}
	}
	b, _ := json.Marshal(v.raw)
	return string(b)
}

// Bool reports the value of a Boolean (System or FHIR boolean).
func (v Value) Bool() (value, ok bool) {
	if s, ok := v.toSystem(); ok {
		if b, ok := s.raw.(bool); ok {
			return b, true
		}
	}
	return false, false
}

func boolV(b bool) Value    { return Value{typ: TBoolean, sys: true, raw: b} }
func strV(s string) Value   { return Value{typ: TString, sys: true, raw: s} }
func intV(i int64) Value    { return Value{typ: TInteger, sys: true, raw: i} }
func decV(d Decimal) Value  { return Value{typ: TDecimal, sys: true, raw: d} }
func qtyV(q Quantity) Value { return Value{typ: TQuantity, sys: true, raw: q} }
func dtV(d DateTime) Value  { return Value{typ: dtTypeName(d.Kind), sys: true, raw: d} }
func one(v Value) []Value   { return []Value{v} }
func boolC(b bool) []Value  { return []Value{boolV(b)} }

func dtTypeName(k byte) string {
	switch k {
	case KindDate:
		return TDate
	case KindTime:
		return TTime
	}
	return TDateTime
}

// FromResource makes a FHIR value of a decoded resource (its type is its
// resourceType) or of any decoded JSON node (its type guessed).
func FromResource(node any) Value {
	return fhirValue(node, nil, nil, "")
}

// fhirValue builds a FHIR value for a node whose element is el (nil when
// unknown) and type typ ("" when unknown).
func fhirValue(node any, ext map[string]any, el *fhirdef.ElementDef, typ string) Value {
	v := Value{raw: node, ext: ext}
	if m, ok := node.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok && fhirdef.IsResourceType(rt) {
			v.typ = rt
			v.def = fhirdef.Type(rt).Root()
			return v
		}
	}
	if typ == "" && el != nil && len(el.Types) == 1 {
		typ = el.Types[0]
	}
	if typ == "" {
		switch n := node.(type) {
		case string:
			typ = "string"
		case bool:
			typ = "boolean"
		case json.Number:
			if strings.ContainsAny(string(n), ".eE") {
				typ = "decimal"
			} else {
				typ = "integer"
			}
		case map[string]any:
			if rt, ok := n["resourceType"].(string); ok {
				typ = rt
			}
		case nil:
			typ = "string"
		}
	}
	// The System types of FHIR's primitive-type value elements.
	if strings.HasPrefix(typ, "http://hl7.org/fhirpath/System.") {
		typ = strings.ToLower(typ[len("http://hl7.org/fhirpath/System."):][:1]) + typ[len("http://hl7.org/fhirpath/System.")+1:]
	}
	v.typ = typ
	if el != nil && el.Content() != nil && len(el.Children()) > 0 {
		v.def = el
	} else if td := fhirdef.Type(typ); td != nil && !td.IsPrimitive() {
		v.def = td.Root()
	}
	return v
}

var quantityTypes = map[string]bool{"Quantity": true, "Age": true, "Duration": true, "Distance": true,
	"Count": true, "SimpleQuantity": true, "MoneyQuantity": true}

// toSystem converts a FHIR primitive (or Quantity) to its System value.
func (v Value) toSystem() (Value, bool) {
	if v.sys {
		return v, true
	}
	switch n := v.raw.(type) {
	case nil:
		return Value{}, false
	case bool:
		return boolV(n), true
	case string:
		switch v.typ {
		case "date":
			if d, ok := parseDateTime(n, KindDate); ok {
				return dtV(d), true
			}
			if d, ok := parseDateTime(n, KindDateTime); ok {
				return dtV(d), true
			}
		case "dateTime", "instant":
			if d, ok := parseDateTime(n, KindDateTime); ok {
				return dtV(d), true
			}
		case "time":
			if d, ok := parseDateTime(n, KindTime); ok {
				return dtV(d), true
			}
		}
		return strV(n), true
	case json.Number:
		if v.typ == "integer" || v.typ == "positiveInt" || v.typ == "unsignedInt" || v.typ == "integer64" {
			if i, err := n.Int64(); err == nil {
				return intV(i), true
			}
		}
		if d, ok := ParseDecimal(string(n)); ok {
			if v.typ != "decimal" && d.scale == 0 && d.isInt() {
				if i, ok := intFromBig(d.truncInt()); ok {
					return intV(i), true
				}
			}
			return decV(d), true
		}
		return Value{}, false
	case map[string]any:
		if quantityTypes[v.typ] {
			num, ok := n["value"].(json.Number)
			if !ok {
				return Value{}, false
			}
			d, ok := ParseDecimal(string(num))
			if !ok {
				return Value{}, false
			}
			u, _ := n["code"].(string)
			if u == "" {
				u, _ = n["unit"].(string)
			}
			if u == "" {
				u = "1"
			}
			return qtyV(Quantity{Value: d, Unit: u}), true
		}
	}
	return Value{}, false
}

func systemString(v Value) (string, bool) {
	switch x := v.raw.(type) {
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case string:
		return x, true
	case int64:
		return itoa(x), true
	case Decimal:
		return x.String(), true
	case DateTime:
		return x.String(), true
	case Quantity:
		return x.String(), true
	}
	return "", false
}

// isPrimitiveType reports whether a FHIR type name is a primitive.
func isFHIRPrimitive(t string) bool {
	if t == "" {
		return false
	}
	if td := fhirdef.Type(t); td != nil {
		return td.IsPrimitive()
	}
	return unicode.IsLower(rune(t[0]))
}

// children of a FHIR node by FHIRPath name. err reports a name that is not
// valid for the node's type (only when strict, or for a choice element's
// JSON name such as valueQuantity).
func (e *evaluator) child(v Value, name string, out []Value) ([]Value, error) {
	if v.sys {
		if m, ok := v.raw.(map[string]any); ok { // type() reflection
			if s, ok := m[name].(string); ok {
				out = append(out, strV(s))
			}
		}
		return out, nil
	}
	var m map[string]any
	switch n := v.raw.(type) {
	case map[string]any:
		m = n
	default:
		// primitive: id and extension live in the "_name" object
		if v.ext != nil && (name == "extension" || name == "id") {
			c, t := fhirdef.Type("Element").Child(name)
			return appendTyped(out, v.ext, name, c, t), nil
		}
		return out, nil
	}
	if v.def != nil {
		c, typ := v.def.Child(name)
		if c != nil && !c.IsChoice() {
			return appendTyped(out, m, name, c, typ), nil
		}
		if c != nil && c.IsChoice() {
			if !e.opts.LenientChoice {
				return out, &Error{Kind: "semantic", Msg: "'" + name + "' is not a FHIRPath name: use '" + strings.TrimSuffix(c.Name, "[x]") + "' (with ofType/as)"}
			}
			return appendTyped(out, m, name, c, typ), nil
		}
		for _, c := range v.def.Children() {
			if c.Name == name+"[x]" {
				for _, jn := range c.JSONNames() {
					if _, ok := m[jn]; ok || m["_"+jn] != nil {
						_, t := v.def.Child(jn)
						out = appendTyped(out, m, jn, c, t)
					}
				}
				return out, nil
			}
		}
		if e.opts.Strict {
			return out, &Error{Kind: "semantic", Msg: "unknown element '" + name + "' on " + v.typ}
		}
	}
	// untyped: the key itself, or a choice key name+Type
	if _, ok := m[name]; ok || m["_"+name] != nil {
		return appendChild(out, m, name, nil), nil
	}
	if v.def == nil {
		for k := range m {
			if len(k) > len(name) && strings.HasPrefix(k, name) && unicode.IsUpper(rune(k[len(name)])) {
				t := k[len(name):]
				if fhirdef.Type(t) == nil {
					if td := fhirdef.Type(strings.ToLower(t[:1]) + t[1:]); td != nil {
						t = td.Name
					} else {
						continue
					}
				} else if fhirdef.Type(t).IsPrimitive() || fhirdef.Type(strings.ToLower(t[:1])+t[1:]) != nil {
					t = strings.ToLower(t[:1]) + t[1:]
				}
				out = appendTyped(out, m, k, nil, t)
			}
		}
	}
	return out, nil
}

func appendChild(out []Value, m map[string]any, key string, el *fhirdef.ElementDef) []Value {
	typ := ""
	return appendTyped(out, m, key, el, typ)
}

// appendTyped appends the values of key in m (an array is flattened;
// primitive extensions are paired).
func appendTyped(out []Value, m map[string]any, key string, el *fhirdef.ElementDef, typ string) []Value {
	val, has := m[key]
	extv := m["_"+key]
	if arr, ok := val.([]any); ok {
		exts, _ := extv.([]any)
		for i, item := range arr {
			var ext map[string]any
			if i < len(exts) {
				ext, _ = exts[i].(map[string]any)
			}
			if item == nil && ext == nil {
				continue
			}
			out = append(out, fhirValue(item, ext, el, typ))
		}
		// extensions with no value array at all
		return out
	}
	if !has || val == nil {
		if exts, ok := extv.([]any); ok { // only "_given": [...]
			for _, x := range exts {
				if ext, ok := x.(map[string]any); ok {
					out = append(out, fhirValue(nil, ext, el, typ))
				}
			}
			return out
		}
		if ext, ok := extv.(map[string]any); ok {
			return append(out, fhirValue(nil, ext, el, typ))
		}
		return out
	}
	ext, _ := extv.(map[string]any)
	return append(out, fhirValue(val, ext, el, typ))
}

// children returns all child nodes of a FHIR value, in definition order.
func children(v Value, out []Value) []Value {
	if v.sys {
		return out
	}
	m, ok := v.raw.(map[string]any)
	if !ok {
		if v.ext != nil {
			for _, name := range []string{"id", "extension"} {
				c, t := fhirdef.Type("Element").Child(name)
				out = appendTyped(out, v.ext, name, c, t)
			}
		}
		return out
	}
	done := map[string]bool{"resourceType": true}
	if v.def != nil {
		for _, c := range v.def.Children() {
			for _, jn := range c.JSONNames() {
				if _, ok := m[jn]; ok || m["_"+jn] != nil {
					done[jn], done["_"+jn] = true, true
					_, t := v.def.Child(jn)
					out = appendTyped(out, m, jn, c, t)
				}
			}
		}
	}
	var rest []string
	for k := range m {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if strings.HasPrefix(k, "_") {
			if _, ok := m[k[1:]]; ok {
				continue
			}
			k = k[1:]
			if done[k] {
				continue
			}
			done[k] = true
		}
		out = appendChild(out, m, k, nil)
	}
	return out
}

// fhirIsA reports whether FHIR type t is want or derives from it.
func fhirIsA(t, want string) bool {
	for i := 0; t != "" && i < 20; i++ {
		if t == want {
			return true
		}
		td := fhirdef.Type(t)
		if td == nil {
			return false
		}
		if td.Name != t && td.Name == want { // aliases (SimpleQuantity)
			return true
		}
		t = td.Base
	}
	return false
}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }
