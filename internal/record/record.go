// Package record is the shared record's write and read path: the FHIR
// interactions (create, read, vread, update, patch, delete, their
// conditional forms, history, batch and transaction) over a store.Store,
// independent of HTTP. It decides what the store does not: ids, version
// numbers, validation, references between entries of a transaction, and
// what each resource is indexed by. Every feed (FHIR REST, HL7 v2, bulk
// import) writes through here, so the rules hold on every path.
package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/jsonpatch"
	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Validator checks a decoded resource and returns its issues; those of
// severity error or fatal reject the write.
type Validator func(fhir.Object) []fhir.Issue

// TypeChecker reports whether a name is a known resource type.
type TypeChecker func(string) bool

// Service carries out FHIR interactions on a store.
type Service struct {
	Store store.Store
	// Validate, if set, is run on every resource before it is written.
	Validate Validator
	// KnownType, if set, rejects interactions on unknown resource types.
	KnownType TypeChecker
	// Now is the clock (tests may fix it).
	Now func() time.Time
	// IndexScope is which search parameters are indexed on write: New
	// sets index.All, which search needs; index.Conditional (identifiers
	// and compartments only) is for bulk loads that reindex afterwards.
	IndexScope index.Scope

	// Log receives what happens in the background (default slog.Default()).
	Log *slog.Logger

	ix       indexTracker // how far the search index is built: reindex.go
	bg       background   // the background reindex: reindex.go
	defs     atomic.Pointer[index.Definitions]
	params   paramState   // custom search parameters: searchparams.go
	writing  sync.RWMutex // held shared by writes from computing rows to commit; a change of definitions takes it
	hooks    hooks        // told of committed writes: hooks.go
	expander expanderSlot // the person index's widening of Patients: persons.go
	guard    guard        // access control: guard.go
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// New returns a Service over st.
func New(st store.Store, v Validator, known TypeChecker) *Service {
	return &Service{Store: st, Validate: v, KnownType: known, Now: fhir.Now, IndexScope: index.All}
}

// Result is the outcome of a write.
type Result struct {
	Resource *store.Resource
	// Created is true when the write made a new resource (201).
	Created bool
	// Unchanged is true when nothing was written: a conditional create
	// that found its match, or a delete of something already deleted.
	Unchanged bool
}

// CheckType returns an error unless typ is a resource type we serve.
func (s *Service) CheckType(typ string) error {
	if s.KnownType != nil && !s.KnownType(typ) {
		return fhir.E(fhir.NotFound, "unknown resource type %q", typ)
	}
	return nil
}

// Read returns the current version; a deleted resource is Gone.
func (s *Service) Read(ctx context.Context, typ, id string) (*store.Resource, error) {
	if err := s.CheckType(typ); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, fhir.E(fhir.NotFound, "%s/%s not found (not a valid id)", typ, id)
	}
	r, err := s.Store.Read(ctx, typ, id)
	if err != nil {
		return nil, notFound(err, typ, id)
	}
	if err := s.guardRead(ctx, r); err != nil {
		return nil, err
	}
	if r.Deleted {
		return r, &fhir.Error{Kind: fhir.Gone, Msg: typ + "/" + id + " was deleted"}
	}
	return r, nil
}

// VRead returns one version; a deletion is Gone.
func (s *Service) VRead(ctx context.Context, typ, id, vid string) (*store.Resource, error) {
	if err := s.CheckType(typ); err != nil {
		return nil, err
	}
	v, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || v < 1 || !ValidID(id) {
		return nil, fhir.E(fhir.NotFound, "%s/%s/_history/%s not found", typ, id, vid)
	}
	r, err := s.Store.VRead(ctx, typ, id, v)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fhir.E(fhir.NotFound, "%s/%s/_history/%s not found", typ, id, vid)
		}
		return nil, err
	}
	if err := s.guardRead(ctx, r); err != nil {
		return nil, err
	}
	if r.Deleted {
		return r, &fhir.Error{Kind: fhir.Gone, Msg: typ + "/" + id + " version " + vid + " is a deletion"}
	}
	return r, nil
}

func notFound(err error, typ, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fhir.E(fhir.NotFound, "%s/%s not found", typ, id)
	}
	return err
}

// Create stores body as a new resource of typ. A client-sent id is ignored.
// With ifNoneExist (a search query), an existing match is returned instead
// of creating, and more than one match is an error.
func (s *Service) Create(ctx context.Context, typ string, body []byte, ifNoneExist string) (Result, error) {
	e := &entry{method: "POST", typ: typ, cond: ifNoneExist}
	if err := s.prepareBody(e, body); err != nil {
		return Result{}, err
	}
	return s.runOne(ctx, e)
}

