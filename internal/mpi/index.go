package mpi

import (
	"cmp"
	"iter"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Index is the in-memory master patient index: every source record,
// prepared for matching and filed under its blocking keys, grouped into
// persons. It is safe for concurrent use: matching takes a read lock,
// changes a write lock.
//
// It holds no personal data beyond what matching needs, and nothing
// that is not also in the store: a store rebuilds it at start with Load
// (and RestoreMerge for its merge log) and keeps it in step by calling
// Add, Update, Remove, Link, Merge and Unmerge as it commits the same
// changes. Person ids are the caller's (the store's): the index never
// invents one.
type Index struct {
	model *Model

	mu       sync.RWMutex
	recs     []slot // by slot number; a removed record's slot is reused
	free     []uint32
	byID     map[string]uint32
	persons  []person
	pfree    []uint32
	byPerson map[string]uint32
	blocks   postings
	moved    map[uint32][]uint32 // by merged person: the records the merge moved
	in       interner
	famCount map[string]uint32
	givCount map[string]uint32
	live     int

	scratch sync.Pool // *[]uint32 candidate buffers
}

type slot struct {
	id     string
	source string
	person uint32
	live   bool
	f      features
}

type person struct {
	id      string
	records []uint32
	// A person merged into another keeps, until unmerged, the survivor
	// and the records the merge moved.
	mergedInto int32 // person slot + 1; 0 for none
	children   int32 // persons merged into this one and not unmerged
}

// Entry is a record and the person it belongs to, as a store holds them.
type Entry struct {
	Record Record
	Person string
}

// Candidate is a person an incoming record may belong to: the person,
// their record that scored best, and that score with its decision and
// match grade.
type Candidate struct {
	Person   string
	Record   string
	Score    Score
	Decision Decision
	Grade    MatchGrade
}

// Merged describes a merge (or, from Unmerge, its undoing): the records
// that moved from Duplicate to Survivor (or back).
type Merged struct {
	Survivor  string
	Duplicate string
	Records   []string
}

// Stats counts what an index holds: records, persons with records,
// distinct blocking keys and the records filed under them.
type Stats struct {
	Records, Persons, Keys, Postings int
}

// NewIndex returns an empty index matching with model m (DefaultModel
// when nil).
func NewIndex(m *Model) *Index {
	if m == nil {
		m = DefaultModel()
	}
	return &Index{
		model:    m,
		byID:     map[string]uint32{},
		byPerson: map[string]uint32{},
		blocks:   newPostings(),
		moved:    map[uint32][]uint32{},
		in:       interner{},
		famCount: map[string]uint32{},
		givCount: map[string]uint32{},
	}
}

// Model returns the index's model.
func (x *Index) Model() *Model { return x.model }

func errNoRecord(id string) error { return fhir.E(fhir.NotFound, "mpi: no record %q in the index", id) }
func errNoPerson(id string) error { return fhir.E(fhir.NotFound, "mpi: no person %q in the index", id) }

// Add files a new record under a person, creating the person if the id
// is new. The record's id must be new.
func (x *Index) Add(r Record, personID string) error {
	if r.ID == "" || personID == "" {
		return fhir.E(fhir.Invalid, "mpi: a record needs an id and a person")
	}
	f := prepare(&r, nil)
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.add(&r, f, personID)
}

func (x *Index) add(r *Record, f features, personID string) error {
	if _, ok := x.byID[r.ID]; ok {
		return fhir.E(fhir.Conflict, "mpi: record %q is already in the index", r.ID)
	}
	p, err := x.personFor(personID)
	if err != nil {
		return err
	}
	x.intern(&f)
	var s uint32
	if n := len(x.free); n > 0 {
		s = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		s = uint32(len(x.recs))
		x.recs = append(x.recs, slot{})
	}
	x.recs[s] = slot{id: r.ID, source: x.in.get(r.Source), person: p, live: true, f: f}
	x.byID[r.ID] = s
	x.persons[p].records = append(x.persons[p].records, s)
	var kb [16]uint64
	for _, k := range f.keys(kb[:0]) {
		x.blocks.add(k, s)
	}
	x.count(&f, 1)
	x.live++
	return nil
}

// intern makes f's repeated strings share the index's copies.
func (x *Index) intern(f *features) {
	in := x.in
	f.family, f.familyFull, f.familyCode = in.get(f.family), in.get(f.familyFull), in.get(f.familyCode)
	f.given, f.givenCode, f.middle = in.get(f.given), in.get(f.givenCode), in.get(f.middle)
	for i := range f.ids {
		f.ids[i].system = in.get(f.ids[i].system)
	}
	for i := range f.prevFamily {
		f.prevFamily[i] = in.get(f.prevFamily[i])
	}
}

func (x *Index) count(f *features, d int) {
	if f.family != "" {
		x.famCount[f.family] = uint32(int(x.famCount[f.family]) + d)
		if x.famCount[f.family] == 0 {
			delete(x.famCount, f.family)
		}
	}
	if f.given != "" {
		x.givCount[f.given] = uint32(int(x.givCount[f.given]) + d)
		if x.givCount[f.given] == 0 {
			delete(x.givCount, f.given)
		}
	}
}

// share is a name's frequency among the index's records, once there are
// enough records for it to mean something.
func (x *Index) share(fl Field, name string) float64 {
	if x.live < 1000 {
		return 0
	}
	var n uint32
	switch fl {
	case FieldFamily:
		n = x.famCount[name]
	case FieldGiven:
		n = x.givCount[name]
	}
	return float64(max(n, 1)) / float64(x.live)
}

// personFor returns the slot of a live person, creating it if new.
func (x *Index) personFor(id string) (uint32, error) {
	if p, ok := x.byPerson[id]; ok {
		if m := x.persons[p].mergedInto; m != 0 {
			return 0, fhir.E(fhir.Conflict, "mpi: person %q was merged into %q", id, x.persons[m-1].id)
		}
		return p, nil
	}
	var p uint32
	if n := len(x.pfree); n > 0 {
		p = x.pfree[n-1]
		x.pfree = x.pfree[:n-1]
	} else {
		p = uint32(len(x.persons))
		x.persons = append(x.persons, person{})
	}
	x.persons[p] = person{id: id}
	x.byPerson[id] = p
	return p, nil
}

// dropIfEmpty forgets a person with no records who takes part in no
// merge.
func (x *Index) dropIfEmpty(p uint32) {
	ps := &x.persons[p]
	if len(ps.records) > 0 || ps.mergedInto != 0 || ps.children > 0 {
		return // in a merge: kept for Unmerge
	}
	delete(x.byPerson, ps.id)
	*ps = person{}
	x.pfree = append(x.pfree, p)
}

// Update replaces a record's demographics (the source sent a new version
// of its Patient); the record stays with its person.
func (x *Index) Update(r Record) error {
	f := prepare(&r, nil)
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.byID[r.ID]
	if !ok {
		return errNoRecord(r.ID)
	}
	x.unfile(s)
	x.intern(&f)
	sl := &x.recs[s]
	sl.f, sl.source = f, x.in.get(r.Source)
	var kb [16]uint64
	for _, k := range f.keys(kb[:0]) {
		x.blocks.add(k, s)
	}
	x.count(&f, 1)
	return nil
}

// unfile takes slot s out of its blocks and the name counts.
func (x *Index) unfile(s uint32) {
	f := &x.recs[s].f
	var kb [16]uint64
	for _, k := range f.keys(kb[:0]) {
		x.blocks.remove(k, s)
	}
	x.count(f, -1)
}

// Remove takes a record out of the index; a person left with no records
// (and in no merge) is forgotten.
func (x *Index) Remove(recordID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.byID[recordID]
	if !ok {
		return errNoRecord(recordID)
	}
	x.unfile(s)
	p := x.recs[s].person
	x.detach(s, p)
	delete(x.byID, recordID)
	x.recs[s] = slot{}
	x.free = append(x.free, s)
	x.live--
	x.dropIfEmpty(p)
	return nil
}

func (x *Index) detach(s, p uint32) {
	ps := &x.persons[p]
	if i := slices.Index(ps.records, s); i >= 0 {
		ps.records = slices.Delete(ps.records, i, i+1)
	}
}

// Link moves a record to a person (creating the person if new): a
// reviewer's decision, or a correction.
func (x *Index) Link(recordID, personID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.byID[recordID]
	if !ok {
		return errNoRecord(recordID)
	}
	p, err := x.personFor(personID)
	if err != nil {
		return err
	}
	old := x.recs[s].person
	if old == p {
		return nil
	}
	x.detach(s, old)
	x.recs[s].person = p
	x.persons[p].records = append(x.persons[p].records, s)
	x.dropIfEmpty(old)
	return nil
}

// Merge moves every record of person duplicate to person survivor and
// remembers which, so Unmerge can undo it. It returns what moved, for
// the store to persist in its merge log.
func (x *Index) Merge(survivor, duplicate string) (Merged, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if survivor == duplicate {
		return Merged{}, fhir.E(fhir.Invalid, "mpi: cannot merge person %q into itself", survivor)
	}
	sp, ok := x.byPerson[survivor]
	if !ok {
		return Merged{}, errNoPerson(survivor)
	}
	dp, ok := x.byPerson[duplicate]
	if !ok {
		return Merged{}, errNoPerson(duplicate)
	}
	for _, p := range []uint32{sp, dp} {
		if m := x.persons[p].mergedInto; m != 0 {
			return Merged{}, fhir.E(fhir.Conflict, "mpi: person %q was merged into %q", x.persons[p].id, x.persons[m-1].id)
		}
	}
	d := &x.persons[dp]
	out := Merged{Survivor: survivor, Duplicate: duplicate}
	for _, s := range d.records {
		x.recs[s].person = sp
		out.Records = append(out.Records, x.recs[s].id)
	}
	x.persons[sp].records = append(x.persons[sp].records, d.records...)
	x.moved[dp], d.records = d.records, nil
	d.mergedInto = int32(sp) + 1
	x.persons[sp].children++
	return out, nil
}

// RestoreMerge records a merge from the store's log while rebuilding:
// the records are already with the survivor (Load put them there); the
// duplicate is marked merged, so that Unmerge works after a restart.
func (x *Index) RestoreMerge(m Merged) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	sp, ok := x.byPerson[m.Survivor]
	if !ok {
		return errNoPerson(m.Survivor)
	}
	dp, err := x.personFor(m.Duplicate)
	if err != nil {
		return err
	}
	d := &x.persons[dp]
	if len(d.records) > 0 {
		return fhir.E(fhir.Conflict, "mpi: merged person %q still has records", m.Duplicate)
	}
	var moved []uint32
	for _, id := range m.Records {
		if s, ok := x.byID[id]; ok {
			moved = append(moved, s)
		}
	}
	x.moved[dp] = moved
	d.mergedInto = int32(sp) + 1
	x.persons[sp].children++
	return nil
}

