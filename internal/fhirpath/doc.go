// Package fhirpath is sharedcare's FHIRPath engine (FHIRPath N1 as used by
// FHIR R4, http://hl7.org/fhirpath/N1/), evaluated directly over resources
// decoded by fhir.Decode: map[string]any, []any, string, bool, nil and
// json.Number, with primitive extensions in their "_name" siblings.
//
// It serves search parameter extraction (the expressions of the R4
// SearchParameter definitions: paths, where(), resolve() is X, as, is,
// ofType, exists(), |, and/or, extension(url), choice elements),
// invariants (validation) and subscription criteria.
//
// Compile an expression once and evaluate it many times; a compiled Expr is
// safe for concurrent use. Every value carries its type: FHIR types come
// from the official R4 definitions in internal/fhirdef (so choice elements,
// is/as/ofType on FHIR types and resource types work), System types are made
// by the expression. Decimals are exact (math/big, keeping the precision of
// the JSON text); dates and times keep partial precision, and comparisons
// that cannot be decided give empty. Quantities convert between common UCUM
// units (mass, length, volume, time, pressure, the US customary units the
// examples use) and calendar durations.
//
// resolve() uses Options.Resolver; without one (or when it finds nothing)
// contained resources ("#id") and Bundle entries (by fullUrl) are found, and
// any other literal reference gives a stand-in resource of the referenced
// type holding only its id, so resolve() is Patient works during search
// indexing without reading the database.
//
// Deliberately not supported: terminology (memberOf(), and the %vs- and
// %ext- constants are only URLs), conformsTo() beyond the base resource and
// type profiles, full UCUM (special units such as Cel and [degF], unit
// parentheses), the strict-mode static type checks of an expression against
// a model (only unknown element names are reported, at evaluation), the
// ordered-function checks (checkOrderedFunctions), XML-specific behaviour
// and the FHIRPath 2.0 additions beyond those the R4 suite tests. Evaluation
// is bounded (nesting, steps, collection and string sizes), so hostile
// expressions fail with an error instead of running away.
package fhirpath
