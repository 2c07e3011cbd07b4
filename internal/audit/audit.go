// Package audit is the shared record's tamper-evident audit log: every
// access to and change of the record, kept as a FHIR R4 AuditEvent so that
// a patient can be told who has looked at their record, a privacy officer
// can review break-glass access, and anyone holding the server's public
// key can check that nothing was changed, removed or reordered since.
//
// Each entry's canonical JSON (RFC 8785) is a leaf of an RFC 6962 Merkle
// tree and a link of a hash chain; at intervals the server signs a
// checkpoint (tree size, root, chain head) with an Ed25519 key kept in a
// directory outside the database. Verify recomputes all of it.
//
// Writing never holds up a request: Append queues the event for one writer
// goroutine, which commits batches; AppendSync waits for the commit, for
// changes to the record whose acknowledgement must imply their audit.
// docs/AUDIT.md has the design and what a crash can lose.
package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Options configure a Log. The zero value of each field has a sensible
// default, except Key.
type Options struct {
	// Key signs checkpoints (LoadKey). Without it the log is read-only:
	// Query, Verify and proofs work, appends fail with ErrReadOnly.
	Key ed25519.PrivateKey
	// PublicKey verifies checkpoints; default Key's public half.
	PublicKey ed25519.PublicKey
	// Origin names the log in its checkpoints; default "sharedcare-audit".
	// Servers sharing one database share one log, so one origin.
	Origin string
	// Node names this server as the AuditEvent's source.observer; default
	// the host name.
	Node string
	// A checkpoint is signed once CheckpointEvery entries (default 1000)
	// or CheckpointInterval (default one minute) have passed since the
	// last, whichever comes first, and on Close.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// BatchMax (default 256) bounds the events in one transaction;
	// BatchWait (default 50 ms) is how long the writer waits for more
	// events when no AppendSync caller is waiting. Since events went to
	// segments a batch's fixed cost (two fsyncs, the log's frames, a few
	// lookups) outweighs its events': 50 ms instead of 10 roughly halved
	// what the log costs reads (docs/PERFORMANCE.md); a crash loses at
	// most that much of the reads' audit.
	BatchMax  int
	BatchWait time.Duration
	// IndexEvery (default 4096) is how many entries the writer lets
	// gather before it moves them into the index of patients, users and
	// organisations in one insert; until then a query reads them
	// from their rows.
	IndexEvery int
	Logger     *slog.Logger

	// bucketShift, for tests, replaces the index's buckets of 1<<14
	// entries with smaller ones.
	bucketShift int
}

// Errors the log returns.
var (
	ErrClosed   = errors.New("audit: log closed")
	ErrReadOnly = errors.New("audit: log opened without a signing key")
)

var hasher = rfc6962.DefaultHasher

var rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}

// Log is the audit log. Its methods are safe for concurrent use.
type Log struct {
	d       *dialect
	read    *sql.DB
	write   *sql.DB
	closeDB func() error
	o       Options
	pub     ed25519.PublicKey
	log     *slog.Logger

	// The queue of requests for the writer. Appending takes qmu and wakes
	// the writer only for the first request of a batch, for a waiter or
	// for a full batch, not once per event.
	qmu    sync.Mutex
	queue  []*request
	queued int        // events in queue
	space  *sync.Cond // on qmu: Append waits when the writer is a whole queue behind
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	// mu makes "not closed, so enqueue" atomic against Close, so nothing
	// enters the queue after the writer's last drain.
	mu     sync.RWMutex
	closed bool

	// seg holds the events of the embedded (SQLite) log; nil on
	// PostgreSQL, which keeps them in their rows.
	seg *segments

	st      state                  // the writer's alone
	inserts map[stmtKey]insertStmt // the writer's alone
}

// state is where the log stands after the last commit this process saw.
type state struct {
	size     uint64
	chain    []byte
	rng      *compact.Range
	ckptSize uint64
	ckptTime time.Time
	// indexed is the last entry in audit_index, as this process last saw
	// it: the writer reads it again before it indexes.
	indexed uint64
}

