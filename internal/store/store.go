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

	"github.com/sharedcare/sharedcare/internal/search"
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
// Display is the normalised (search.Normalize) display or text, for :text;
// a CodeableConcept's text is a row of its own with an empty Code.
type Token struct {
	Param   string
	System  string
	Code    string
	Display string
}

// String is one string index value: Norm is the normalised form (search
// .Normalize) that default and :contains search match, Exact the value as
// written, for :exact.
type String struct {
	Param string
	Norm  string
	Exact string
}

// Date is one date index value: the range [Low, High] it covers, in
// microseconds since the Unix epoch (UTC), both ends inclusive. An open end
// of a Period is math.MinInt64 or math.MaxInt64.
type Date struct {
	Param     string
	Low, High int64
}

// Reference is one reference index value. Type, ID and Version come from a
// literal reference ("Patient/1", "Patient/1/_history/2", or the tail of an
// absolute URL); URL holds an absolute URL or a canonical (without its
// "|version", which goes to Version); IDSystem and IDValue come from
// Reference.identifier, for :identifier.
type Reference struct {
	Param    string
	Type     string
	ID       string
	Version  string
	URL      string
	IDSystem string
	IDValue  string
}

// Quantity is one quantity index value (Quantity, Age, Duration, Money,
// SimpleQuantity...). [Low, High] is the range implied by the precision
// of the written value. CanonValue and CanonCode are the value in the
// canonical UCUM unit (g, L, m, s, mol/L...) when the unit is known, so 1 g
// matches 1000 mg; otherwise CanonCode is "".
type Quantity struct {
	Param      string
	Value      float64
	Low, High  float64
	System     string
	Code       string
	CanonValue float64
	CanonCode  string
}

// Number is one number index value and the range its precision implies.
type Number struct {
	Param     string
	Value     float64
	Low, High float64
}

// URI is one uri index value.
type URI struct {
	Param string
	URI   string
}

// Composite is one tuple of a composite parameter: its components in
// order, each encoded as text (see internal/index for the encoding).
type Composite struct {
	Param      string
	C1, C2, C3 string
}

// Compartment is a Patient whose compartment the resource is in, and the
// parameter that put it there.
type Compartment struct {
	Param   string
	Patient string
}

// Text is the free text of a resource for _text (its narrative) and
// _content (every string in it): one row per parameter, normalised (search
// .Normalize) and space-separated, matched word by word.
type Text struct {
	Param string
	Text  string
}

// Index is what a resource version contributes to the search indexes.
// Rows replace those of the previous version of the same resource.
type Index struct {
	Tokens       []Token
	Strings      []String
	Dates        []Date
	References   []Reference
	Quantities   []Quantity
	Numbers      []Number
	URIs         []URI
	Composites   []Composite
	Compartments []Compartment
	Texts        []Text
}

