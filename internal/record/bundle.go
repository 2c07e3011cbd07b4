package record

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// EntryResult is the outcome of one Bundle entry, in the entry's order.
type EntryResult struct {
	Method string
	Status int
	Result Result
	// Read is the resource a GET entry returned.
	Read *store.Resource
	// Err is the entry's error in a batch (a transaction fails whole).
	Err error
}

// BundleResult is the outcome of a batch or transaction.
type BundleResult struct {
	Type    string // "batch-response" or "transaction-response"
	Entries []EntryResult
}

// MaxBundleEntries bounds one Bundle so one request cannot hold the writer
// for long.
const MaxBundleEntries = 20000

// Bundle processes a batch or transaction Bundle. base is the server's FHIR
// base URL; entry URLs may be relative or start with it.
func (s *Service) Bundle(ctx context.Context, body []byte, base string) (*BundleResult, error) {
	return s.submitBundle(ctx, body, base, true)()
}

// SubmitBundle is Bundle without waiting for a transaction to commit:
// the checking, decoding and validating are done, the transaction is
// submitted, and wait (which must be called) gives the outcome once it is
// durable. Transactions submitted one after another commit in that order
// and, on the embedded store, may share one commit, so a feed that
// pipelines messages pays one disk flush for many. A batch is carried
// out before SubmitBundle returns.
func (s *Service) SubmitBundle(ctx context.Context, body []byte, base string) (wait func() (*BundleResult, error)) {
	return s.submitBundle(ctx, body, base, false)
}