func (s state) clone() state {
	h := make([][]byte, len(s.rng.Hashes()))
	copy(h, s.rng.Hashes())
	s.rng, _ = rangeFactory.NewRange(0, s.rng.End(), h)
	return s
}

type request struct {
	evs   []Event
	done  chan error // nil: nobody waits
	force bool       // sign a checkpoint whatever the interval
}

func open(ctx context.Context, d *dialect, read, write *sql.DB, seg *segments, closeDB func() error, o Options) (*Log, error) {
	if o.Origin == "" {
		o.Origin = "sharedcare-audit"
	}
	if strings.ContainsAny(o.Origin, " \t\r\n+") {
		closeDB()
		return nil, fmt.Errorf("audit: origin %q has a space, newline or plus", o.Origin)
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.BatchMax <= 0 {
		o.BatchMax = 256
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 50 * time.Millisecond
	}
	if o.IndexEvery <= 0 {
		o.IndexEvery = 4096
	}
	if o.bucketShift <= 0 {
		o.bucketShift = bucketShift
	}
	l := &Log{d: d, read: read, write: write, seg: seg, closeDB: closeDB, o: o, pub: o.PublicKey, log: o.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.pub == nil && o.Key != nil {
		l.pub = o.Key.Public().(ed25519.PublicKey)
	}
	if o.Key == nil {
		l.closed = true
		return l, nil
	}
	st, err := l.resume(ctx)
	if err == nil {
		err = l.prepareInserts(ctx)
	}
	if err != nil {
		closeDB()
		return nil, err
	}
	l.st = st
	l.space = sync.NewCond(&l.qmu)
	l.kick = make(chan struct{}, 1)
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.writer()
	return l, nil
}

// resume starts from the last checkpoint's compact range; the entries
// after it are read by the first commit's catch-up.
func (l *Log) resume(ctx context.Context) (state, error) {
	// The interval to the first checkpoint runs from the first start.
	st := state{chain: make([]byte, sha256.Size), rng: rangeFactory.NewEmptyRange(0), ckptTime: time.Now()}
	var size, created, indexed int64
	if err := l.read.QueryRowContext(ctx, "SELECT upto FROM audit_indexed").Scan(&indexed); err != nil {
		return st, fmt.Errorf("audit: %w", err)
	}
	st.indexed = uint64(indexed)
	var chain, packed []byte
	err := l.read.QueryRowContext(ctx, "SELECT size, chain, compact, created FROM audit_checkpoint ORDER BY size DESC LIMIT 1").Scan(&size, &chain, &packed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("audit: %w", err)
	}
	n := compact.RangeSize(0, uint64(size))
	if len(packed) != n*sha256.Size || len(chain) != sha256.Size {
		return st, fmt.Errorf("audit: checkpoint at size %d is damaged; run sharedcare audit verify", size)
	}
	h := make([][]byte, n)
	for i := range h {
		h[i] = packed[i*sha256.Size : (i+1)*sha256.Size]
	}
	if st.rng, err = rangeFactory.NewRange(0, uint64(size), h); err != nil {
		return st, err
	}
	st.size, st.chain, st.ckptSize, st.ckptTime = uint64(size), chain, uint64(size), time.UnixMicro(created)
	return st, nil
}

// Append queues ev and returns at once. Its entry is committed within
// BatchWait or so; a crash before then loses it (reads use this), so
// changes use AppendSync. Append blocks only when the writer has fallen
// a whole queue behind.
func (l *Log) Append(ev Event) error {
	if err := prepare(&ev); err != nil {
		return err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return l.closedErr()
	}
	l.enqueue(&request{evs: []Event{ev}})
	return nil
}

// enqueue hands r to the writer. A request nobody waits for waits itself
// while the writer is a whole queue (4 × BatchMax events) behind; a waiter
// never does, its caller being bounded already.
func (l *Log) enqueue(r *request) {
	l.qmu.Lock()
	for r.done == nil && l.queued >= 4*l.o.BatchMax {
		l.space.Wait()
	}
	l.queue = append(l.queue, r)
	full := l.queued < l.o.BatchMax && l.queued+len(r.evs) >= l.o.BatchMax
	l.queued += len(r.evs)
	wake := len(l.queue) == 1 || r.done != nil || full
	l.qmu.Unlock()
	if wake {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// pending reports whether anything is queued, and whether the writer
// should commit it without waiting for more: someone waits, or a batch is
// full.
func (l *Log) pending() (any, urgent bool) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if len(l.queue) == 0 {
		return false, false
	}
	if l.queued >= l.o.BatchMax {
		return true, true
	}
	for _, r := range l.queue {
		if r.done != nil {
			return true, true
		}
	}
	return true, false
}

// take removes the next batch from the queue: whole requests, up to
// BatchMax events (at least one request), and reports whether more wait.
func (l *Log) take() (batch []*request, more bool) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	n, i := 0, 0
	for i < len(l.queue) && (i == 0 || n+len(l.queue[i].evs) <= l.o.BatchMax) {
		n += len(l.queue[i].evs)
		i++
	}
	if i == 0 {
		return nil, false
	}
	batch = append([]*request(nil), l.queue[:i]...)
	clear(l.queue[:i])
	l.queue = l.queue[i:]
	if len(l.queue) == 0 {
		l.queue = nil
	}
	l.queued -= n
	l.space.Broadcast()
	return batch, len(l.queue) > 0
}

// AppendSync appends evs and returns once the transaction holding them has
// committed. If ctx ends first the events may still be committed.
func (l *Log) AppendSync(ctx context.Context, evs ...Event) error {
	evs = append([]Event(nil), evs...)
	for i := range evs {
		if err := prepare(&evs[i]); err != nil {
			return err
		}
	}
	return l.wait(ctx, &request{evs: evs, done: make(chan error, 1)})
}

// Flush returns once every event appended before it is committed.
func (l *Log) Flush(ctx context.Context) error {
	return l.wait(ctx, &request{done: make(chan error, 1)})
}

// Checkpoint commits what is queued and signs a checkpoint of the log as
// it then stands (none when the last one already covers every entry).
func (l *Log) Checkpoint(ctx context.Context) error {
	return l.wait(ctx, &request{done: make(chan error, 1), force: true})
}

func (l *Log) wait(ctx context.Context, r *request) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return l.closedErr()
	}
	l.enqueue(r)
	l.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log) closedErr() error {
	if l.o.Key == nil {
		return ErrReadOnly
	}
	return ErrClosed
}