// Update stores body as the new version of typ/id, creating it if absent
// (update as create). ifMatch is a version ("3" or W/"3") or "".
func (s *Service) Update(ctx context.Context, typ, id string, body []byte, ifMatch string) (Result, error) {
	return s.change(ctx, &entry{method: "PUT", typ: typ, id: id}, body, ifMatch)
}

// ConditionalUpdate updates the one resource matching query, or creates one
// if none matches.
func (s *Service) ConditionalUpdate(ctx context.Context, typ, query string, body []byte, ifMatch string) (Result, error) {
	return s.change(ctx, &entry{method: "PUT", typ: typ, cond: query}, body, ifMatch)
}

// Patch applies a JSON Patch document to the current version of typ/id.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch string) (Result, error) {
	return s.change(ctx, &entry{method: "PATCH", typ: typ, id: id}, patch, ifMatch)
}

// ConditionalPatch patches the one resource matching query.
func (s *Service) ConditionalPatch(ctx context.Context, typ, query string, patch []byte, ifMatch string) (Result, error) {
	return s.change(ctx, &entry{method: "PATCH", typ: typ, cond: query}, patch, ifMatch)
}

// change runs an update or a patch: body is the resource or the patch.
func (s *Service) change(ctx context.Context, e *entry, body []byte, ifMatch string) (Result, error) {
	if err := e.setIfMatch(ifMatch); err != nil {
		return Result{}, err
	}
	prep := s.prepareBody
	if e.method == "PATCH" {
		prep = s.preparePatch
	}
	if err := prep(e, body); err != nil {
		return Result{}, err
	}
	return s.runOne(ctx, e)
}

// Delete deletes typ/id, keeping its history.
func (s *Service) Delete(ctx context.Context, typ, id, ifMatch string) (Result, error) {
	e := &entry{method: "DELETE", typ: typ, id: id}
	if err := e.setIfMatch(ifMatch); err != nil {
		return Result{}, err
	}
	if err := s.checkTarget(e); err != nil {
		return Result{}, err
	}
	return s.runOne(ctx, e)
}

// ConditionalDelete deletes the one resource matching query; none is not an
// error, more than one is.
func (s *Service) ConditionalDelete(ctx context.Context, typ, query string) (Result, error) {
	e := &entry{method: "DELETE", typ: typ, cond: query}
	if err := s.checkTarget(e); err != nil {
		return Result{}, err
	}
	return s.runOne(ctx, e)
}

func (s *Service) runOne(ctx context.Context, e *entry) (Result, error) {
	res, err := s.runOneLocked(ctx, e)
	if err == nil {
		s.committed(ctx, writtenBy([]*entry{e}))
	}
	if err == nil && e.typ == "SearchParameter" {
		err = s.paramsWritten(ctx)
	}
	return res, err
}

func (s *Service) runOneLocked(ctx context.Context, e *entry) (Result, error) {
	s.writing.RLock()
	defer s.writing.RUnlock()
	e.src, e.known = SourceFrom(ctx)
	e.entered = enteredBy(ctx)
	if e.obj != nil && e.cond == "" || e.method == "POST" {
		if e.method == "POST" {
			e.id = NewID()
		}
		if e.obj != nil && !unresolved(e.obj, nil) {
			if err := s.prepareWrite(e); err != nil {
				return Result{}, err
			}
		}
	}
	if err := s.preapprove(ctx, e); err != nil {
		return Result{}, err
	}
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		e.reset()
		if err := s.resolveTarget(ctx, tx, e); err != nil {
			return err
		}
		if e.obj != nil && e.prep == nil {
			if err := s.resolveConditionalRefs(ctx, tx, e.obj, nil); err != nil {
				return err
			}
		}
		return s.apply(ctx, tx, e)
	})
	if err != nil {
		return Result{}, err
	}
	return e.result, nil
}

// entry is one interaction on its way through a write transaction: a
// single REST call or one entry of a batch or transaction Bundle.
type entry struct {
	method  string // POST, PUT, PATCH, DELETE, GET, HEAD
	typ, id string
	cond    string // ifNoneExist for POST; the search query for conditional PUT/PATCH/DELETE
	ifMatch int64  // 0: none
	fullURL string

	obj   fhir.Object // decoded resource for POST and PUT
	src   Source      // who contributed it (see attribute)
	known bool        // src came with the request, not from the resource
	// entered is the person (or delegate) who wrote it, when a patient
	// principal did (see markEntered).
	entered string
	// patched is the resource a PATCH leaves, once applied.
	patched fhir.Object
	patch   jsonpatch.Patch // for PATCH
	// prep is obj serialised and indexed ahead of the write transaction,
	// when its id and references did not depend on it.
	prep *prepared

	// set inside the transaction
	result Result
	noop   bool // a conditional create that matched, or a delete with nothing to delete
	// approved are the records (patient keys) the access decision allowed
	// before the transaction (see preapprove).
	approved map[string]access.Decision
}

