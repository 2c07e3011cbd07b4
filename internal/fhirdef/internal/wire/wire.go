// Package wire is the layout of the embedded definitions file r4.json.gz,
// shared by the generator (fhirdef/gen) that writes it and package fhirdef
// that reads it.
package wire

// File is the whole embedded file.
type File struct {
	FHIRVersion        string              `json:"fhirVersion"`
	Source             string              `json:"source"`
	Types              []Type              `json:"types"`
	Aliases            map[string]string   `json:"aliases,omitempty"` // constraint profile -> base type (SimpleQuantity -> Quantity)
	ValueSets          map[string][]string `json:"valueSets"`         // value set url (no version) -> codes, for enumerable required bindings
	SearchParams       []SearchParam       `json:"searchParams"`
	PatientCompartment map[string][]string `json:"patientCompartment"` // resource type -> search parameter codes
}

// Type is one StructureDefinition (a resource type or a data type).
type Type struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"` // resource | complex-type | primitive-type
	Abstract bool      `json:"abstract,omitempty"`
	Base     string    `json:"base,omitempty"`  // the type this one specializes
	Regex    string    `json:"regex,omitempty"` // primitive types: the value's regex, unanchored, as published
	Elements []Element `json:"elements"`        // the snapshot, in order
}

// Element is one ElementDefinition of a snapshot.
type Element struct {
	Path       string   `json:"path"`
	Min        int      `json:"min,omitempty"`
	Max        int      `json:"max"`                  // -1 = unbounded
	Types      []string `json:"types,omitempty"`      // type codes; several for choice elements
	Targets    []string `json:"targets,omitempty"`    // Reference/canonical target types
	ContentRef string   `json:"contentRef,omitempty"` // path of the element whose definition is reused, without '#'
	Summary    bool     `json:"summary,omitempty"`
	Modifier   bool     `json:"modifier,omitempty"`
	Strength   string   `json:"strength,omitempty"` // binding strength
	ValueSet   string   `json:"valueSet,omitempty"` // binding value set url, version stripped
}

// SearchParam is one SearchParameter.
type SearchParam struct {
	URL         string      `json:"url"`
	Code        string      `json:"code"`
	Base        []string    `json:"base"`
	Type        string      `json:"type"`
	Expression  string      `json:"expression,omitempty"`
	Target      []string    `json:"target,omitempty"`
	MultipleOr  *bool       `json:"multipleOr,omitempty"`
	MultipleAnd *bool       `json:"multipleAnd,omitempty"`
	Modifier    []string    `json:"modifier,omitempty"`
	Comparator  []string    `json:"comparator,omitempty"`
	Component   []Component `json:"component,omitempty"`
}

// Component is one part of a composite search parameter.
type Component struct {
	Definition string `json:"definition"`
	Expression string `json:"expression"`
}
