package record

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Online reindexing.
//
// The store records, per resource type, the generation (index.Generation)
// its index rows are complete at. When this server's generation for a type
// differs (an upgrade that changed extraction, another --search-index, a
// custom SearchParameter: searchparams.go), the type's rows are rebuilt while the
// server runs: a rebuilder walks the type's current resources in id order,
// batch by batch, recomputes each one's rows from its stored body and
// replaces them in place (store.Reindexer), recording its cursor with each
// batch so a restart resumes where it stopped. Writes go on meanwhile and
// always index with the current generation, so once the walk reaches the
// end every resource's rows are current and the type is recorded complete.
// A resource written after the walk read it is skipped by the store: that
// write already indexed it.
//
// Until a type is complete, searches that need its new rows must not run
// on it, or they would silently miss what is not rebuilt yet: CheckIndexed
// says so, cheaply (the state is cached in memory), and the search planner
// calls it before running such a search. Parameters whose definition the
// rebuild does not change (all but the new one, when a custom parameter is
// added) answer meanwhile from the rows of the generation the type was
// complete at (index.Definitions.Serves).
//
// Several processes may share a database (replicas, or the reindex
// command next to a server). The state carries an owner and a lease
// renewed with each batch; each change names the state it replaces
// (IndexState.Seq), so one process at a time rebuilds a type, and another
// takes over if the owner stops for longer than the lease.

// Index states, as ReindexStatus reports them.
const (
	IndexCurrent    = "current"    // complete at this server's generation
	IndexRebuilding = "rebuilding" // a rebuild toward it is under way
	IndexPending    = "pending"    // to be rebuilt; no rebuilder is at work on it
)

// ReindexOptions tune a rebuild. The zero value is the server's default.
type ReindexOptions struct {
	// Batch is how many resources one write transaction rebuilds
	// (default 100).
	Batch int
	// Share is the fraction of the time a rebuild may keep the store busy,
	// in (0, 1]: after a batch that took d it pauses d×(1−Share)/Share, so
	// live writes, which queue behind a batch, keep the rest (default 0.5).
	Share float64
	// Lease is how long a rebuilder's claim on a type outlives its last
	// batch before another process may take the type over (default 30s).
	Lease time.Duration
	// Progress, if set, is called after each batch and when a type is
	// complete, and while waiting on a type another process rebuilds.
	Progress func(TypeIndexStatus)
	// Log receives problems met in the background (default slog.Default()).
	Log *slog.Logger
}