func (e *entry) reset() {
	e.result = Result{}
	e.noop = false
	e.patched = nil
}

func (e *entry) setIfMatch(v string) error {
	if v == "" {
		return nil
	}
	n, ok := ParseETag(v)
	if !ok {
		return fhir.E(fhir.Invalid, "If-Match %q is not a version ETag like W/\"3\"", v)
	}
	e.ifMatch = n
	return nil
}

// ParseETag reads W/"3", "3" or 3 as version 3.
func ParseETag(v string) (int64, bool) {
	if len(v) > 2 && (v[:2] == "W/" || v[:2] == "w/") {
		v = v[2:]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// ETag is the weak ETag of a version.
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func (s *Service) checkTarget(e *entry) error {
	if err := s.CheckType(e.typ); err != nil {
		return err
	}
	if e.id != "" && !ValidID(e.id) {
		return fhir.E(fhir.Invalid, "%q is not a valid resource id", e.id)
	}
	if e.cond != "" {
		if _, _, err := s.criteria(e.typ, e.cond); err != nil {
			return err
		}
	}
	return nil
}

// prepareBody decodes and validates a resource body for POST or PUT.
func (s *Service) prepareBody(e *entry, body []byte) error {
	if err := s.checkTarget(e); err != nil {
		return err
	}
	m, err := fhir.DecodeResource(body)
	if err != nil {
		return err
	}
	return s.prepareObject(e, m)
}

func (s *Service) prepareObject(e *entry, m fhir.Object) error {
	rt, err := fhir.ResourceType(m)
	if err != nil {
		return err
	}
	if rt != e.typ {
		return fhir.E(fhir.Invalid, "the body's resourceType %q does not match the URL's %q", rt, e.typ)
	}
	if e.method == "PUT" && e.cond == "" {
		bodyID, _ := m["id"].(string)
		if bodyID == "" {
			return &fhir.Error{Kind: fhir.Invalid, Msg: "an update must carry the resource id in the body", Issues: []fhir.Issue{{Diagnostics: "id is required on update", Expression: []string{rt + ".id"}}}}
		}
		if bodyID != e.id {
			return fhir.E(fhir.Invalid, "the body's id %q does not match the URL's %q", bodyID, e.id)
		}
	}
	if err := s.validate(m); err != nil {
		return err
	}
	e.obj = m
	return nil
}

func (s *Service) validate(m fhir.Object) error {
	if err := s.validateShape(m); err != nil {
		return err
	}
	switch rt, _ := m["resourceType"].(string); rt {
	case "SearchParameter":
		return s.checkSearchParameter(m)
	case "Patient", "RelatedPerson", "Person":
		return checkNHSNumbers(rt, m)
	}
	return nil
}

// checkNHSNumbers refuses a person's identifier in the NHS number system
// that is not a valid NHS number (ten digits, Modulus 11): one wrong digit
// would link a record to someone else, or to no one.
func checkNHSNumbers(rt string, m fhir.Object) error {
	ids, _ := m["identifier"].([]any)
	for i, id := range ids {
		im, _ := id.(map[string]any)
		if im["system"] != mpi.NHSNumberSystem {
			continue
		}
		v, _ := im["value"].(string)
		if _, err := mpi.ParseNHSNumber(v); err != nil {
			why := err.Error()
			var ne *mpi.NHSNumberError
			if errors.As(err, &ne) {
				why = ne.Reason.Error()
			}
			at := fmt.Sprintf("%s.identifier[%d].value", rt, i)
			return &fhir.Error{Kind: fhir.Unprocessable, Msg: "a Patient identifier is not a valid NHS number",
				Issues: []fhir.Issue{{Diagnostics: "not a valid NHS number: " + why, Expression: []string{at}}}}
		}
	}
	return nil
}

// validateShape runs the Validator.
func (s *Service) validateShape(m fhir.Object) error {
	if s.Validate == nil {
		return nil
	}
	issues := s.Validate(m)
	var errs []fhir.Issue
	for _, is := range issues {
		if is.Severity == "" || is.Severity == "error" || is.Severity == "fatal" {
			errs = append(errs, is)
		}
	}
	if len(errs) > 0 {
		rt, _ := m["resourceType"].(string)
		return fhir.WithIssues(fhir.Invalid, rt+" failed validation", issues)
	}
	return nil
}

func (s *Service) preparePatch(e *entry, patch []byte) error {
	if err := s.checkTarget(e); err != nil {
		return err
	}
	p, err := jsonpatch.Parse(patch)
	if err != nil {
		return err
	}
	e.patch = p
	return nil
}

// resolveTarget settles which resource a conditional entry acts on.
func (s *Service) resolveTarget(ctx context.Context, tx store.Tx, e *entry) error {
	if e.cond != "" {
		if err := s.guardConditional(ctx); err != nil {
			return err
		}
	}
	switch e.method {
	case "POST":
		if e.id == "" {
			e.id = NewID()
		}
		if e.cond == "" {
			return nil
		}
		ids, err := s.find(ctx, tx, e.typ, e.cond)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
		case 1:
			e.id, e.noop = ids[0], true
		default:
			return fhir.E(fhir.MultipleMatches, "If-None-Exist %q matches %d %s resources", e.cond, len(ids), e.typ)
		}
	case "PUT", "PATCH", "DELETE":
		if e.cond == "" {
			return nil
		}
		ids, err := s.find(ctx, tx, e.typ, e.cond)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			switch e.method {
			case "PUT":
				if bodyID, _ := e.obj["id"].(string); bodyID != "" {
					e.id = bodyID
				} else {
					e.id = NewID()
				}
			case "PATCH":
				return fhir.E(fhir.NotFound, "no %s matches %q", e.typ, e.cond)
			case "DELETE":
				e.noop = true
			}
		case 1:
			if e.method == "PUT" {
				if bodyID, _ := e.obj["id"].(string); bodyID != "" && bodyID != ids[0] {
					return fhir.E(fhir.Invalid, "the body's id %q is not the id %q that %q matches", bodyID, ids[0], e.cond)
				}
			}
			e.id = ids[0]
		default:
			return fhir.E(fhir.MultipleMatches, "%q matches %d %s resources; a conditional %s needs exactly one", e.cond, len(ids), e.typ, e.method)
		}
	}
	return nil
}

