package jsonpatch

import "github.com/sharedcare/sharedcare/internal/fhir"

// Equal reports whether a and b are the same JSON value, as the RFC 6902
// test operation defines it: see fhir.JSONEqual.
func Equal(a, b any) bool { return fhir.JSONEqual(a, b) }