// Unmerge undoes a merge of person duplicate: the records the merge moved
// that are still with the survivor (or whoever the survivor was merged
// into since) go back. Records removed or relinked since stay where they
// are.
func (x *Index) Unmerge(duplicate string) (Merged, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	dp, ok := x.byPerson[duplicate]
	if !ok {
		return Merged{}, errNoPerson(duplicate)
	}
	d := &x.persons[dp]
	if d.mergedInto == 0 {
		return Merged{}, fhir.E(fhir.Conflict, "mpi: person %q is not merged", duplicate)
	}
	sp := uint32(d.mergedInto - 1)
	root := x.root(sp)
	out := Merged{Survivor: x.persons[sp].id, Duplicate: duplicate}
	d.mergedInto = 0
	x.persons[sp].children--
	moved := x.moved[dp]
	delete(x.moved, dp)
	for _, s := range moved {
		sl := &x.recs[s]
		if !sl.live || x.root(sl.person) != root || sl.person == dp {
			continue
		}
		x.detach(s, sl.person)
		sl.person = dp
		x.persons[dp].records = append(x.persons[dp].records, s)
		out.Records = append(out.Records, sl.id)
	}
	x.dropIfEmpty(root)
	if root != sp {
		x.dropIfEmpty(sp)
	}
	return out, nil
}