// find runs conditional criteria inside the transaction, holding a lock on
// them so that two requests with the same criteria cannot both create.
func (s *Service) find(ctx context.Context, tx store.Tx, typ, query string) ([]string, error) {
	c, err := s.ParseCriteria(ctx, typ, query)
	if err != nil {
		return nil, err
	}
	if err := tx.Lock(ctx, typ+"?"+query); err != nil {
		return nil, err
	}
	return tx.Find(ctx, c, 2)
}

// apply performs a resolved entry inside tx.
func (s *Service) apply(ctx context.Context, tx store.Tx, e *entry) error {
	if e.noop && e.method == "POST" {
		cur, err := tx.Read(ctx, e.typ, e.id)
		if err != nil {
			return err
		}
		e.result = Result{Resource: cur, Unchanged: true}
		return nil
	}
	if e.noop && e.method == "DELETE" {
		e.result = Result{Unchanged: true}
		return nil
	}
	cur, err := tx.Read(ctx, e.typ, e.id)
	var curVersion int64
	exists := false
	switch {
	case err == nil:
		curVersion = cur.Version
		exists = !cur.Deleted
	case errors.Is(err, store.ErrNotFound):
		cur = nil
	default:
		return err
	}
	if e.ifMatch != 0 && e.ifMatch != curVersion {
		return fhir.E(fhir.PreconditionFail, "If-Match version %d is not the current version %d of %s/%s", e.ifMatch, curVersion, e.typ, e.id)
	}
	now := s.Now()
	if cur != nil && !now.After(cur.LastUpdated) {
		// Keep versions of one resource strictly ordered in time even if
		// the clock steps back.
		now = cur.LastUpdated.Add(time.Microsecond)
	}
	var obj fhir.Object
	switch e.method {
	case "POST":
		if cur != nil {
			// A fresh UUID collided: astronomically unlikely, never silent.
			return fhir.E(fhir.Conflict, "%s/%s already exists", e.typ, e.id)
		}
		obj = e.obj
	case "PUT":
		obj = e.obj
	case "PATCH":
		if !exists {
			if cur != nil {
				return &fhir.Error{Kind: fhir.Gone, Msg: e.typ + "/" + e.id + " was deleted"}
			}
			return fhir.E(fhir.NotFound, "%s/%s not found", e.typ, e.id)
		}
		// Decided before the patch runs: its test operations would
		// otherwise probe what the principal may not see.
		if err := s.guardWrite(ctx, e, cur, exists, cur.PatientKey); err != nil {
			return err
		}
		doc, err := fhir.DecodeResource(cur.Body)
		if err != nil {
			return err
		}
		patched, err := e.patch.Apply(doc)
		if err != nil {
			return err
		}
		pm, ok := patched.(map[string]any)
		if !ok {
			return fhir.E(fhir.Unprocessable, "the patch does not leave a resource")
		}
		if rt, _ := pm["resourceType"].(string); rt != e.typ {
			return fhir.E(fhir.Unprocessable, "a patch may not change resourceType")
		}
		if id, _ := pm["id"].(string); id != e.id {
			return fhir.E(fhir.Unprocessable, "a patch may not change id")
		}
		if err := s.validate(pm); err != nil {
			return err
		}
		obj = pm
		e.patched = pm
	case "DELETE":
		if !exists {
			if cur == nil && e.cond == "" {
				return fhir.E(fhir.NotFound, "%s/%s not found", e.typ, e.id)
			}
			e.result = Result{Resource: cur, Unchanged: true}
			return nil
		}
		if err := s.guardWrite(ctx, e, cur, exists, cur.PatientKey); err != nil {
			return err
		}
		r := store.Resource{Type: e.typ, ID: e.id, Version: curVersion + 1, LastUpdated: now, Deleted: true, Method: "DELETE", PatientKey: cur.PatientKey}
		if err := tx.Put(ctx, store.Write{Resource: r}); err != nil {
			return err
		}
		e.result = Result{Resource: &r}
		return nil
	default:
		return fhir.E(fhir.Invalid, "unsupported method %s", e.method)
	}
	prep := e.prep
	if prep == nil || e.method == "PATCH" {
		if prep, err = s.prepare(e, obj); err != nil {
			return err
		}
	}
	if err := s.guardWrite(ctx, e, cur, exists, prep.patientKey); err != nil {
		return err
	}
	if exists && sameContent(prep.body.Render(cur.Version, cur.LastUpdated), cur.Body) {
		// Nothing changed (a feed sending what it sent before, a patch
		// that changes nothing): no new version, as HAPI and others do.
		e.result = Result{Resource: cur, Unchanged: true}
		return nil
	}
	r := store.Resource{
		Type: e.typ, ID: e.id, Version: curVersion + 1, LastUpdated: now, Method: e.method,
		PatientKey: prep.patientKey,
	}
	r.Body = prep.body.Render(r.Version, now)
	if err := tx.Put(ctx, store.Write{Resource: r, Index: prep.index}); err != nil {
		return err
	}
	e.result = Result{Resource: &r, Created: !exists}
	return nil
}

