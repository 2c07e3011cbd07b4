// Package person keeps one person, one record: it links every
// organisation's Patient (a source record, with that organisation's own
// identifiers) to one person, using the matching core in internal/mpi,
// and keeps each person as a FHIR resource of the record itself.
//
// A person is a Patient the service writes, tagged TagSystem|person (the
// "golden" record of master data management): its links (type seealso)
// name the source Patients, each with how it was matched (score, grade,
// reasons); its identifiers are every source's, so any of them finds
// the person; its demographics are drawn from the sources, field by
// field, each with an extension naming the source it came from. Because
// persons are ordinary resources, every link, merge and unmerge is in
// their history, and the index is rebuilt from them at start.
//
// The service hears of every committed Patient through the record's
// commit hook, whatever feed wrote it (REST, Bundles, HL7 v2, bulk), and
// places it: an automatic link above the upper threshold, a new person
// and a review task (a FHIR Task, code mpi-review) between the two, a new
// person below.
package person

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

const (
	// TagSystem|TagPerson marks the Patients that are persons.
	TagSystem = "https://sharedcare.example/CodeSystem/record-kind"
	TagPerson = "person"
	// SourceURI is the meta.source of what the service writes.
	SourceURI = "https://sharedcare.example/mpi"
	// MatchExtension, on a person's link, says how the source was linked.
	MatchExtension = "https://sharedcare.example/StructureDefinition/mpi-match"
	// FieldSourceExtension, on a person, names the source of one field.
	FieldSourceExtension = "https://sharedcare.example/StructureDefinition/mpi-field-source"
	// MergedRecordsExtension, on a person merged into another, lists the
	// source records the merge moved, so an unmerge can move them back.
	MergedRecordsExtension = "https://sharedcare.example/StructureDefinition/mpi-merged-records"
	// ReviewSystem|ReviewCode is the code of review tasks.
	ReviewSystem = TagSystem
	ReviewCode   = "mpi-review"
	// MatchGradeExtension is FHIR's match-grade extension, for $match.
	MatchGradeExtension = "http://hl7.org/fhir/StructureDefinition/match-grade"
)

// Service is the person index over a record service.
type Service struct {
	rec *record.Service
	idx *mpi.Index
	log *slog.Logger
	now func() time.Time

	// mu serialises placing records and writing persons: two feeds
	// sending the same new person at once must not make two persons.
	mu sync.Mutex

	// Committed Patients wait in queue for the placer goroutine, so a
	// write is not held up by the person it touches (a person's rewrite
	// is a write of its own, behind the writes already waiting). Reads
	// that depend on persons wait for what was queued before them (Sync).
	pend     *pending // while the placer gathers a batch's writes (under mu)
	queue    chan []store.Resource
	stopped  chan struct{}
	progress sync.Mutex
	caughtUp *sync.Cond
	queued   int64 // batches enqueued (under progress)
	placed   int64 // batches placed (under progress)
}

// New returns the service for rec, matching with model (mpi.DefaultModel
// when nil). Call Start before writes arrive.
func New(rec *record.Service, model *mpi.Model, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{rec: rec, idx: mpi.NewIndex(model), log: log, now: time.Now,
		queue: make(chan []store.Resource, 4096), stopped: make(chan struct{})}
	s.caughtUp = sync.NewCond(&s.progress)
	return s
}

// Close stops placing, after what is queued. The service must not be
// used afterwards; a restart places whatever a crash left unplaced.
func (s *Service) Close() {
	select {
	case <-s.stopped:
		return
	default:
	}
	close(s.queue)
	<-s.stopped
}

// Sync waits until every Patient committed before it was called is placed.
func (s *Service) Sync(ctx context.Context) {
	s.progress.Lock()
	defer s.progress.Unlock()
	target := s.queued
	for s.placed < target {
		if ctx.Err() != nil {
			return
		}
		s.caughtUp.Wait()
	}
}

// maxPlaceBatch bounds the writes whose Patients are placed together.
const maxPlaceBatch = 256

// placer places queued Patients, in commit order.
func (s *Service) placer() {
	defer close(s.stopped)
	for first := range s.queue {
		batches := [][]store.Resource{first}
	more:
		for len(batches) < maxPlaceBatch {
			select {
			case b, ok := <-s.queue:
				if !ok {
					break more
				}
				batches = append(batches, b)
			default:
				break more
			}
		}
		s.placeBatch(context.Background(), batches)
		s.progress.Lock()
		s.placed += int64(len(batches))
		s.caughtUp.Broadcast()
		s.progress.Unlock()
	}
}