func (o ReindexOptions) withDefaults() ReindexOptions {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Share <= 0 || o.Share > 1 {
		o.Share = 0.5
	}
	if o.Lease <= 0 {
		o.Lease = defaultLease
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

const (
	defaultLease = 30 * time.Second
	// refreshEvery bounds how stale the cached state may be while a type
	// is incomplete, so progress made by another process shows.
	refreshEvery = time.Second
)

// TypeIndexStatus is how far the search index of one resource type is
// built.
type TypeIndexStatus struct {
	Type  string
	State string // IndexCurrent, IndexRebuilding or IndexPending
	// Generation is what the type's rows are complete at (while a rebuild
	// runs, were complete at before it); "" when unknown.
	Generation string
	// Want is the generation this server writes and searches need.
	Want string
	// Done and Total count the resources of the rebuild under way or
	// stopped, or of the last one when the type is current. Total is 0
	// for a rebuild not yet begun: a type is counted when it starts.
	Done, Total int64
	// Owner names the process rebuilding ("" when none).
	Owner            string
	Started, Updated time.Time
}

// Percent is how much of the rebuild is done: 100 only once the type is
// current, never more than 99 before (resources written meanwhile can
// make Done pass Total).
func (t TypeIndexStatus) Percent() float64 {
	if t.State == IndexCurrent {
		return 100
	}
	if t.Total <= 0 {
		return 0
	}
	return math.Min(99, math.Floor(1000*float64(t.Done)/float64(t.Total))/10)
}

// IndexStatus is how far the search index is built, type by type.
type IndexStatus struct {
	Scope      string // "conditional" or "all"
	Generation string // index.Generation of the scope
	Complete   bool   // every type is current
	// Types lists the types that are not current or have resources; the
	// others are current and empty.
	Types []TypeIndexStatus
}

// indexTracker caches the index state for CheckIndexed, which runs on
// every search. Its zero value is ready; it lives in Service.
type indexTracker struct {
	mu    sync.Mutex // one load or refresh at a time; publish
	view  atomic.Pointer[indexView]
	lease atomic.Int64 // the lease in use, to tell rebuilding from pending
	owner string       // set under mu
}

// indexView is the state as last read or written, never modified once
// published.
type indexView struct {
	scope    index.Scope
	defs     *index.Definitions
	gens     map[string]string // defs.Generations(scope)
	states   map[string]store.IndexState
	present  map[string]bool // types with resources when first loaded
	complete bool
	at       time.Time // when read from the store
}

func newView(scope index.Scope, defs *index.Definitions, states map[string]store.IndexState, present map[string]bool, at time.Time) *indexView {
	v := &indexView{scope: scope, defs: defs, gens: defs.Generations(scope), states: states, present: present, at: at, complete: true}
	for t := range v.gens {
		if !v.current(t) {
			v.complete = false
			break
		}
	}
	return v
}

// current reports whether typ's rows are complete at this generation. A
// type that had no resources is, whatever its state says: there is
// nothing to miss, and this process writes at this generation.
func (v *indexView) current(typ string) bool {
	want, known := v.gens[typ]
	if !known {
		return true // not a type this server stores
	}
	if !v.present[typ] {
		return true
	}
	st, ok := v.states[typ]
	return ok && isCurrent(st, want)
}

// fresh reports whether v was made for s's scope and definitions.
func (v *indexView) fresh(s *Service) bool {
	return v.scope == s.IndexScope && v.defs == s.Definitions()
}

func isCurrent(st store.IndexState, want string) bool {
	return st.Target == "" && st.Generation == want
}

// leased reports whether another process than me holds a live claim on st.
func leased(st store.IndexState, me string, lease time.Duration, now time.Time) bool {
	return st.Owner != "" && st.Owner != me && now.Sub(st.Updated) < lease
}

func (v *indexView) status(typ string, lease time.Duration, now time.Time) TypeIndexStatus {
	st := v.states[typ]
	ts := TypeIndexStatus{
		Type: typ, Generation: st.Generation, Want: v.gens[typ], Done: st.Done, Total: st.Total,
		Owner: st.Owner, Started: st.Started, Updated: st.Updated,
	}
	switch {
	case v.current(typ):
		ts.State = IndexCurrent
		ts.Generation = ts.Want // even if empty and recorded at another
	case st.Target == ts.Want && st.Owner != "" && now.Sub(st.Updated) < lease:
		ts.State = IndexRebuilding
	default:
		ts.State = IndexPending
		if st.Target != ts.Want {
			// A rebuild toward another generation does not count.
			ts.Done, ts.Total = 0, 0
		}
	}
	return ts
}

// CheckIndexed returns nil if the search index of every type in types is
// complete at the current generation, and otherwise an Invalid error
// saying which is being rebuilt and how far it is. The search planner
// calls it before a search that needs rows only a complete index has;
// _id, identifier and compartment searches do not, as every generation
// indexes those. It is cheap: the state is cached in memory.
func (s *Service) CheckIndexed(ctx context.Context, types ...string) error {
	n := needs{}
	for _, t := range types {
		n.add([]string{t}, "*")
	}
	return s.checkNeeds(ctx, n)
}

// checkNeeds is CheckIndexed for the parameters need names: a type being
// rebuilt still answers the parameters its rebuild does not change (one
// made for a new custom parameter leaves the others alone).
func (s *Service) checkNeeds(ctx context.Context, need needs) error {
	if v := s.ix.view.Load(); v != nil && v.complete && v.fresh(s) {
		return nil
	}
	if _, ok := s.Store.(store.Reindexer); !ok {
		return nil // the store keeps no generations: nothing to wait for
	}
	v, err := s.indexView(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	var msgs []string
	for _, t := range slices.Sorted(mapKeys(need)) {
		if v.current(t) {
			continue
		}
		if codes := need[t]; !codes["*"] {
			if st := v.states[t]; v.defs.Serves(v.scope, t, st.Generation, slices.Collect(mapKeys(codes))) {
				continue
			}
		}
		ts := v.status(t, s.leaseInUse(), now)
		if ts.State == IndexRebuilding {
			msgs = append(msgs, fmt.Sprintf("%s: the search index is being rebuilt (%d%% done)", t, int(ts.Percent())))
		} else {
			msgs = append(msgs, fmt.Sprintf("%s: the search index is out of date and waiting to be rebuilt (%d%% done)", t, int(ts.Percent())))
		}
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return fhir.E(fhir.Invalid, "%s; searches on it are refused until it completes, except _id, identifier and compartment searches", msgs[0])
	}
	return fhir.E(fhir.Invalid, "%s; searches on them are refused until they complete, except _id, identifier and compartment searches", strings.Join(msgs, "; "))
}

// ReindexStatus reports how far the search index of each type is built.
func (s *Service) ReindexStatus(ctx context.Context) (*IndexStatus, error) {
	out := &IndexStatus{Generation: s.Definitions().Generation(s.IndexScope), Scope: "conditional"}
	if s.IndexScope == index.All {
		out.Scope = "all"
	}
	if _, ok := s.Store.(store.Reindexer); !ok {
		out.Complete = true
		return out, nil
	}
	v, err := s.indexView(ctx)
	if err != nil {
		return nil, err
	}
	out.Complete = v.complete
	now := time.Now()
	for _, t := range slices.Sorted(mapKeys(v.gens)) {
		ts := v.status(t, s.leaseInUse(), now)
		if ts.State != IndexCurrent || ts.Total > 0 || v.present[t] {
			out.Types = append(out.Types, ts)
		}
	}
	return out, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *Service) leaseInUse() time.Duration {
	if d := time.Duration(s.ix.lease.Load()); d > 0 {
		return d
	}
	return defaultLease
}

// indexView returns the cached state, read from the store the first time
// and again, at most every refreshEvery, while a type is incomplete.
func (s *Service) indexView(ctx context.Context) (*indexView, error) {
	v := s.ix.view.Load()
	if v != nil && v.fresh(s) && (v.complete || time.Since(v.at) < refreshEvery) {
		return v, nil
	}
	if v != nil && v.fresh(s) {
		// Stale: one caller refreshes, the others go on with what is
		// cached rather than queue behind it.
		if !s.ix.mu.TryLock() {
			return v, nil
		}
	} else {
		s.ix.mu.Lock()
	}
	defer s.ix.mu.Unlock()
	return s.loadView(ctx, false)
}

// loadView reads the state from the store and publishes it. Counts are read
// on the first load (or with fresh); a refresh keeps them. The caller holds
// s.ix.mu.
func (s *Service) loadView(ctx context.Context, fresh bool) (*indexView, error) {
	rx := s.Store.(store.Reindexer)
	sts, err := rx.IndexStates(ctx)
	if err != nil {
		return nil, err
	}
	old := s.ix.view.Load()
	var present map[string]bool
	if old != nil && old.fresh(s) && !fresh {
		// A type with no resources when the view was first read counts
		// as current (this process writes at its generation); new
		// definitions change the generation, so they read afresh.
		present = old.present
	} else {
		types, err := rx.Types(ctx)
		if err != nil {
			return nil, err
		}
		present = make(map[string]bool, len(types))
		for _, t := range types {
			present[t] = true
		}
	}
	states := make(map[string]store.IndexState, len(sts))
	for _, st := range sts {
		states[st.Type] = st
	}
	if old != nil {
		// What this process published since the read began is newer.
		for t, st := range old.states {
			if cur, ok := states[t]; ok && st.Seq > cur.Seq {
				states[t] = st
			}
		}
	}
	v := newView(s.IndexScope, s.Definitions(), states, present, time.Now())
	s.ix.view.Store(v)
	return v, nil
}

// publish caches states this process has just recorded.
func (s *Service) publish(sts ...store.IndexState) {
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	old := s.ix.view.Load()
	if old == nil || !old.fresh(s) {
		return // the next read loads everything
	}
	states := make(map[string]store.IndexState, len(old.states)+len(sts))
	for t, st := range old.states {
		states[t] = st
	}
	for _, st := range sts {
		if cur, ok := states[st.Type]; !ok || st.Seq > cur.Seq {
			states[st.Type] = st
		}
	}
	s.ix.view.Store(newView(s.IndexScope, old.defs, states, old.present, old.at))
}

// me names this rebuilder in the lease: host, process and Service.
func (s *Service) me() string {
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	if s.ix.owner == "" {
		host, _ := os.Hostname()
		s.ix.owner = fmt.Sprintf("%s/%d/%04x", host, os.Getpid(), rand.Uint32()&0xffff)
	}
	return s.ix.owner
}

// plan reads the state and the types present afresh and records the current
// generation for each type that has no resources, as there is nothing to
// rebuild there: on a new database that is every type. Types that need a
// rebuild are left as they are until a rebuilder claims them, so that a
// look at the state (reindex --status) never starts anything.
func (s *Service) plan(ctx context.Context, rx store.Reindexer, o ReindexOptions) (*indexView, error) {
	me := s.me()
	for attempt := 0; ; attempt++ {
		s.ix.mu.Lock()
		v, err := s.loadView(ctx, true)
		s.ix.mu.Unlock()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		var rec []store.IndexState
		for _, t := range slices.Sorted(mapKeys(v.gens)) {
			want := v.gens[t]
			st, ok := v.states[t]
			if ok && isCurrent(st, want) || v.present[t] || leased(st, me, o.Lease, now) {
				continue
			}
			rec = append(rec, store.IndexState{Type: t, Generation: want, Updated: now, Seq: st.Seq})
		}
		if len(rec) == 0 {
			return v, nil
		}
		out, err := rx.SwapIndexStates(ctx, rec)
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue // another process recorded some first: look again
		}
		if err != nil {
			return nil, err
		}
		s.publish(out...)
		return s.ix.view.Load(), nil
	}
}

// Reindex rebuilds, in the foreground, the search index of every type
// that is not current, and returns once all are (or ctx ends). A type
// another process is rebuilding is waited for, and taken over if that
// process stops.
func (s *Service) Reindex(ctx context.Context, o ReindexOptions) error {
	rx, ok := s.Store.(store.Reindexer)
	if !ok {
		return fhir.E(fhir.NotSupported, "the %s store cannot rebuild its index", s.Store.Dialect())
	}
	o = o.withDefaults()
	s.ix.lease.Store(int64(o.Lease))
	if err := s.LoadSearchParameters(ctx); err != nil {
		return err
	}
	return s.rebuildAll(ctx, rx, o)
}

// StartReindex records the generation of the types that have no resources
// and returns; the other types that are not current are rebuilt in the
// background until all are or ctx ends, retrying after failures. wait
// returns once the background work has stopped: call it after ending ctx
// and before closing the store.
func (s *Service) StartReindex(ctx context.Context, o ReindexOptions) (wait func(), err error) {
	rx, ok := s.Store.(store.Reindexer)
	if !ok {
		return func() {}, nil
	}
	o = o.withDefaults()
	s.ix.lease.Store(int64(o.Lease))
	if err := s.LoadSearchParameters(ctx); err != nil {
		return nil, err
	}
	v, err := s.plan(ctx, rx, o)
	if err != nil {
		return nil, err
	}
	s.bg.mu.Lock()
	s.bg.ctx, s.bg.rx, s.bg.o, s.bg.started = ctx, rx, o, true
	s.bg.mu.Unlock()
	if !v.complete {
		s.kickReindex()
	}
	return s.bg.wg.Wait, nil
}

// background is the reindex StartReindex runs, which a change of the
// search parameters starts again.
type background struct {
	mu      sync.Mutex
	started bool
	running bool // a loop is at work
	again   bool // the definitions changed while it was: it goes round once more
	ctx     context.Context
	rx      store.Reindexer
	o       ReindexOptions
	wg      sync.WaitGroup
}

// kickReindex makes the background reindex run until every type is
// current, if StartReindex has started it.
func (s *Service) kickReindex() {
	b := &s.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started || b.ctx.Err() != nil {
		return
	}
	if b.running {
		b.again = true
		return
	}
	b.running = true
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			s.rebuildUntilDone(b.ctx, b.rx, b.o)
			b.mu.Lock()
			if !b.again || b.ctx.Err() != nil {
				b.running = false
				b.mu.Unlock()
				return
			}
			b.again = false
			b.mu.Unlock()
		}
	}()
}