// root follows merges to the live person.
func (x *Index) root(p uint32) uint32 {
	for i := 0; i < len(x.persons) && x.persons[p].mergedInto != 0; i++ {
		p = uint32(x.persons[p].mergedInto - 1)
	}
	return p
}

// PersonOf returns the person a record belongs to.
func (x *Index) PersonOf(recordID string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.byID[recordID]
	if !ok {
		return "", false
	}
	return x.persons[x.recs[s].person].id, true
}

// Resolve follows merges from a person id to the person that now holds
// their records (the id itself if not merged); false if unknown.
func (x *Index) Resolve(personID string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.byPerson[personID]
	if !ok {
		return "", false
	}
	return x.persons[x.root(p)].id, true
}

// Records lists the ids of a person's records, sorted.
func (x *Index) Records(personID string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.byPerson[personID]
	if !ok {
		return nil
	}
	var out []string
	for _, s := range x.persons[p].records {
		out = append(out, x.recs[s].id)
	}
	slices.Sort(out)
	return out
}

// Find returns the ids of the records carrying an identifier, sorted.
// NHS numbers may be given in any written form.
func (x *Index) Find(system, value string) []string {
	var key uint64
	var nhs NHSNumber
	if system == NHSNumberSystem {
		n, err := ParseNHSNumber(value)
		if err != nil {
			return nil
		}
		nhs, key = n, nhsKey(n)
	} else {
		key = identKey(system, value)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	var buf [8]uint32
	for _, s := range x.blocks.appendTo(buf[:0], key, math.MaxInt) {
		f := &x.recs[s].f
		if nhs != 0 && f.nhs == nhs || nhs == 0 && slices.Contains(f.ids, ident{system, value}) {
			out = append(out, x.recs[s].id)
		}
	}
	slices.Sort(out)
	return out
}

// Candidates returns the ids of the records that share a blocking key
// with r (r itself excluded): what Match scores.
func (x *Index) Candidates(r Record) []string {
	f := prepare(&r, nil)
	x.mu.RLock()
	defer x.mu.RUnlock()
	buf := x.candidates(&f, r.ID)
	out := make([]string, len(*buf))
	for i, s := range *buf {
		out[i] = x.recs[s].id
	}
	x.scratch.Put(buf)
	return out
}

// candidates collects the distinct slots under f's query keys. The
// caller holds the read lock and returns the buffer to x.scratch.
func (x *Index) candidates(f *features, self string) *[]uint32 {
	buf, _ := x.scratch.Get().(*[]uint32)
	if buf == nil {
		buf = new([]uint32)
	}
	c := (*buf)[:0]
	var kb [24]uint64
	for _, k := range f.queryKeys(kb[:0]) {
		c = x.blocks.appendTo(c, k, maxBlock)
	}
	slices.Sort(c)
	c = slices.Compact(c)
	if self != "" {
		if s, ok := x.byID[self]; ok {
			if i, found := slices.BinarySearch(c, s); found {
				c = slices.Delete(c, i, i+1)
			}
		}
	}
	*buf = c
	return buf
}

// Match scores r against its candidates and returns, best first, each
// person whose best record scores at least the review threshold (so the
// list holds every AutoLink and Review, and the NoLinks that came close
// only to be stopped by a rule, such as twins, graded certainly-not).
// r itself, if in the index, is left out.
func (x *Index) Match(r Record) []Candidate {
	f := prepare(&r, nil)
	x.mu.RLock()
	defer x.mu.RUnlock()
	buf := x.candidates(&f, r.ID)
	defer x.scratch.Put(buf)
	th := x.model.Thresholds
	var out []Candidate
	var persons []uint32
	for _, s := range *buf {
		sl := &x.recs[s]
		sc := x.model.score(&f, &sl.f, x)
		if sc.Weight < th.Review && sc.Rule != RuleVerifiedNHS {
			continue
		}
		if i := slices.Index(persons, sl.person); i >= 0 {
			if sc.Weight > out[i].Score.Weight || sc.Rule == RuleVerifiedNHS && out[i].Score.Rule != RuleVerifiedNHS {
				out[i].Record, out[i].Score = sl.id, sc
			}
			continue
		}
		persons = append(persons, sl.person)
		out = append(out, Candidate{Person: x.persons[sl.person].id, Record: sl.id, Score: sc})
	}
	for i := range out {
		out[i].Decision = Decide(out[i].Score, th)
		out[i].Grade = Grade(out[i].Score, th)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(b.Decision, a.Decision); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Score.Weight, a.Score.Weight); c != 0 {
			return c
		}
		return cmp.Compare(a.Person, b.Person)
	})
	return out
}

