// Package search parses a FHIR R4 search query string
// (http://hl7.org/fhir/R4/search.html) into a typed, validated AST: the
// first piece of full FHIR search. The SQL planner (next) consumes the AST;
// nothing here touches storage.
//
// Parse takes the resource type searched ("" for a system search, whose
// types come from _type) and the query's url.Values and returns a *Query:
//
//	Query
//	├── ResourceType, Types          what is searched
//	├── Clauses []*Clause            AND: every clause must match
//	│   └── Clause                   one occurrence of a parameter, bound to
//	│       ├── Param                its fhirdef.SearchParameter,
//	│       ├── Modifier, TargetType ":exact", ":Patient", ...
//	│       ├── Values []Value       OR: one value must match (leaf clauses),
//	│       │   └── Value            Raw text plus exactly one typed part:
//	│       │                        Number, Date, Quantity, Token, Str, URI,
//	│       │                        Reference, Composite or Missing
//	│       ├── Chain []*Clause      or, for a chained reference parameter
//	│       │                        (subject:Patient.name), one sub-clause
//	│       │                        per target type: OR across targets
//	│       └── Has *Has             or, for _has, the reverse chain: a
//	│                                referring type, its reference parameter
//	│                                and a sub-clause on the referring type
//	├── Sort, Count, Total, Summary, Elements, Include, RevInclude,
//	│   Contained, ContainedType, Page   the result parameters
//	└── Ignored                      what lenient handling dropped
//
// Values keep their OR-list escapes (\, \| \$ \\) in Raw and are unescaped
// in the typed parts. Dates become a half-open UTC range [Low, High) at the
// precision written; numbers and quantities carry the implicit range of
// their precision (100 is [99.5, 100.5)); strings carry a normalised form
// (lower case, accents stripped) for case- and accent-insensitive matching.
//
// Every malformed parameter gives a *fhir.Error of kind fhir.Invalid whose
// message starts with the parameter as written and whose issue names it in
// Expression. Unknown parameters (and those this server does not support,
// such as _query or near) are errors under Options.Strict (Prefer:
// handling=strict) and otherwise dropped and listed in Query.Ignored, so
// that Query.String, the self link, shows only what was applied. Unknown or
// unsupported modifiers are always errors, as the specification requires.
//
// Deliberate choices:
//   - A date or dateTime written without a time zone is read in
//     Options.Location (default UTC, the server's zone); one with a zone is
//     read in that zone. Low and High are always returned in UTC.
//   - The implicit range of a number in exponential form follows the
//     arithmetic rule (half a unit of the last significant digit: 1e2 is
//     [50, 150)), not the specification's inconsistent example.
//   - In a system search with several _type values a parameter must exist
//     on every type with the same search type; the clause is bound to the
//     first type's definition and the planner looks the code up per type.
//   - A chain without an explicit type (subject.name) resolves to every
//     target type on which the rest of the chain exists, pruning dead ends;
//     it is an error when none is left. Chains and _has nest at most 4
//     deep, and one parameter may expand to at most 256 clauses (a chain
//     through Observation.focus, which may point at any type, fans out
//     fast): beyond that the client must name the target type.
//   - _format and _pretty are left to the REST layer: they are skipped here
//     and not part of String.
package search