// NewID returns a new server-assigned resource id: a UUID, so ids never
// collide across nodes and need no sequence. Version 7 (time-ordered, the
// rest random) keeps new ids together at the end of every index on id
// instead of scattering inserts over the whole B-tree, which is what keeps
// bulk loads fast once the tables outgrow memory.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// ValidID reports whether s is a valid FHIR id: 1–64 of [A-Za-z0-9-.].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// prepared is a resource serialised and indexed, waiting only for its
// version and timestamp.
type prepared struct {
	body       fhir.Prepared
	index      store.Index
	patientKey string
}

func (s *Service) prepare(e *entry, obj fhir.Object) (*prepared, error) {
	id := e.id
	access.Label(obj)
	attribute(obj, e.src, e.known)
	markEntered(obj, e.entered)
	p, err := fhir.Prepare(obj, id)
	if err != nil {
		return nil, err
	}
	ix, pk := s.Definitions().ComputeStored(obj, id, s.IndexScope)
	return &prepared{body: p, index: ix, patientKey: pk}, nil
}

// prepareWrite does the CPU work of e's write before the transaction, so
// the single writer spends its time writing.
func (s *Service) prepareWrite(e *entry) error {
	p, err := s.prepare(e, e.obj)
	if err != nil {
		return err
	}
	e.prep = p
	return nil
}

// sameContent reports whether a would-be version, rendered with the
// current version's meta, is the current version: byte for byte as the
// embedded store keeps it, or as JSON values (PostgreSQL's jsonb gives
// bodies back with its own key order and spacing).
func sameContent(next, cur []byte) bool {
	if bytes.Equal(next, cur) {
		return true
	}
	a, err := fhir.DecodeResource(next)
	if err != nil {
		return false
	}
	b, err := fhir.DecodeResource(cur)
	if err != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