func (s *Service) submitBundle(ctx context.Context, body []byte, base string, block bool) (wait func() (*BundleResult, error)) {
	fail := func(err error) func() (*BundleResult, error) {
		return func() (*BundleResult, error) { return nil, err }
	}
	// The envelope is cut into members with the entries left raw, so that
	// checking, decoding and validating the entries runs on all cores.
	members, err := fhir.SplitObject(body)
	if err != nil {
		return fail(err)
	}
	var rt, typ string
	for k, v := range members {
		switch k {
		case "resourceType":
			err = json.Unmarshal(v, &rt)
		case "type":
			err = json.Unmarshal(v, &typ)
		case "entry":
			continue
		default:
			if !json.Valid(v) {
				err = fhir.E(fhir.Invalid, "Bundle.%s is not valid JSON", k)
			}
		}
		if err != nil {
			return fail(fhir.E(fhir.Invalid, "Bundle.%s is not valid: %v", k, err))
		}
	}
	if rt != "Bundle" {
		return fail(fhir.E(fhir.Invalid, "POST to the base must send a Bundle, not %q", rt))
	}
	if typ != "batch" && typ != "transaction" {
		return fail(&fhir.Error{Kind: fhir.Invalid, Msg: fmt.Sprintf("Bundle.type must be batch or transaction, not %q", typ), Issues: []fhir.Issue{{Diagnostics: "batch or transaction expected", Expression: []string{"Bundle.type"}}}})
	}
	var raw [][]byte
	if e, ok := members["entry"]; ok {
		if raw, err = fhir.SplitArray(e); err != nil {
			return fail(&fhir.Error{Kind: fhir.Invalid, Msg: "Bundle.entry must be an array", Err: err})
		}
	}
	if len(raw) > MaxBundleEntries {
		return fail(fhir.E(fhir.TooLarge, "a Bundle may have at most %d entries, this has %d", MaxBundleEntries, len(raw)))
	}
	entries := make([]*entry, len(raw))
	errs := make([]error, len(raw))
	s.parallel(len(raw), func(i int) {
		entries[i], errs[i] = s.prepareEntry(raw[i], base)
		if errs[i] != nil {
			errs[i] = entryError(i, errs[i])
		}
	})
	if typ == "batch" {
		res := s.batch(ctx, entries, errs) // each entry is a write of its own (runOne)
		return func() (*BundleResult, error) { return res, nil }
	}
	if err := errors.Join(errs...); err != nil {
		return fail(firstError(errs))
	}
	if block {
		s.writing.RLock()
	} else if !s.writing.TryRLock() {
		// A change of search definitions waits for the writes in flight,
		// perhaps for this caller's own earlier submissions, which it
		// has yet to wait for: taking the lock now could wait forever.
		// This one runs when waited for, after those.
		return func() (*BundleResult, error) { return s.submitBundle(ctx, body, base, true)() }
	}
	finish := s.transaction(ctx, entries)
	return func() (*BundleResult, error) {
		res, err := finish()
		s.writing.RUnlock()
		if err != nil {
			return nil, err
		}
		s.committed(ctx, writtenBy(entries))
		for _, e := range entries {
			if e != nil && e.typ == "SearchParameter" && e.method != "GET" && e.method != "HEAD" {
				if err := s.paramsWritten(ctx); err != nil {
					return nil, err
				}
				break
			}
		}
		return res, nil
	}
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// entryError names the entry an error came from.
func entryError(i int, err error) error {
	var fe *fhir.Error
	if errors.As(err, &fe) {
		c := *fe
		if c.Op == "" {
			c.Op = fmt.Sprintf("Bundle.entry[%d]", i)
		}
		issues := make([]fhir.Issue, len(c.Issues))
		for j, is := range c.Issues {
			is.Expression = append([]string(nil), is.Expression...)
			for k, ex := range is.Expression {
				is.Expression[k] = fmt.Sprintf("Bundle.entry[%d].resource.%s", i, ex)
			}
			issues[j] = is
		}
		c.Issues = issues
		return &c
	}
	return fmt.Errorf("Bundle.entry[%d]: %w", i, err)
}

// parallel runs f(0..n-1) on all cores: decoding and validating entries is
// CPU work that need not wait for the single writer.
func (s *Service) parallel(n int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 32 || workers == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// prepareEntry reads one Bundle entry's request and resource.
func (s *Service) prepareEntry(data []byte, base string) (*entry, error) {
	v, err := fhir.Decode(data)
	if err != nil {
		return nil, err
	}
	em, ok := v.(map[string]any)
	if !ok {
		return nil, fhir.E(fhir.Invalid, "an entry must be an object")
	}
	req, ok := em["request"].(map[string]any)
	if !ok {
		return nil, fhir.E(fhir.Invalid, "entry.request is required in a batch or transaction")
	}
	method, _ := req["method"].(string)
	rawURL, _ := req["url"].(string)
	if rawURL == "" {
		return nil, fhir.E(fhir.Invalid, "entry.request.url is required")
	}
	u := strings.TrimPrefix(rawURL, base)
	u = strings.TrimPrefix(u, "/")
	e := &entry{method: method}
	e.fullURL, _ = em["fullUrl"].(string)
	path, query, _ := strings.Cut(u, "?")
	parts := strings.Split(path, "/")
	str := func(k string) string { s, _ := req[k].(string); return s }
	switch method {
	case "GET", "HEAD":
		if query != "" || len(parts) < 2 {
			return nil, fhir.E(fhir.NotSupported, "search in a Bundle entry (%q) is not supported yet; read by id", rawURL)
		}
		e.typ, e.id = parts[0], parts[1]
		if len(parts) == 4 && parts[2] == "_history" {
			e.cond = parts[3] // the version to read
		} else if len(parts) != 2 {
			return nil, fhir.E(fhir.Invalid, "entry.request.url %q is not a resource URL", rawURL)
		}
		if err := s.CheckType(e.typ); err != nil {
			return nil, err
		}
		return e, nil
	case "POST":
		if len(parts) != 1 || query != "" {
			return nil, fhir.E(fhir.Invalid, "a POST entry's url must be a resource type, not %q", rawURL)
		}
		e.typ = parts[0]
		e.cond = str("ifNoneExist")
	case "PUT", "DELETE", "PATCH":
		e.typ = parts[0]
		switch {
		case query != "" && len(parts) == 1:
			e.cond = query
		case query == "" && len(parts) == 2:
			e.id = parts[1]
		default:
			return nil, fhir.E(fhir.Invalid, "entry.request.url %q must be Type/id or Type?criteria", rawURL)
		}
		if err := e.setIfMatch(str("ifMatch")); err != nil {
			return nil, err
		}
	default:
		return nil, fhir.E(fhir.Invalid, "entry.request.method %q is not GET, HEAD, POST, PUT, PATCH or DELETE", method)
	}
	if err := s.checkTarget(e); err != nil {
		return nil, err
	}
	res, _ := em["resource"].(map[string]any)
	switch method {
	case "POST", "PUT":
		if res == nil {
			return nil, fhir.E(fhir.Invalid, "a %s entry needs a resource", method)
		}
		if err := s.prepareObject(e, res); err != nil {
			return nil, err
		}
	case "PATCH":
		p, err := patchFromEntry(res)
		if err != nil {
			return nil, err
		}
		if err := s.preparePatch(e, p); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// patchFromEntry takes the JSON Patch document a PATCH entry carries as a
// Binary resource (R4's way of putting a patch in a Bundle).
func patchFromEntry(res map[string]any) ([]byte, error) {
	if res == nil || res["resourceType"] != "Binary" {
		return nil, fhir.E(fhir.NotSupported, "a PATCH entry must carry a JSON Patch as a Binary resource")
	}
	if ct, _ := res["contentType"].(string); !strings.HasPrefix(ct, "application/json-patch+json") {
		return nil, fhir.E(fhir.NotSupported, "a PATCH entry's Binary must have contentType application/json-patch+json, not %q", ct)
	}
	data, _ := res["data"].(string)
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fhir.E(fhir.Invalid, "the PATCH entry's Binary.data is not base64")
	}
	return b, nil
}

// transaction applies entries atomically in the spec's order: deletes,
// creates, updates and patches, then reads.
// transaction prepares entries and submits them as one store transaction;
// the returned function waits for the commit and gives the result.
func (s *Service) transaction(ctx context.Context, entries []*entry) func() (*BundleResult, error) {
	fail := func(err error) func() (*BundleResult, error) {
		return func() (*BundleResult, error) { return nil, err }
	}
	src, fromRequest := SourceFrom(ctx)
	entered := enteredBy(ctx)
	for _, e := range entries {
		e.src, e.known, e.entered = src, fromRequest, entered
	}
	seen := make(map[string]int)
	for i, e := range entries {
		if e.id == "" || e.method == "GET" || e.method == "HEAD" {
			continue
		}
		k := e.typ + "/" + e.id
		if j, dup := seen[k]; dup {
			return fail(fhir.E(fhir.Invalid, "Bundle.entry[%d] and Bundle.entry[%d] both change %s", j, i, k))
		}
		seen[k] = i
	}
	// Ids that do not depend on a search are settled now, references to
	// them rewritten, and those resources serialised and indexed on all
	// cores before the write transaction starts.
	known := make(map[string]string)
	pending := make(map[string]bool)
	for _, e := range entries {
		switch {
		case e.method == "POST" && e.cond == "":
			e.id = NewID()
		case e.method == "PUT" && e.cond == "":
		case (e.method == "POST" || e.method == "PUT") && e.fullURL != "":
			pending[e.fullURL] = true
			continue
		default:
			continue
		}
		if e.fullURL != "" {
			known[e.fullURL] = e.typ + "/" + e.id
		}
	}
	errs := make([]error, len(entries))
	s.parallel(len(entries), func(i int) {
		e := entries[i]
		if e.obj == nil {
			return
		}
		if len(known) > 0 {
			rewrite(e.obj, known)
		}
		if e.id != "" && !unresolved(e.obj, pending) {
			if err := s.prepareWrite(e); err != nil {
				errs[i] = entryError(i, err)
			}
		}
	})
	if err := firstError(errs); err != nil {
		return fail(err)
	}
	out := &BundleResult{Type: "transaction-response", Entries: make([]EntryResult, len(entries))}
	wait := store.Submit(ctx, s.Store, func(tx store.Tx) error {
		for _, e := range entries {
			e.reset()
		}
		order := [][]string{{"DELETE"}, {"POST"}, {"PUT", "PATCH"}}
		// Deletes first, so later entries see their effect.
		for i, e := range entries {
			if e.method != "DELETE" {
				continue
			}
			if err := s.resolveTarget(ctx, tx, e); err != nil {
				return entryError(i, err)
			}
			if err := s.apply(ctx, tx, e); err != nil {
				return entryError(i, err)
			}
		}
		// Settle every target id, then rewrite references to entries.
		ids := make(map[string]string)
		refCache := make(map[string]string) // inside fn: a retry starts afresh
		for _, methods := range order[1:] {
			for i, e := range entries {
				if !has(methods, e.method) {
					continue
				}
				if err := s.resolveTarget(ctx, tx, e); err != nil {
					return entryError(i, err)
				}
				if e.fullURL != "" && e.id != "" {
					ids[e.fullURL] = e.typ + "/" + e.id
				}
			}
		}
		for i, e := range entries {
			if e.obj == nil || e.prep != nil {
				continue
			}
			if len(ids) > 0 {
				rewrite(e.obj, ids)
			}
			if err := s.resolveConditionalRefs(ctx, tx, e.obj, refCache); err != nil {
				return entryError(i, err)
			}
		}
		for _, methods := range order[1:] {
			for i, e := range entries {
				if !has(methods, e.method) {
					continue
				}
				if err := s.apply(ctx, tx, e); err != nil {
					return entryError(i, err)
				}
			}
		}
		for i, e := range entries {
			if e.method != "GET" && e.method != "HEAD" {
				continue
			}
			r, err := s.readIn(ctx, tx, e)
			if err != nil {
				return entryError(i, err)
			}
			out.Entries[i].Read = r
		}
		return nil
	})
	return func() (*BundleResult, error) {
		if err := wait(); err != nil {
			return nil, err
		}
		for i, e := range entries {
			out.Entries[i].Method = e.method
			out.Entries[i].Result = e.result
			out.Entries[i].Status = entryStatus(e)
		}
		return out, nil
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func entryStatus(e *entry) int {
	switch e.method {
	case "GET", "HEAD":
		return http.StatusOK
	case "DELETE":
		return http.StatusNoContent
	}
	if e.result.Unchanged {
		return http.StatusOK
	}
	if e.result.Created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Service) readIn(ctx context.Context, tx store.Tx, e *entry) (*store.Resource, error) {
	if e.cond != "" {
		// A vread in a transaction reads committed history.
		return s.VRead(ctx, e.typ, e.id, e.cond)
	}
	r, err := tx.Read(ctx, e.typ, e.id)
	if err != nil {
		return nil, notFound(err, e.typ, e.id)
	}
	if err := s.guardRead(ctx, r); err != nil {
		return nil, err
	}
	if r.Deleted {
		return nil, &fhir.Error{Kind: fhir.Gone, Msg: e.typ + "/" + e.id + " was deleted"}
	}
	return r, nil
}

// batch runs each entry on its own; entries run concurrently so the store
// can commit them together.
func (s *Service) batch(ctx context.Context, entries []*entry, errs []error) *BundleResult {
	out := &BundleResult{Type: "batch-response", Entries: make([]EntryResult, len(entries))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i, e := range entries {
		if errs[i] != nil {
			out.Entries[i] = EntryResult{Err: errs[i], Status: fhir.KindOf(errs[i]).Status()}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, e *entry) {
			defer func() { <-sem; wg.Done() }()
			er := EntryResult{Method: e.method}
			var err error
			switch e.method {
			case "GET", "HEAD":
				if e.cond != "" {
					er.Read, err = s.VRead(ctx, e.typ, e.id, e.cond)
				} else {
					er.Read, err = s.Read(ctx, e.typ, e.id)
				}
			default:
				er.Result, err = s.runOne(ctx, e)
			}
			if err != nil {
				er.Err = entryError(i, err)
				er.Status = fhir.KindOf(err).Status()
			} else {
				er.Status = entryStatus(e)
			}
			out.Entries[i] = er
		}(i, e)
	}
	wg.Wait()
	return out
}
