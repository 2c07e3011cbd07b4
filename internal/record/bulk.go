package record

import (
	"context"
	"errors"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Bulk writes: what an import does with each resource, in large batches.
//
// Each resource is a PUT of its own id: a new resource, or a new version of
// the one there (deleted or not), with exactly the checks, version rules,
// serialisation and index rows of Update. The work is split as Update
// splits it. Stage is the CPU work before the write transaction (decode,
// type and id checks, validation, serialisation, index rows); it is safe to
// call from many goroutines at once. WriteStaged then writes a batch of
// staged resources in one store transaction: the new ones through the
// store's store.BulkPutter when it has one (multi-row INSERTs on SQLite,
// COPY on PostgreSQL), the others with Put after reading their current
// version, as Update does.
//
// References are not checked for existence on write (no path checks them),
// so the order of resources in an import does not matter, except for
// conditional references ("Patient?identifier=…"): a resource holding one
// is resolved inside the transaction (Staged.Deferred), against what is
// committed and what the transaction wrote before it.

// Staged is a resource ready for WriteStaged.
type Staged struct {
	Type, ID string
	e        *entry
	defs     *index.Definitions // what e.prep's rows were computed with
}

// Deferred reports whether the resource holds conditional references,
// which only its write transaction can resolve: its serialisation and
// index rows are computed there.
func (st *Staged) Deferred() bool { return st.e.prep == nil }

// Object is the decoded, validated resource; callers must not modify it.
func (st *Staged) Object() fhir.Object { return st.e.obj }

// Stage decodes body and prepares it for WriteStaged as a PUT of the id it
// carries. An error is the resource's own: not valid JSON, no or a bad id,
// an unknown type, failed validation.
func (s *Service) Stage(ctx context.Context, body []byte) (*Staged, error) {
	m, err := fhir.DecodeResource(body)
	if err != nil {
		return nil, err
	}
	return s.StageObject(ctx, m)
}

// StageObject is Stage for a decoded resource, which it keeps.
func (s *Service) StageObject(ctx context.Context, m fhir.Object) (*Staged, error) {
	rt, err := fhir.ResourceType(m)
	if err != nil {
		return nil, err
	}
	id, _ := m["id"].(string)
	if id == "" {
		return nil, &fhir.Error{Kind: fhir.Invalid, Msg: "a resource to import must carry its id", Issues: []fhir.Issue{{Diagnostics: "id is required", Expression: []string{rt + ".id"}}}}
	}
	e := &entry{method: "PUT", typ: rt, id: id}
	e.src, e.known = SourceFrom(ctx)
	e.entered = enteredBy(ctx)
	if err := s.checkTarget(e); err != nil {
		return nil, err
	}
	if err := s.prepareObject(e, m); err != nil {
		return nil, err
	}
	st := &Staged{Type: rt, ID: id, e: e}
	if !unresolved(m, nil) {
		if err := s.stagePrepare(st, s.Definitions()); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// stagePrepare serialises and indexes st with defs.
func (s *Service) stagePrepare(st *Staged, defs *index.Definitions) error {
	attribute(st.e.obj, st.e.src, st.e.known)
	markEntered(st.e.obj, st.e.entered)
	p, err := fhir.Prepare(st.e.obj, st.ID)
	if err != nil {
		return err
	}
	ix, pk := defs.ComputeStored(st.e.obj, st.ID, s.IndexScope)
	st.e.prep = &prepared{body: p, index: ix, patientKey: pk}
	st.defs = defs
	return nil
}

// BulkResult is the outcome of one staged resource.
type BulkResult struct {
	Version int64
	// Created is true when the write made a new resource (or a new version
	// of a deleted one).
	Created bool
	// Err is the resource's own failure; the others were written.
	Err error
}

// WriteStaged writes batch, in order (a resource staged twice ends at its
// last version), and returns each one's outcome. It tries the whole batch
// in one store transaction; if that fails for a reason other than the
// store's (one resource's conditional reference matches nothing, say), it
// writes each resource in a transaction of its own to tell which failed.
// The error is for failures that are not any one resource's: the store's,
// or ctx's. After an error, the results say what was written.
func (s *Service) WriteStaged(ctx context.Context, batch []*Staged) ([]BulkResult, error) {
	out := make([]BulkResult, len(batch))
	if len(batch) == 0 {
		return out, nil
	}
	params := false
	for _, st := range batch {
		if st.Type == "SearchParameter" {
			params = true
		}
	}
	err := s.writeBatch(ctx, batch, out)
	if err != nil && !storeFailure(ctx, err) {
		err = s.writeEach(ctx, batch, out)
	}
	if err == nil {
		// (After a store failure what stands is unclear; the hooks catch
		// up at the next start.)
		var written []store.Resource
		for i, st := range batch {
			if r := st.e.result; out[i].Err == nil && r.Resource != nil && !r.Unchanged {
				written = append(written, *r.Resource)
			}
		}
		s.committed(ctx, written)
	}
	if params {
		s.paramsWritten(ctx)
	}
	return out, err
}

// storeFailure reports an error no resource of a batch is to blame for.
func storeFailure(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, store.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// writeBatch writes batch in one transaction.
func (s *Service) writeBatch(ctx context.Context, batch []*Staged, out []BulkResult) error {
	s.writing.RLock()
	defer s.writing.RUnlock()
	// Rows computed before a change of the search parameters are computed
	// again, so that every write after the change indexes with it.
	defs := s.Definitions()
	for _, st := range batch {
		if !st.Deferred() && st.defs != defs {
			if err := s.stagePrepare(st, defs); err != nil {
				return err
			}
		}
	}
	keys := make([]store.Key, len(batch))
	for i, st := range batch {
		keys[i] = store.Key{Type: st.Type, ID: st.ID}
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		clear(out) // fn may run more than once
		bp, _ := tx.(store.BulkPutter)
		var cur map[store.Key]store.Current
		if bp != nil {
			var err error
			if cur, err = bp.Versions(ctx, keys); err != nil {
				return err
			}
		}
		now := s.Now()
		var creates []store.Write
		var createdAt []int
		inCreates := map[store.Key]bool{}
		flush := func() error {
			if len(creates) == 0 {
				return nil
			}
			if err := bp.PutMany(ctx, creates); err != nil {
				return err
			}
			for _, i := range createdAt {
				out[i] = BulkResult{Version: 1, Created: true}
			}
			creates, createdAt = creates[:0], createdAt[:0]
			clear(inCreates)
			return nil
		}
		refCache := map[string]string{}
		for i, st := range batch {
			k := keys[i]
			if _, exists := cur[k]; bp != nil && !exists && !inCreates[k] && !st.Deferred() {
				p := st.e.prep
				r := store.Resource{Type: st.Type, ID: st.ID, Version: 1, LastUpdated: now, Method: "PUT", PatientKey: p.patientKey}
				r.Body = p.body.Render(1, now)
				creates = append(creates, store.Write{Resource: r, Index: p.index})
				createdAt = append(createdAt, i)
				inCreates[k] = true
				continue
			}
			// An update, or a resource written earlier in this batch, or
			// one with conditional references: as Update does it.
			if inCreates[k] || st.Deferred() {
				if err := flush(); err != nil {
					return err
				}
			}
			e := st.e
			e.reset()
			var err error
			if st.Deferred() {
				err = s.resolveConditionalRefs(ctx, tx, e.obj, refCache)
			}
			if err == nil {
				err = s.apply(ctx, tx, e)
			}
			if err != nil {
				if !refusal(err) {
					return err
				}
				out[i] = BulkResult{Err: err}
				continue
			}
			out[i] = BulkResult{Version: e.result.Resource.Version, Created: e.result.Created}
			if bp != nil {
				// Later occurrences of k are updates of this version.
				cur[k] = store.Current{Version: e.result.Resource.Version}
			}
		}
		return flush()
	})
}

// refusal reports an error that refuses one resource and leaves the
// transaction as it was, so the batch can go on without it: one the record
// service decided (a conditional reference that matches nothing, say),
// not one the database raised (those carry their cause, and may have
// ended the transaction on PostgreSQL). A refusal misjudged only costs
// time: the commit then fails and writeEach sorts the batch out.
func refusal(err error) bool {
	var fe *fhir.Error
	return errors.As(err, &fe) && fe.Err == nil && fe.Kind != fhir.Internal && !errors.Is(err, store.ErrConflict)
}

// writeEach writes each resource of batch in its own transaction, as
// Update does; a resource's failure is its result.
func (s *Service) writeEach(ctx context.Context, batch []*Staged, out []BulkResult) error {
	clear(out)
	for i, st := range batch {
		res, err := s.runOneLocked(ctx, st.e)
		if err != nil {
			if storeFailure(ctx, err) || fhir.KindOf(err) == fhir.Internal {
				for j := i; j < len(out); j++ {
					out[j] = BulkResult{Err: err}
				}
				return err
			}
			out[i] = BulkResult{Err: err}
			continue
		}
		out[i] = BulkResult{Version: res.Resource.Version, Created: res.Created}
	}
	return nil
}