func prepare(ev *Event) error {
	if ev.Interaction == "" {
		return errors.New("audit: event without an interaction")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return nil
}

// Close commits what is queued, signs a final checkpoint and closes the
// database.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		if l.o.Key == nil && l.closeDB != nil {
			c := l.closeDB
			l.closeDB = nil
			return c()
		}
		return nil
	}
	l.closed = true
	close(l.stop)
	l.mu.Unlock()
	<-l.done
	return l.closeDB()
}

// writer is the one goroutine that appends: seq numbers, the chain and the
// tree grow in the order it commits. Woken by the first request of a batch,
// it waits up to BatchWait for more unless someone waits for the commit
// (group commit: whoever arrives meanwhile goes in the next batch) or a
// batch is full, so reads under load cost one fsync per batch.
func (l *Log) writer() {
	defer close(l.done)
	tick := time.NewTicker(max(l.o.CheckpointInterval/4, time.Millisecond))
	defer tick.Stop()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		select {
		case <-l.kick:
		case <-tick.C:
			if l.st.size > l.st.ckptSize && time.Since(l.st.ckptTime) >= l.o.CheckpointInterval {
				l.run(nil, false)
			}
			continue
		case <-l.stop:
			for b, _ := l.take(); b != nil; b, _ = l.take() {
				l.run(b, false)
			}
			l.run([]*request{{force: true}}, true)
			for _, ins := range l.inserts {
				if ins.prepared != nil {
					ins.prepared.Close()
				}
			}
			return
		}
		queued, urgent := l.pending()
		if !queued {
			continue // a kick for requests an earlier round took
		}
		if !urgent {
			// Only a waiter or a full batch kicks while the queue is not
			// empty, so a kick here means commit now.
			wait.Reset(l.o.BatchWait)
			select {
			case <-wait.C:
			case <-l.kick:
				wait.Stop()
			case <-l.stop:
				wait.Stop()
			}
		}
		for {
			b, more := l.take()
			if b == nil {
				break
			}
			l.run(b, false)
			if !more {
				break
			}
		}
	}
}

