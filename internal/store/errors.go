package store

import "github.com/sharedcare/sharedcare/internal/fhir"

// The store's errors are fhir.Errors so they reach the client with the right
// status without translation.
var (
	ErrNotFound = &fhir.Error{Kind: fhir.NotFound, Msg: "resource not found"}
	ErrConflict = &fhir.Error{Kind: fhir.Conflict, Msg: "the resource was changed by another request; retry"}
	ErrClosed   = &fhir.Error{Kind: fhir.Unavailable, Msg: "the store is closed"}
)
