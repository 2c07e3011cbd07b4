// Package store defines how sharedcare keeps FHIR resources: every version of
// every resource, as JSON, with the index rows extracted from it, written
// atomically. The interfaces here are the whole contract; the implementations
// live in subpackages (sqlite for the embedded database, postgres for
// production) and pass the same test suite (storetest).
//
// The store knows nothing of FHIR semantics beyond this: it does not decide
// version numbers, validate, or resolve references. The record package does,
// inside a write transaction the store provides.
//
// Every row that belongs to one person carries that person's compartment key
// (PatientKey), so a distributed PostgreSQL can later shard by person.
package store

import (
	"context"
	"time"
)

// Resource is one version of a resource as stored.
type Resource struct {
	Type        string
	ID          string
	Version     int64
	LastUpdated time.Time
	Deleted     bool
	// Method is the interaction that made this version: POST, PUT, PATCH or
	// DELETE. History reports it in Bundle.entry.request.
	Method string
	// PatientKey is the id of the Patient whose compartment the resource is
	// in ("" for resources that belong to nobody, such as Organization; a
	// Patient's own key is its id).
	PatientKey string
	// Body is the full JSON including id and meta; empty for a deletion.
	Body []byte
}

// Token is one token index value: a code in a system (identifiers too).
type Token struct {
	Param  string
	System string
	Code   string
}

// Index is what a resource version contributes to the search indexes.
// Rows replace those of the previous version of the same resource.
type Index struct {
	Tokens []Token
}

// Write is one new version to store, with its index rows.
type Write struct {
	Resource Resource
	Index    Index
}

// TokenMatch matches a token parameter: Code in System; AnySystem ignores
// the system ("code" without "|"); an empty System with AnySystem false
// means "no system" ("|code").
type TokenMatch struct {
	System    string
	Code      string
	AnySystem bool
}

// TokenClause is satisfied by a resource with a token of Param matching any
// of Values (a comma-separated OR in FHIR search).
type TokenClause struct {
	Param  string
	Values []TokenMatch
}

// Criteria selects current, non-deleted resources of Type. All clauses must
// hold. It is the subset of search the conditional interactions need; the
// search package builds richer queries on the same index tables.
type Criteria struct {
	Type   string
	IDs    []string // _id: any of
	Tokens []TokenClause
	// After continues a previous page: only ids greater than After (the
	// results are ordered by id).
	After string
}

// HistoryQuery selects versions for _history at system (Type ""), type (ID
// "") or instance level, newest first.
type HistoryQuery struct {
	Type  string
	ID    string
	Since time.Time // only versions updated at or after Since
	At    time.Time // only the version current at At, per resource
	// After continues a previous page: only versions ordered after this
	// cursor (newest first). The zero value starts at the newest.
	After *Cursor
	Limit int
}

// Cursor is a position in the history order (LastUpdated desc, then Type,
// ID, Version desc). It is stable while new versions are written, which all
// sort before it.
type Cursor struct {
	LastUpdated time.Time
	Type        string
	ID          string
	Version     int64
}

// Reader reads committed data.
type Reader interface {
	// Read returns the current version of a resource, including a deletion
	// marker (Deleted true). ErrNotFound if it never existed.
	Read(ctx context.Context, typ, id string) (*Resource, error)
	// VRead returns one version. ErrNotFound if there is no such version.
	VRead(ctx context.Context, typ, id string, version int64) (*Resource, error)
	// Find returns the ids of current resources matching c, at most limit.
	Find(ctx context.Context, c Criteria, limit int) ([]string, error)
	// History returns versions newest first, at most q.Limit.
	History(ctx context.Context, q HistoryQuery) ([]Resource, error)
	// Count returns how many current, non-deleted resources of typ exist
	// (all types when typ is "").
	Count(ctx context.Context, typ string) (int64, error)
}

// Tx is a write transaction. Reads through it see its own writes.
type Tx interface {
	Read(ctx context.Context, typ, id string) (*Resource, error)
	Find(ctx context.Context, c Criteria, limit int) ([]string, error)
	// Lock serialises transactions that use the same key until they end,
	// so that "find, then create if absent" cannot race.
	Lock(ctx context.Context, key string) error
	// Put stores a new version. Its Version must be one more than the
	// current version (1 for a new resource); otherwise ErrConflict.
	Put(ctx context.Context, w Write) error
}

// Store is a Reader that also writes.
type Store interface {
	Reader
	// Update runs fn in a write transaction and commits it durably before
	// returning nil. If fn returns an error nothing it did is kept. fn may
	// be run more than once (after a serialisation conflict), so it must
	// not have effects outside the transaction that it does not redo.
	Update(ctx context.Context, fn func(Tx) error) error
	// Dialect names the backend ("sqlite", "postgres").
	Dialect() string
	Ping(ctx context.Context) error
	Close() error
}
