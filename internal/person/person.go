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
}

// New returns the service for rec, matching with model (mpi.DefaultModel
// when nil). Call Start before writes arrive.
func New(rec *record.Service, model *mpi.Model, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{rec: rec, idx: mpi.NewIndex(model), log: log, now: time.Now}
}

// Index is the matching index (read-only use: Match, Find, PersonOf).
func (s *Service) Index() *mpi.Index { return s.idx }

// internal is the context of the service's own writes: attributed to no
// organisation (not to the feed whose write set them off).
func internal(ctx context.Context) context.Context {
	return record.WithSource(ctx, record.Source{})
}

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
	s.rec.OnCommit(s.committed)
	s.rec.SetPatientExpander(s.Expand)
	s.rec.SetConditionalFilter("Patient", "_tag:not", TagSystem+"|"+TagPerson)
	for _, rec := range unplaced {
		if err := s.place(ctx, rec); err != nil {
			return fmt.Errorf("person index: placing %s: %w", rec.ID, err)
		}
	}
	if len(unplaced) > 0 {
		s.log.Info("person index: placed records written before a restart", "records", len(unplaced))
	}
	st := s.idx.Stats()
	s.log.Info("person index ready", "records", st.Records, "persons", st.Persons)
	return nil
}

// committed places every source Patient a write stored.
func (s *Service) committed(ctx context.Context, written []store.Resource) {
	for _, r := range written {
		if r.Type != "Patient" {
			continue
		}
		var err error
		switch {
		case r.Deleted:
			err = s.removed(ctx, r.ID)
		case IsPerson(r.Body):
			continue
		default:
			var rec mpi.Record
			if rec, err = mpi.FromPatient(r.Body); err == nil {
				err = s.place(ctx, rec)
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
	ctx = internal(ctx)
	if pid, ok := s.idx.PersonOf(rec.ID); ok {
		// A new version of a known record stays with its person; the
		// person's demographics follow it.
		if err := s.idx.Update(rec); err != nil {
			return err
		}
		return s.writePerson(ctx, pid, nil)
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
func (s *Service) removed(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	replaces string          // a merge just merged this person in
}

func (s *Service) writePersonWith(ctx context.Context, pid string, w personWrite) error {
	fresh := w.fresh
	old := &personDoc{}
	cur, err := s.rec.Read(ctx, "Patient", pid)
	switch {
	case err == nil:
		if old, err = decodePerson(cur.Body); err != nil {
			return err
		}
	case fhir.Is(err, fhir.NotFound), fhir.Is(err, fhir.Gone):
	default:
		return err
	}
	survivor, merged := s.idx.Resolve(pid)
	if merged && survivor == pid {
		merged = false
	}
	ids := s.idx.Records(pid)
	if len(ids) == 0 && !merged {
		if cur != nil && !cur.Deleted {
			_, err := s.rec.Delete(ctx, "Patient", pid, "")
			return err
		}
		return nil
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
			return fmt.Errorf("source %s: %w", id, err)
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
	doc := personDoc{ID: pid, Links: links, Replaces: s.replaces(old, w.replaces)}
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
	body, err := compose(doc, srcs)
	if err != nil {
		return err
	}
	_, err = s.rec.Update(ctx, "Patient", pid, body, "")
	return err
}

// replaces lists the persons merged into a person and not unmerged: what
// it said before, and added, less those an unmerge has since restored.
func (s *Service) replaces(old *personDoc, added string) []string {
	var out []string
	for _, d := range append(slices.Clone(old.Replaces), added) {
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