// commitAttempts and commitBackoff bound how long the writer keeps trying
// a batch while the database is unreachable before giving it up.
const commitAttempts = 5

var commitBackoff = 100 * time.Millisecond

// run commits a batch, retrying a failed transaction, and answers its
// waiters. A batch given up is logged with its size: those events are
// lost, and the callers of AppendSync among them are told.
func (l *Log) run(batch []*request, final bool) {
	force := final
	var evs []*Event
	for _, r := range batch {
		force = force || r.force
		for i := range r.evs {
			evs = append(evs, &r.evs[i])
		}
	}
	var err error
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = l.commit(ctx, evs, force)
		cancel()
		if err == nil || attempt == commitAttempts {
			break
		}
		l.log.Warn("audit commit failed; retrying", "events", len(evs), "attempt", attempt, "err", err)
		time.Sleep(commitBackoff << (attempt - 1))
	}
	if err != nil {
		l.log.Error("audit events lost: the audit database refused them", "events", len(evs), "err", err)
	}
	for _, r := range batch {
		if r.done != nil {
			r.done <- err
		}
	}
}

// row is an event ready to insert.
type row struct {
	ev         *Event
	body, leaf []byte
	chain      []byte
	seq        uint64
	// Where body is in the segments (blen 0: in the row itself).
	bseg, boff, blen int64
}

// encode makes the batch's AuditEvents and leaf hashes on every core:
// canonicalisation costs more CPU than the insert, and the writer is one
// goroutine.
func (l *Log) encode(evs []*Event) ([]row, error) {
	rows := make([]row, len(evs))
	workers := min(runtime.GOMAXPROCS(0)/2, (len(evs)+63)/64) // leave a core to the requests
	workers = max(workers, 1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(evs); i += workers {
				body, err := evs[i].AuditEvent(l.o.Node)
				if err != nil {
					errs[w] = err
					return
				}
				rows[i] = row{ev: evs[i], body: body, leaf: hasher.HashLeaf(body)}
			}
		})
	}
	wg.Wait()
	return rows, errors.Join(errs...)
}

// chainHash is the next link of the hash chain.
func chainHash(prev, leaf []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(leaf)
	return h.Sum(nil)
}