// Rows is the number of rows of every kind.
func (ix *Index) Rows() int {
	return len(ix.Tokens) + len(ix.Strings) + len(ix.Dates) + len(ix.References) + len(ix.Quantities) +
		len(ix.Numbers) + len(ix.URIs) + len(ix.Composites) + len(ix.Compartments) + len(ix.Texts)
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
	// Clauses are search clauses (package search) on Type, all of which
	// must hold too: what the conditional interactions use.
	Clauses []*search.Clause
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
	Searcher
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

// SearchQuery is a FHIR search the store answers from its index tables:
// the current, non-deleted resources of Types that satisfy every clause
// (see package search for the clause tree), in Sort order then by type and
// id, from just after Cursor.
type SearchQuery struct {
	// Types searched; empty means every type (a system search without
	// _type). Clauses are evaluated per type with the same parameter code.
	Types   []string
	Clauses []*search.Clause
	// Compartment restricts the search to the compartment of the Patient
	// with this id and, if any, of the Linked Patients too: one person's
	// records from other organisations.
	Compartment string
	Linked      []string
	// Care, if set, keeps only resources whose clinical date (their
	// date, authoredon or onset-date parameter) overlaps this range of
	// microseconds, inclusive, and those without one: $everything's start
	// and end.
	Care *[2]int64
	Sort []search.SortKey
	// Cursor continues from a hit of an earlier page: after it, or before
	// it when Backward (for previous links; hits still come in order).
	Cursor   *SearchCursor
	Backward bool
	Limit    int
	// Filters narrow the search to what the asker may see (the access
	// package decides them); every one must hold. Counts obey them too.
	Filters []Filter
}

// Filter is one access condition on a search's resources.
type Filter struct {
	// Types are the resource types the filter applies to (empty: all).
	Types []string
	// Restrict keeps only resources whose PatientKey is one of Owners.
	Restrict bool
	Owners   []string
	// Withhold drops resources carrying any of these tokens, unless they
	// also carry one of Except.
	Withhold, Except []TokenRef
	// Require keeps only resources carrying one of these tokens.
	Require []TokenRef
}

// TokenRef is one indexed token value of a resource: meta.security is
// param _security, meta.tag _tag.
type TokenRef struct{ Param, System, Code string }

// SearchCursor is the position of one hit: its sort key values (as
// SearchHit.Keys gave them) and its type and id.
type SearchCursor struct {
	Keys []any
	Type string
	ID   string
}

// SearchHit is a matching resource and its sort key values, which make the
// cursor of the page that ends or starts at it. A key value is an int64
// (dates in microseconds, _lastUpdated), a float64 (numbers, quantities)
// or a string.
type SearchHit struct {
	Resource
	Keys []any
}

// Key names a resource.
type Key struct{ Type, ID string }

// IncludeQuery selects the current resources that resources refer to
// (_include) or that refer to them (_revinclude).
type IncludeQuery struct {
	// Reverse selects resources of SourceType whose reference parameter
	// Params points at one of Of; otherwise the resources Of's Params
	// point at (Of of any types, each with the same parameter codes).
	Reverse    bool
	Of         []Key
	SourceType string   // _revinclude: the referring type
	Params     []string // parameter codes; empty for every reference parameter (*)
	TargetType string   // _include: only references to this type ("" any)
	Limit      int
}

// Searcher answers searches. Both backends implement it.
type Searcher interface {
	Search(ctx context.Context, q SearchQuery) ([]SearchHit, error)
	// SearchCount counts what Search would return without a limit.
	SearchCount(ctx context.Context, q SearchQuery) (int64, error)
	Include(ctx context.Context, q IncludeQuery) ([]Resource, error)
	// ReadMany returns the current, non-deleted versions of the keys that
	// exist, in no particular order.
	ReadMany(ctx context.Context, keys []Key) ([]Resource, error)
}

// IndexState is how far the search index rows of one resource type are
// built. Generation and Target are generations (internal/index): at most
// one is set. The rows of every current resource are complete at
// Generation; while a rebuild is under way Generation is "" and the rows
// are a mix, those up to Cursor (and every write since the rebuild
// began) at Target.
type IndexState struct {
	Type string
	// Generation is what the rows of every current resource were built
	// with; "" when unknown (written before generations were recorded).
	// While a rebuild is under way it is the generation the rows were
	// complete at before, whose parameters the rebuild leaves unchanged
	// still answer; "" when that is not known either.
	Generation string
	// Target is the generation a rebuild under way builds; "" when none.
	Target string
	// Cursor is the last id rebuilt toward Target, in id order: a rebuild
	// resumes after it.
	Cursor string
	// Done counts the resources the rebuild has passed; Total is how many
	// there were when it (re)started, or when the type was last recorded
	// complete.
	Done, Total int64
	// Owner names the process rebuilding (a lease renewed with each
	// batch, through Updated); "" when none.
	Owner            string
	Started, Updated time.Time
	// Seq numbers the recorded versions of the state, 0 for none: a
	// change names the Seq it replaces, so two processes cannot both
	// think they own a rebuild.
	Seq int64
}

// Reindexer is implemented by stores that can rebuild index rows in place,
// online: the index rows of a resource's current version are replaced
// without a new version, while writes go on.
type Reindexer interface {
	// IndexStates returns every recorded state.
	IndexStates(ctx context.Context) ([]IndexState, error)
	// SwapIndexStates records each st in place of its type's state
	// numbered st.Seq (0: none recorded yet), all in one transaction, and
	// returns them with their new Seq; ErrConflict, and nothing recorded,
	// if any type's recorded state is no longer the one named.
	SwapIndexStates(ctx context.Context, sts []IndexState) ([]IndexState, error)
	// Types returns, sorted, the resource types that have resources
	// (perhaps only deleted ones): one index probe per type, where a count
	// would read every row, so it stays cheap at start on a large database.
	Types(ctx context.Context) ([]string, error)
	// Current returns at most limit current, non-deleted resources of typ
	// whose id is greater than after, in id order.
	Current(ctx context.Context, typ, after string, limit int) ([]Resource, error)
	// Reindex replaces, in one write transaction, the index rows of each
	// resource in ws, and its PatientKey on the current row and version,
	// with those of w; no version is added. Resource.Version is the version
	// the rows were computed from: a resource whose current version is
	// another (written or deleted since it was read) is skipped, as that
	// write indexed it. st is swapped in the same transaction, as by
	// SwapIndexStates, so progress and rows commit together; on ErrConflict
	// nothing is kept. It returns how many resources were rewritten and
	// the recorded state.
	Reindex(ctx context.Context, ws []Write, st IndexState) (int, IndexState, error)
}

// Submitter is a Store that takes a write without waiting for it to
// commit: wait blocks until the write is durable, or has failed, and must
// be called. Writes submitted one after another (each Submit returned
// before the next began) commit in that order, and may share one commit:
// a sender that does not wait for each acknowledgement (an MLLP
// connection with messages in flight) pays one flush for many writes.
type Submitter interface {
	Submit(ctx context.Context, fn func(Tx) error) (wait func() error)
}

// Submit submits fn to st if it is a Submitter, and otherwise runs it to
// completion at once (so order holds either way).
func Submit(ctx context.Context, st Store, fn func(Tx) error) (wait func() error) {
	if sub, ok := st.(Submitter); ok {
		return sub.Submit(ctx, fn)
	}
	err := st.Update(ctx, fn)
	return func() error { return err }
}