// rebuildUntilDone runs rebuildAll until it succeeds or ctx ends,
// retrying after failures.
func (s *Service) rebuildUntilDone(ctx context.Context, rx store.Reindexer, o ReindexOptions) {
	backoff := time.Second
	for {
		err := s.rebuildAll(ctx, rx, o)
		if err == nil || ctx.Err() != nil {
			return
		}
		o.Log.Error("search index rebuild failed; trying again", "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// paramsWritten reloads the search parameters after this process wrote a
// SearchParameter.
func (s *Service) paramsWritten(ctx context.Context) error {
	if err := s.LoadSearchParameters(context.WithoutCancel(ctx)); err != nil {
		// The write is committed: report it, and let the next start
		// load the definitions, rather than fail the client.
		s.log().Error("loading search parameters after a SearchParameter was written", "err", err)
	}
	return nil
}

// rebuildAll rebuilds types until every one is current, smallest first so
// that most types become searchable soonest.
func (s *Service) rebuildAll(ctx context.Context, rx store.Reindexer, o ReindexOptions) error {
	sizes := map[string]int64{} // counted once: it reads every row of the type
	for {
		v, err := s.plan(ctx, rx, o)
		if err != nil {
			return err
		}
		if v.complete {
			return nil
		}
		var todo []string
		for t := range v.gens {
			if v.current(t) {
				continue
			}
			if _, ok := sizes[t]; !ok {
				if sizes[t], err = s.Store.Count(ctx, t); err != nil {
					return err
				}
			}
			todo = append(todo, t)
		}
		slices.SortFunc(todo, func(a, b string) int {
			if c := cmp.Compare(sizes[a], sizes[b]); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		waiting := false
		for _, t := range todo {
			if s.Definitions() != v.defs {
				break // plan again for the new definitions
			}
			mine, err := s.rebuildType(ctx, rx, v.defs, t, v.states[t], v.gens[t], sizes[t], o)
			if err != nil {
				return err
			}
			if !mine {
				waiting = true
				if o.Progress != nil {
					if cur := s.ix.view.Load(); cur != nil {
						o.Progress(cur.status(t, o.Lease, time.Now()))
					}
				}
			}
		}
		if waiting && !sleep(ctx, o.Lease/4) {
			return ctx.Err()
		}
	}
}

// rebuildType claims typ (whose state was st, and which had n resources)
// and rebuilds it to want. It reports false if another process holds the
// type or took it over.
func (s *Service) rebuildType(ctx context.Context, rx store.Reindexer, defs *index.Definitions, typ string, st store.IndexState, want string, n int64, o ReindexOptions) (bool, error) {
	if isCurrent(st, want) {
		return true, nil
	}
	me := s.me()
	now := time.Now()
	if leased(st, me, o.Lease, now) {
		return false, nil
	}
	claim := st
	claim.Type, claim.Owner, claim.Updated = typ, me, now
	if st.Target != want {
		// The generation the rows were complete at stays recorded while
		// they are rebuilt: the parameters the rebuild leaves unchanged
		// answer from them meanwhile (checkNeeds). After a rebuild toward
		// another target stopped half way it is not known.
		if st.Target != "" {
			claim.Generation = ""
		}
		claim.Target, claim.Cursor, claim.Done, claim.Started = want, "", 0, now
		claim.Total = n
	} else {
		claim.Total = max(n, claim.Done) // resuming
	}
	sts, err := rx.SwapIndexStates(ctx, []store.IndexState{claim})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st = sts[0]
	s.progress(o, st)
	for {
		if ctx.Err() != nil {
			s.release(st)
			return false, ctx.Err()
		}
		if s.Definitions() != defs {
			// New definitions want another target: rebuildAll plans
			// again, and the next claim starts over toward it.
			s.release(st)
			return true, nil
		}
		start := time.Now()
		rs, err := rx.Current(ctx, typ, st.Cursor, o.Batch)
		if err != nil {
			s.release(st)
			return false, err
		}
		if len(rs) == 0 {
			break
		}
		next := st
		next.Cursor, next.Done, next.Updated = rs[len(rs)-1].ID, st.Done+int64(len(rs)), time.Now()
		_, recorded, err := rx.Reindex(ctx, s.rebuiltRows(defs, rs, o.Log), next)
		if errors.Is(err, store.ErrConflict) {
			return false, nil // taken over
		}
		if err != nil {
			s.release(st)
			return false, err
		}
		st = recorded
		s.progress(o, st)
		if len(rs) < o.Batch {
			break
		}
		if o.Share < 1 && !sleep(ctx, time.Duration(float64(time.Since(start))*(1-o.Share)/o.Share)) {
			s.release(st)
			return false, ctx.Err()
		}
	}
	final := st
	final.Generation, final.Target, final.Cursor, final.Owner = want, "", "", ""
	final.Total, final.Updated = final.Done, time.Now()
	sts, err = rx.SwapIndexStates(ctx, []store.IndexState{final})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		s.release(st)
		return false, err
	}
	s.progress(o, sts[0])
	return true, nil
}

// rebuiltRows computes the rows of stored resources as a write would.
// A body that no longer decodes keeps its rows and is logged: one bad
// resource must not hold a whole type's search back for ever.
func (s *Service) rebuiltRows(defs *index.Definitions, rs []store.Resource, log *slog.Logger) []store.Write {
	ws := make([]store.Write, 0, len(rs))
	for _, r := range rs {
		obj, err := fhir.DecodeResource(r.Body)
		if err != nil {
			log.Warn("search index rebuild: a stored body does not decode; its rows are kept", "type", r.Type, "id", r.ID, "version", r.Version, "err", err)
			continue
		}
		ix, pk := defs.ComputeStored(obj, r.ID, s.IndexScope)
		ws = append(ws, store.Write{Resource: store.Resource{Type: r.Type, ID: r.ID, Version: r.Version, PatientKey: pk}, Index: ix})
	}
	return ws
}

// release gives up the claim on a type, keeping its cursor, so a restart
// (or another process) resumes at once instead of after the lease.
func (s *Service) release(st store.IndexState) {
	rx := s.Store.(store.Reindexer)
	st.Owner = ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if sts, err := rx.SwapIndexStates(ctx, []store.IndexState{st}); err == nil {
		s.publish(sts...)
	}
}

func (s *Service) progress(o ReindexOptions, st store.IndexState) {
	s.publish(st)
	if o.Progress != nil {
		if v := s.ix.view.Load(); v != nil {
			o.Progress(v.status(st.Type, o.Lease, time.Now()))
		}
	}
}

// sleep waits for d unless ctx ends first, and reports whether it did.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