// Index is the matching index (read-only use: Match, Find, PersonOf).
func (s *Service) Index() *mpi.Index { return s.idx }

// internal is the context of the service's own writes: attributed to no
// organisation (not to the feed whose write set them off).
func internal(ctx context.Context) context.Context {
	ctx = access.WithPrincipal(access.WithoutNote(ctx), principal)
	return record.WithSource(ctx, record.Source{})
}

// principal is the person index's identity when access control is on: a
// system that reads and writes Patients across everyone's records.
var principal = access.SystemPrincipal("person-index", "")

// IsPerson reports whether a Patient body is a person (not a source).
func IsPerson(body []byte) bool {
	var p struct {
		Meta struct {
			Tag []struct{ System, Code string } `json:"tag"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	for _, t := range p.Meta.Tag {
		if t.System == TagSystem && t.Code == TagPerson {
			return true
		}
	}
	return false
}

// Start rebuilds the index from the persons and sources in the store,
// places any source that no person links (a crash between a write and
// its placing), and starts listening to commits.
func (s *Service) Start(ctx context.Context) error {
	rx, ok := s.rec.Store.(store.Reindexer)
	if !ok {
		return fmt.Errorf("person index: the store cannot list resources")
	}
	linked := map[string]string{} // source → person
	var merges []mpi.Merged
	var sources []mpi.Record
	after := ""
	for {
		page, err := rx.Current(ctx, "Patient", after, 2000)
		if err != nil {
			return fmt.Errorf("person index: %w", err)
		}
		for _, r := range page {
			if IsPerson(r.Body) {
				p, err := decodePerson(r.Body)
				if err != nil {
					s.log.Warn("person index: unreadable person", "id", r.ID, "err", err)
					continue
				}
				for _, l := range p.Links {
					linked[l.Source] = r.ID
				}
				if p.MergedInto != "" {
					merges = append(merges, mpi.Merged{Survivor: p.MergedInto, Duplicate: r.ID, Records: p.Moved})
				}
				continue
			}
			rec, err := mpi.FromPatient(r.Body)
			if err != nil {
				s.log.Warn("person index: Patient not matched", "id", r.ID, "err", err)
				continue
			}
			sources = append(sources, rec)
		}
		if len(page) < 2000 {
			break
		}
		after = page[len(page)-1].ID
	}
	var unplaced []mpi.Record
	err := s.idx.Load(func(yield func(mpi.Entry, error) bool) {
		for _, rec := range sources {
			pid, ok := linked[rec.ID]
			if !ok {
				unplaced = append(unplaced, rec)
				continue
			}
			if !yield(mpi.Entry{Record: rec, Person: pid}, nil) {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("person index: %w", err)
	}
	for _, m := range merges {
		if err := s.idx.RestoreMerge(m); err != nil {
			s.log.Warn("person index: merge not restored", "duplicate", m.Duplicate, "err", err)
		}
	}
	go s.placer()
	s.rec.OnCommit(s.committed)
	s.rec.SetPatientExpander(s.Expand, s.Sync)
	s.rec.SetConditionalFilter("Patient", "_tag:not", TagSystem+"|"+TagPerson)
	if err := s.placeRecords(ctx, unplaced); err != nil {
		return fmt.Errorf("person index: %w", err)
	}
	if len(unplaced) > 0 {
		s.log.Info("person index: placed records written before a restart", "records", len(unplaced))
	}
	st := s.idx.Stats()
	s.log.Info("person index ready", "records", st.Records, "persons", st.Persons)
	return nil
}

// committed queues the Patients a write stored for placing.
func (s *Service) committed(ctx context.Context, written []store.Resource) {
	var pats []store.Resource
	for _, r := range written {
		if r.Type == "Patient" && (r.Deleted || !IsPerson(r.Body)) {
			pats = append(pats, r)
		}
	}
	if len(pats) == 0 {
		return
	}
	s.progress.Lock()
	s.queued++
	s.progress.Unlock()
	s.queue <- pats
}

// placeAll places every source Patient of a write (s.mu held).
func (s *Service) placeAll(ctx context.Context, written []store.Resource) {
	for _, r := range written {
		if r.Type != "Patient" {
			continue
		}
		var err error
		switch {
		case r.Deleted:
			err = s.removedLocked(ctx, r.ID)
		default:
			var rec mpi.Record
			if rec, err = mpi.FromPatient(r.Body); err == nil {
				err = s.placeLocked(ctx, rec)
			}
		}
		if err != nil {
			// The write stands; the next start places what is unlinked.
			s.log.Error("person index: record not placed", "patient", r.ID, "err", err)
		}
	}
}

// place links a new or changed source record.
func (s *Service) place(ctx context.Context, rec mpi.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.placeLocked(ctx, rec)
}

func (s *Service) placeLocked(ctx context.Context, rec mpi.Record) error {
	ctx = internal(ctx)
	if pid, ok := s.idx.PersonOf(rec.ID); ok {
		// A new version of a known record stays with its person; the
		// person's demographics follow it.
		if err := s.idx.Update(rec); err != nil {
			return err
		}
		return s.writePerson(ctx, pid, nil)
	}
	if into, ok := s.idx.PersonOf(rec.ReplacedBy); ok && rec.ReplacedBy != "" {
		// Its own source says it is another of its records (a merge
		// done there): the same person, whatever the demographics say.
		if err := s.idx.Add(rec, into); err != nil {
			return err
		}
		return s.writePerson(ctx, into, map[string]link{rec.ID: {Source: rec.ID, Decision: "source-merge", At: s.now().UTC().Format(time.RFC3339)}})
	}
	best, decision := mpi.Choose(s.idx.Match(rec))
	if decision == mpi.AutoLink {
		if err := s.idx.Add(rec, best.Person); err != nil {
			return err
		}
		return s.writePerson(ctx, best.Person, map[string]link{rec.ID: s.linkOf(rec.ID, best, "auto-link")})
	}
	pid := NewPersonID()
	if err := s.idx.Add(rec, pid); err != nil {
		return err
	}
	if err := s.writePerson(ctx, pid, map[string]link{rec.ID: {Source: rec.ID, Decision: "new-person", At: s.now().UTC().Format(time.RFC3339)}}); err != nil {
		return err
	}
	if decision == mpi.Review {
		return s.queueReview(ctx, rec.ID, pid, best)
	}
	return nil
}

// removed takes a deleted source record out of its person.
func (s *Service) removedLocked(ctx context.Context, id string) error {
	pid, ok := s.idx.PersonOf(id)
	if !ok {
		return nil
	}
	if err := s.idx.Remove(id); err != nil {
		return err
	}
	return s.writePerson(internal(ctx), pid, nil)
}

// NewPersonID returns a new person's id.
func NewPersonID() string { return uuid.NewString() }

func (s *Service) linkOf(source string, c mpi.Candidate, decision string) link {
	var reasons []string
	for _, r := range c.Score.Reasons() {
		reasons = append(reasons, r.String())
	}
	return link{Source: source, Decision: decision, Score: c.Score.Weight, Probability: c.Score.Probability,
		Grade: string(c.Grade), Reasons: strings.Join(reasons, "; "), At: s.now().UTC().Format(time.RFC3339)}
}

// writePerson rewrites person pid from its records in the index: links
// (keeping how each was made, or taking it from fresh), identifiers and
// demographics. A person left with no records and in no merge is deleted.
func (s *Service) writePerson(ctx context.Context, pid string, fresh map[string]link) error {
	return s.writePersonWith(ctx, pid, personWrite{fresh: fresh})
}

// personWrite is what a rewrite of a person adds to what the index says.
type personWrite struct {
	fresh    map[string]link // links just made, by source
	moved    []string        // a merge just moved these records away
	replaces []string        // merges just merged these persons in
}

func (s *Service) writePersonWith(ctx context.Context, pid string, w personWrite) error {
	if s.pend != nil {
		s.pend.add(pid, w)
		return nil
	}
	body, del, err := s.personBody(ctx, pid, w)
	switch {
	case err != nil:
		return err
	case del:
		_, err = s.rec.Delete(ctx, "Patient", pid, "")
	case body != nil:
		_, err = s.rec.Update(ctx, "Patient", pid, body, "")
	}
	return err
}

// personBody composes person pid as the index now has it: its new body,
// or del when it is to be deleted, or neither when there is nothing to do.
func (s *Service) personBody(ctx context.Context, pid string, w personWrite) (body []byte, del bool, err error) {
	fresh := w.fresh
	old := &personDoc{}
	cur, err := s.rec.Read(ctx, "Patient", pid)
	switch {
	case err == nil:
		if old, err = decodePerson(cur.Body); err != nil {
			return nil, false, err
		}
	case fhir.Is(err, fhir.NotFound), fhir.Is(err, fhir.Gone):
		cur = nil
	default:
		return nil, false, err
	}
	survivor, merged := s.idx.Resolve(pid)
	if merged && survivor == pid {
		merged = false
	}
	ids := s.idx.Records(pid)
	if len(ids) == 0 && !merged {
		return nil, cur != nil && !cur.Deleted, nil
	}
	prev := map[string]link{}
	for _, l := range old.Links {
		prev[l.Source] = l
	}
	var srcs []*store.Resource
	var links []link
	for _, id := range ids {
		r, err := s.rec.Read(ctx, "Patient", id)
		if err != nil {
			return nil, false, fmt.Errorf("source %s: %w", id, err)
		}
		srcs = append(srcs, r)
		l, ok := fresh[id]
		if !ok {
			if l, ok = prev[id]; !ok {
				l = link{Source: id, Decision: "merged", At: s.now().UTC().Format(time.RFC3339)}
			}
		}
		links = append(links, l)
	}
	doc := personDoc{ID: pid, Links: links, Replaces: s.replaces(old, w.replaces...)}
	if merged {
		doc.MergedInto = survivor
		doc.Moved = old.Moved
		if w.moved != nil {
			doc.Moved = w.moved
		}
	}
	if cur != nil && !cur.Deleted {
		doc.Former = formerIdentifiers(cur.Body)
	}
	body, err = compose(doc, srcs)
	return body, false, err
}

// pending gathers the person writes of a batch of placements, so that
// they go to the store as one transaction rather than one commit each.
type pending struct {
	writes  map[string]*personWrite
	order   []string
	reviews [][]byte
}

func (p *pending) add(pid string, w personWrite) {
	pw, ok := p.writes[pid]
	if !ok {
		pw = &personWrite{fresh: map[string]link{}}
		p.writes[pid] = pw
		p.order = append(p.order, pid)
	}
	for k, v := range w.fresh {
		pw.fresh[k] = v
	}
	if w.moved != nil {
		pw.moved = w.moved
	}
	pw.replaces = append(pw.replaces, w.replaces...)
}

// placeBatch places several writes' Patients and writes the persons they
// touch, and the reviews they raise, in one transaction.
func (s *Service) placeBatch(ctx context.Context, batches [][]store.Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pend = &pending{writes: map[string]*personWrite{}}
	for _, b := range batches {
		s.placeAll(ctx, b)
	}
	s.flushLocked(ctx)
}

// placeRecords places records read at start, in batches as the placer
// does.
func (s *Service) placeRecords(ctx context.Context, recs []mpi.Record) error {
	for len(recs) > 0 {
		n := min(len(recs), 1000)
		s.mu.Lock()
		s.pend = &pending{writes: map[string]*personWrite{}}
		var err error
		for _, rec := range recs[:n] {
			if err = s.placeLocked(ctx, rec); err != nil {
				break
			}
		}
		s.flushLocked(ctx)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("placing %s: %w", recs[0].ID, err)
		}
		recs = recs[n:]
	}
	return nil
}

// flushLocked writes the gathered person writes and reviews in one
// transaction (s.mu held; s.pend set, and cleared here).
func (s *Service) flushLocked(ctx context.Context) {
	p := s.pend
	s.pend = nil
	ctx = internal(ctx)
	var entries []any
	for _, pid := range p.order {
		body, del, err := s.personBody(ctx, pid, *p.writes[pid])
		switch {
		case err != nil:
			s.log.Error("person index: person not composed", "person", pid, "err", err)
		case del:
			entries = append(entries, map[string]any{"request": map[string]any{"method": "DELETE", "url": "Patient/" + pid}})
		case body != nil:
			entries = append(entries, map[string]any{"resource": json.RawMessage(body), "request": map[string]any{"method": "PUT", "url": "Patient/" + pid}})
		}
	}
	for _, t := range p.reviews {
		entries = append(entries, map[string]any{"resource": json.RawMessage(t), "request": map[string]any{"method": "POST", "url": "Task"}})
	}
	if len(entries) == 0 {
		return
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err == nil {
		_, err = s.rec.Bundle(ctx, b, "")
	}
	if err == nil {
		return
	}
	// One bad write must not hold back the rest: write them one by one.
	s.log.Warn("person index: batch of person writes failed; writing one by one", "err", err)
	for _, pid := range p.order {
		if err := s.writePersonWith(ctx, pid, *p.writes[pid]); err != nil {
			s.log.Error("person index: person not written", "person", pid, "err", err)
		}
	}
	for _, t := range p.reviews {
		if _, err := s.rec.Create(ctx, "Task", t, ""); err != nil {
			s.log.Error("person index: review not written", "err", err)
		}
	}
}

// replaces lists the persons merged into a person and not unmerged: what
// it said before, and added, less those an unmerge has since restored.
func (s *Service) replaces(old *personDoc, added ...string) []string {
	var out []string
	for _, d := range append(slices.Clone(old.Replaces), added...) {
		if d == "" {
			continue
		}
		if sv, ok := s.idx.Resolve(d); ok && sv != d {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