// Load adds records in bulk, as a store does at start: records are
// prepared on every core, then filed. It stops at the first error.
func (x *Index) Load(entries iter.Seq2[Entry, error]) error {
	const batch = 4096
	type item struct {
		e Entry
		f features
	}
	items := make([]item, 0, batch)
	flush := func() error {
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(items); i += workers {
					items[i].f = prepare(&items[i].e.Record, nil)
				}
			}(w)
		}
		wg.Wait()
		x.mu.Lock()
		defer x.mu.Unlock()
		for i := range items {
			it := &items[i]
			if it.e.Record.ID == "" || it.e.Person == "" {
				return fhir.E(fhir.Invalid, "mpi: a record needs an id and a person")
			}
			if err := x.add(&it.e.Record, it.f, it.e.Person); err != nil {
				return err
			}
		}
		items = items[:0]
		return nil
	}
	for e, err := range entries {
		if err != nil {
			return err
		}
		items = append(items, item{e: e})
		if len(items) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Stats counts the index's records, persons, blocking keys and postings.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := Stats{Records: x.live}
	st.Keys, st.Postings = x.blocks.count()
	for i := range x.persons {
		if len(x.persons[i].records) > 0 {
			st.Persons++
		}
	}
	return st
}

// Choose is what to do with an incoming record given Match's candidates:
// the best candidate and its decision, except that two persons both at
// AutoLink make it a Review (the index itself may hold a duplicate). No
// candidates is NoLink: a new person.
func Choose(cands []Candidate) (Candidate, Decision) {
	if len(cands) == 0 {
		return Candidate{}, NoLink
	}
	best := cands[0]
	if best.Decision == AutoLink && len(cands) > 1 && cands[1].Decision == AutoLink {
		return best, Review
	}
	return best, best.Decision
}