// commit appends evs in one transaction and, when due, signs a
// checkpoint. The writer's state moves only when the commit succeeds.
func (l *Log) commit(ctx context.Context, evs []*Event, force bool) error {
	rows, err := l.encode(evs)
	if err != nil {
		return err
	}
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if l.d.lock != "" {
		if _, err := tx.ExecContext(ctx, l.d.lock); err != nil {
			return err
		}
	}
	st := l.st.clone()
	if err := l.catchUp(ctx, tx, &st); err != nil {
		return err
	}
	// Another process sharing the database may have signed since.
	var size, created int64
	err = tx.QueryRowContext(ctx, "SELECT size, created FROM audit_checkpoint ORDER BY size DESC LIMIT 1").Scan(&size, &created)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && uint64(size) > st.ckptSize {
		st.ckptSize, st.ckptTime = uint64(size), time.UnixMicro(created)
	}
	for i := range rows {
		st.size++
		rows[i].seq = st.size
		st.chain = chainHash(st.chain, rows[i].leaf)
		rows[i].chain = st.chain
		if err := st.rng.Append(rows[i].leaf, nil); err != nil {
			return err
		}
	}
	if l.seg != nil && len(rows) > 0 {
		if err := l.writeSegment(ctx, tx, rows); err != nil {
			return err
		}
	}
	if err := l.insert(ctx, tx, rows); err != nil {
		return err
	}
	if err := l.index(ctx, tx, &st); err != nil {
		return err
	}
	now := time.Now()
	due := st.size > st.ckptSize && (force || st.size-st.ckptSize >= uint64(l.o.CheckpointEvery) || now.Sub(st.ckptTime) >= l.o.CheckpointInterval)
	if due {
		root, err := st.rng.GetRootHash(nil)
		if err != nil {
			return err
		}
		c := Checkpoint{Origin: l.o.Origin, Size: st.size, Root: root, Chain: st.chain, Time: now.UTC()}
		note := c.Sign(l.o.Key)
		packed := make([]byte, 0, len(st.rng.Hashes())*sha256.Size)
		for _, h := range st.rng.Hashes() {
			packed = append(packed, h...)
		}
		if _, err := tx.ExecContext(ctx, l.d.q("INSERT INTO audit_checkpoint (size, root, chain, created, note, compact) VALUES (?, ?, ?, ?, ?, ?)"),
			int64(st.size), root, st.chain, now.UnixMicro(), note, packed); err != nil {
			return err
		}
		st.ckptSize, st.ckptTime = st.size, now
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	l.st = st
	return nil
}

// writeSegment appends the batch's events to the segments, after the last
// event a committed row refers to (read under the write lock, so another
// server sharing the log has not moved it), and notes where each went.
func (l *Log) writeSegment(ctx context.Context, tx *sql.Tx, rows []row) error {
	var seg, off, n int64
	err := tx.QueryRowContext(ctx, "SELECT bseg, boff, blen FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&seg, &off, &n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	end := off
	if n > 0 {
		end += n + 1 // its newline
	}
	next, off := l.seg.tail(seg, end)
	if next != seg && seg > 0 {
		// Moving on to a new segment: cut what an interrupted commit left
		// at the end of the last, as write does within one.
		if err := l.seg.cut(seg, end); err != nil {
			return err
		}
	}
	seg = next
	size := 0
	for _, r := range rows {
		size += len(r.body) + 1
	}
	buf := make([]byte, 0, size)
	for i := range rows {
		rows[i].bseg, rows[i].boff, rows[i].blen = seg, off+int64(len(buf)), int64(len(rows[i].body))
		buf = append(append(buf, rows[i].body...), '\n')
	}
	return l.seg.write(seg, off, buf)
}

// catchUp brings st to the last entry committed: by another process
// sharing the database, by this one in an attempt whose outcome it never
// learnt, or before a restart after the last checkpoint.
func (l *Log) catchUp(ctx context.Context, tx *sql.Tx, st *state) error {
	rs, err := tx.QueryContext(ctx, l.d.q("SELECT seq, leaf, chain FROM audit_log WHERE seq > ? ORDER BY seq"), int64(st.size))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var seq int64
		var leaf, chain []byte
		if err := rs.Scan(&seq, &leaf, &chain); err != nil {
			return err
		}
		if uint64(seq) != st.size+1 {
			return fmt.Errorf("audit: entry %d follows %d; run sharedcare audit verify", seq, st.size)
		}
		if err := st.rng.Append(leaf, nil); err != nil {
			return err
		}
		st.size, st.chain = uint64(seq), chain
	}
	return rs.Err()
}

// insertSizes are the row counts of the prepared INSERT statements a batch
// is split into, largest first: a statement of many rows costs one call
// (on PostgreSQL, one round trip; a full batch is one), and preparing it
// once saves parsing it again for every batch (the parser was a sixth of
// the writer's time).
var insertSizes = []int{256, 64, 16, 4, 1}

// prepareInserts makes the writer's INSERT statements, before any transaction
// holds the one connection SQLite's writer has. On PostgreSQL only the
// text is kept: pgx prepares and caches each statement on each connection
// itself, and database/sql's prepared statements measured a fifth slower.
func (l *Log) prepareInserts(ctx context.Context) error {
	l.inserts = map[stmtKey]insertStmt{}
	for _, t := range insertTables {
		for _, n := range insertSizes {
			row := "(" + strings.TrimSuffix(strings.Repeat("?, ", t.cols), ", ") + ")"
			ins := insertStmt{text: l.d.q("INSERT INTO " + t.table + " VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))}
			if !l.d.numbered {
				var err error
				if ins.prepared, err = l.write.PrepareContext(ctx, ins.text); err != nil {
					return fmt.Errorf("audit: %w", err)
				}
			}
			l.inserts[stmtKey{t.table, n}] = ins
		}
	}
	return nil
}

// insertStmt is one INSERT of the writer: its text, and on SQLite the
// statement prepared from it.
type insertStmt struct {
	text     string
	prepared *sql.Stmt
}

// insertTables are the tables the writer inserts into, with their columns.
var insertTables = []struct {
	table string
	cols  int
}{
	{"audit_log (seq, recorded, agent, org, purpose, btg, body, leaf, chain, bseg, boff, blen, patients)", 13},
}

type stmtKey struct {
	table string
	rows  int
}

// insertRows inserts rows of cols values each (args holds them in order)
// with the prepared statements, largest first.
func (l *Log) insertRows(ctx context.Context, tx *sql.Tx, table string, cols int, args []any) error {
	for len(args) > 0 {
		rows := len(args) / cols
		n := insertSizes[len(insertSizes)-1]
		for _, size := range insertSizes {
			if size <= rows {
				n = size
				break
			}
		}
		ins := l.inserts[stmtKey{table, n}]
		var err error
		if ins.prepared != nil {
			_, err = tx.StmtContext(ctx, ins.prepared).ExecContext(ctx, args[:n*cols]...)
		} else {
			_, err = tx.ExecContext(ctx, ins.text, args[:n*cols]...)
		}
		if err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

// insert writes the batch's entries, each naming its Patients in its row
// for index to index later.
func (l *Log) insert(ctx context.Context, tx *sql.Tx, rows []row) error {
	args := make([]any, 0, insertTables[0].cols*len(rows))
	var names strings.Builder
	for _, r := range rows {
		btg := 0
		if r.ev.BreakGlass() {
			btg = 1
		}
		body := ""
		if r.blen == 0 {
			body = string(r.body)
		}
		names.Reset()
		for _, p := range patientIDs(r.ev.Patients) {
			names.WriteByte(' ')
			names.WriteString(p)
		}
		if names.Len() > 0 {
			names.WriteByte(' ')
		}
		args = append(args, int64(r.seq), r.ev.Time.UnixMicro(), r.ev.Who, r.ev.Org, r.ev.Purpose, btg, body, r.leaf, r.chain, r.bseg, r.boff, r.blen, names.String())
	}
	return l.insertRows(ctx, tx, insertTables[0].table, insertTables[0].cols, args)
}

// bucketShift makes an entry's bucket in audit_index, seq >> 14: the
// migration that made the index uses the same.
const bucketShift = 14

// What an audit_index entry is keyed by.
const (
	kindPatient = 1
	kindAgent   = 2
	kindOrg     = 3
)

// index moves the entries after audit_index's end into it once IndexEvery
// of them have gathered, in one INSERT … SELECT: it dirties the newest
// bucket's pages once, where indexing entry by entry dirtied a page per
// entry and key. It runs in the batch's transaction, so the index's end
// moves with what it covers; another process sharing the log may have
// moved it already, hence the read under the write lock.
func (l *Log) index(ctx context.Context, tx *sql.Tx, st *state) error {
	if st.size-st.indexed < uint64(l.o.IndexEvery) {
		return nil
	}
	var upto int64
	if err := tx.QueryRowContext(ctx, "SELECT upto FROM audit_indexed").Scan(&upto); err != nil {
		return err
	}
	st.indexed = uint64(upto)
	if st.size-st.indexed < uint64(l.o.IndexEvery) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, l.d.q(l.d.index(l.o.bucketShift)), upto, int64(st.size), upto, int64(st.size), upto, int64(st.size)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, l.d.q("UPDATE audit_indexed SET upto = ?"), int64(st.size)); err != nil {
		return err
	}
	st.indexed = st.size
	return nil
}

// patientIDs returns the distinct ids among refs ("123" or "Patient/123").
func patientIDs(refs []string) []string {
	out := make([]string, 0, len(refs))
	seen := make(map[string]bool, len(refs))
	for _, p := range refs {
		p = strings.TrimPrefix(p, "Patient/")
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
