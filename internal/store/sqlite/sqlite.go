// Package sqlite is the embedded store: one SQLite file in WAL mode under
// the data directory, zero configuration. Reads run on a pool of
// connections; all writes go through one writer goroutine that gathers the
// write transactions waiting at that moment into one SQLite transaction
// (each in its own savepoint) and one fsync: group commit. No caller is
// answered before the commit that holds its write is durable.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "sharedcare.db"

// maxBatch bounds how many waiting transactions one commit gathers, so one
// commit's latency stays bounded.
const maxBatch = 512

var dialect = sqlbuild.Dialect{Time: func(t time.Time) any { return t.UnixMicro() }, NoIndex: "+"}

// Store is the SQLite store.
type Store struct {
	read  *sql.DB
	write *sql.DB
	wconn *sql.Conn
	ckpt  *sql.DB // the checkpointer's connection
	// committed wakes the checkpointer (buffered, never blocks the
	// writer); ckptDone closes when it has stopped.
	committed chan struct{}
	ckptDone  chan struct{}
	// restartLog asks the writer to start the log over (see walLimit).
	restartLog atomic.Bool
	walLimit   atomic.Int64 // frames; defaultWALLimit unless a test lowers it
	restarts   atomic.Int64 // times the log was started over
	reqs       chan *request
	stop       chan struct{}
	done       chan struct{}
	stmts      writeStmts
	rstmts     readStmts
	// rcache and wcache hold the generated SQL (searches, conditional
	// lookups) prepared on the read pool and on the writer's connection.
	rcache, wcache *stmtCache

	// mu makes "not closed, so submit" atomic against Close: Update holds
	// it shared while sending, Close exclusively while closing stop, so no
	// request can enter reqs after the writer's final drain.
	mu     sync.RWMutex
	closed bool
}

type request struct {
	fn   func(store.Tx) error
	done chan error
}

type writeStmts struct {
	readCurrent, insertVersion, insertCurrent, updateCurrent *sql.Stmt
	// deleteIndex[i] deletes a resource's rows of sqlbuild.IndexTables[i].
	deleteIndex []*sql.Stmt
	// insertIndex caches the multi-row INSERTs, by table and row count.
	// Only the writer goroutine uses it.
	insertIndex map[insertKey]*sql.Stmt
	args        []any // the writer's argument buffer
}

type insertKey struct{ table, rows int }

// maxInsertRows is the most index rows one INSERT statement writes: a
// resource's rows of one table go in chunks of this many, plus one
// statement for the rest, each prepared once and cached by row count.
const maxInsertRows = 50

type readStmts struct {
	read, vread *sql.Stmt
}

// Open opens (creating if need be) the database in dir and migrates it.
func Open(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	return OpenFile(ctx, path)
}

// OpenFile opens the database at path (":memory:" is not supported: the
// reader and writer pools must share one file).
func OpenFile(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	// wal_autocheckpoint(0): the checkpointer copies the log into the
	// database beside the writer instead of the writer stopping to do it.
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(0)", "cache_size(-262144)", "temp_store(MEMORY)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	if err := pinStats(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	rq := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "query_only(1)", "cache_size(-32768)", "temp_store(MEMORY)"} {
		rq.Add("_pragma", p)
	}
	read, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, err
	}
	n := runtime.GOMAXPROCS(0) * 2
	if n < 4 {
		n = 4
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	wconn, err := write.Conn(ctx)
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)", "synchronous(FULL)"}}.Encode())
	if err != nil {
		wconn.Close()
		read.Close()
		write.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	s := &Store{read: read, write: write, wconn: wconn, ckpt: ckpt, reqs: make(chan *request, maxBatch), stop: make(chan struct{}), done: make(chan struct{}),
		committed: make(chan struct{}, 1), ckptDone: make(chan struct{})}
	s.walLimit.Store(defaultWALLimit)
	s.rcache, s.wcache = newStmtCache(read, stmtCacheSize), newStmtCache(wconn, stmtCacheSize)
	if err := s.prepare(ctx); err != nil {
		close(s.ckptDone)
		s.closeDBs()
		return nil, err
	}
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// checkpointEvery is how often, at most, the checkpointer copies committed
// pages from the write-ahead log into the database while writes go on.
const checkpointEvery = 200 * time.Millisecond

// defaultWALLimit is the size, in frames, past which the log is started over.
// PASSIVE checkpoints copy the log but never reset it: SQLite starts the
// log from its beginning only when a write begins after every frame was
// copied, which never happens while writes run back to back. A sustained
// load then grew the log without bound (2 GB for a 90 MB database), every
// write extending the file. Past the limit the writer, between two
// commits, finishes the copy and truncates the log; the passive rounds
// have done nearly all of the copying by then, so the pause is short.
const defaultWALLimit = 16384 // 64 MiB of 4 KiB pages

// checkpointer copies the write-ahead log into the database after commits,
// on its own connection, so the writer never waits for it (SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold,
// and took a seventh of a bulk load's time there). A PASSIVE checkpoint
// waits for nobody: what readers still need stays in the log for the next
// round, and the writer starts the log over once all of it is copied.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTimer(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.committed:
		}
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		var busy, logFrames, copied int
		if err := s.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
			slog.Warn("sqlite checkpoint failed; the next commit retries", "err", err)
		} else if int64(logFrames) > s.walLimit.Load() {
			s.restartLog.Store(true)
		}
		t.Reset(checkpointEvery)
	}
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(c interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = c.PrepareContext(ctx, q)
		return st
	}
	cols := sqlbuild.Columns()
	s.stmts.readCurrent = prep(s.wconn, "SELECT "+cols+" FROM resource_version WHERE res_type = ? AND res_id = ? ORDER BY version DESC LIMIT 1")
	s.stmts.insertVersion = prep(s.wconn, "INSERT INTO resource_version (res_type, res_id, version, patient_key, last_updated, method, deleted, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	s.stmts.insertCurrent = prep(s.wconn, "INSERT INTO resource (res_type, res_id, version, patient_key, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (res_type, res_id) DO NOTHING")
	s.stmts.updateCurrent = prep(s.wconn, "UPDATE resource SET version = ?, patient_key = ?, last_updated = ?, deleted = ? WHERE res_type = ? AND res_id = ? AND version = ?")
	for _, t := range sqlbuild.IndexTables {
		s.stmts.deleteIndex = append(s.stmts.deleteIndex, prep(s.wconn, "DELETE FROM "+t.Name+" WHERE res_type = ? AND res_id = ?"))
	}
	s.stmts.insertIndex = make(map[insertKey]*sql.Stmt)
	s.rstmts.read = prep(s.read, "SELECT "+cols+" FROM resource_version WHERE res_type = ? AND res_id = ? ORDER BY version DESC LIMIT 1")
	s.rstmts.vread = prep(s.read, "SELECT "+cols+" FROM resource_version WHERE res_type = ? AND res_id = ? AND version = ?")
	return err
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "sqlite" }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.stop:
		return store.ErrClosed
	default:
	}
	return s.read.PingContext(ctx)
}

// Close stops the writer after the transactions already submitted are
// committed, then closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	<-s.ckptDone
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	if s.rcache != nil {
		s.rcache.close()
		s.wcache.close()
	}
	if s.wconn != nil {
		s.wconn.Close()
	}
	err1 := s.read.Close()
	err2 := s.ckpt.Close()
	// The writer's connection closes last: as the last connection to the
	// database it checkpoints the whole log into it.
	err3 := s.write.Close()
	return errors.Join(err1, err2, err3)
}

// Update implements store.Store: fn joins the next group commit.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Submit(ctx, fn)()
}

// Submit implements store.Submitter: the single writer takes requests in
// the order they were sent, and gathers those waiting into one commit.
func (s *Store) Submit(ctx context.Context, fn func(store.Tx) error) (wait func() error) {
	r := &request{fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return func() error { return store.ErrClosed }
	}
	select {
	case <-ctx.Done():
		s.mu.RUnlock()
		err := ctx.Err()
		return func() error { return err }
	case s.reqs <- r:
	}
	s.mu.RUnlock()
	// Once submitted, wait for the outcome even if ctx ends: the caller
	// must not be told "failed" about a write that then commits.
	return func() error { return <-r.done }
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*request, 0, maxBatch)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Drain what was submitted before Close.
			for {
				select {
				case r := <-s.reqs:
					s.commit([]*request{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commit(batch)
		if s.restartLog.Swap(false) {
			// TRUNCATE waits (busy_timeout) for readers of older snapshots.
			if _, err := s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				slog.Warn("sqlite log restart failed; a later round retries", "err", err)
			} else {
				s.restarts.Add(1)
			}
		}
		select {
		case s.committed <- struct{}{}:
		default:
		}
	}
}

// commit runs a batch of transactions in one SQLite transaction and
// answers each caller only after the commit is durable.
//
// Each is first run bare, which is what nearly every batch needs. Only when
// one fails is the batch rolled back and run again with each transaction
// in a savepoint, so the failing one is undone alone: a savepoint makes
// SQLite copy every page a transaction touches that an earlier one in the
// batch dirtied, which cost about a sixth of a bulk load's time. Running a
// transaction's function twice is safe: every caller's function starts
// from its own inputs (the PostgreSQL store retries them the same way).
func (s *Store) commit(batch []*request) {
	ctx := context.Background()
	if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		for _, r := range batch {
			r.done <- fhir.Wrap(fhir.Internal, err, "begin")
		}
		return
	}
	tx := &tx{s: s, ctx: ctx}
	failed := -1
	var ferr error
	for i, r := range batch {
		if err := runFn(r.fn, tx); err != nil {
			failed, ferr = i, err
			break
		}
	}
	if failed < 0 {
		_, cerr := s.wconn.ExecContext(ctx, "COMMIT")
		if cerr != nil {
			slog.Error("sqlite commit failed", "err", cerr)
			s.wconn.ExecContext(ctx, "ROLLBACK")
			cerr = fhir.Wrap(fhir.Internal, cerr, "commit")
		}
		for _, r := range batch {
			r.done <- cerr
		}
		return
	}
	if _, err := s.wconn.ExecContext(ctx, "ROLLBACK"); err != nil {
		slog.Error("sqlite rollback failed", "err", err)
	}
	if len(batch) == 1 {
		batch[0].done <- ferr
		return
	}
	s.commitIsolated(batch)
}

// commitIsolated is commit with each transaction in a savepoint, so a
// failing one is undone alone.
func (s *Store) commitIsolated(batch []*request) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		for _, r := range batch {
			r.done <- fhir.Wrap(fhir.Internal, err, "begin")
		}
		return
	}
	tx := &tx{s: s, ctx: ctx}
	ok := 0
	for i, r := range batch {
		if _, err := s.wconn.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			errs[i] = fhir.Wrap(fhir.Internal, err, "savepoint")
			continue
		}
		err := runFn(r.fn, tx)
		if err != nil {
			if _, rerr := s.wconn.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				err = errors.Join(err, rerr)
			}
		} else {
			ok++
		}
		if _, rerr := s.wconn.ExecContext(ctx, "RELEASE w"); rerr != nil && err == nil {
			err = fhir.Wrap(fhir.Internal, rerr, "release savepoint")
		}
		errs[i] = err
	}
	var cerr error
	if ok > 0 {
		_, cerr = s.wconn.ExecContext(ctx, "COMMIT")
	} else {
		_, cerr = s.wconn.ExecContext(ctx, "ROLLBACK")
		cerr = nil
	}
	if cerr != nil {
		slog.Error("sqlite commit failed", "err", cerr)
		s.wconn.ExecContext(ctx, "ROLLBACK")
	}
	for i, r := range batch {
		if errs[i] == nil && cerr != nil {
			errs[i] = fhir.Wrap(fhir.Internal, cerr, "commit")
		}
		r.done <- errs[i]
	}
}

func runFn(fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in write transaction", "panic", p, "stack", string(debug.Stack()))
			err = fhir.E(fhir.Internal, "panic in write transaction: %v", p)
		}
	}()
	return fn(tx)
}

type tx struct {
	s   *Store
	ctx context.Context
}

func (t *tx) Read(_ context.Context, typ, id string) (*store.Resource, error) {
	return scanOne(t.s.stmts.readCurrent.QueryRowContext(t.ctx, typ, id))
}

func (t *tx) Find(_ context.Context, c store.Criteria, limit int) ([]string, error) {
	q, err := sqlbuild.Find(dialect, c, limit)
	if err != nil {
		return nil, err
	}
	return queryIDs(t.ctx, t.s.wcache, q)
}

// Lock is a no-op: the single writer already serialises every transaction.
func (t *tx) Lock(context.Context, string) error { return nil }

func (t *tx) Put(_ context.Context, w store.Write) error {
	r := w.Resource
	st := t.s.stmts
	ts := r.LastUpdated.UnixMicro()
	// The current-row write doubles as the version check, so a Put costs no
	// extra read: version 1 must be a new row, version n must replace n-1.
	var res sql.Result
	var err error
	if r.Version == 1 {
		res, err = st.insertCurrent.ExecContext(t.ctx, r.Type, r.ID, r.Version, r.PatientKey, ts, r.Deleted)
	} else {
		res, err = st.updateCurrent.ExecContext(t.ctx, r.Version, r.PatientKey, ts, r.Deleted, r.Type, r.ID, r.Version-1)
	}
	if err != nil {
		return fhir.Wrap(fhir.Internal, err, "update current")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return store.ErrConflict
	}
	var body any
	if !r.Deleted {
		body = r.Body
	}
	if _, err := st.insertVersion.ExecContext(t.ctx, r.Type, r.ID, r.Version, r.PatientKey, ts, r.Method, r.Deleted, body); err != nil {
		return fhir.Wrap(fhir.Internal, err, "insert version")
	}
	if r.Version > 1 {
		for _, del := range st.deleteIndex {
			if _, err := del.ExecContext(t.ctx, r.Type, r.ID); err != nil {
				return fhir.Wrap(fhir.Internal, err, "delete index")
			}
		}
	}
	if !r.Deleted {
		if err := t.insertIndex(r, &w.Index); err != nil {
			return fhir.Wrap(fhir.Internal, err, "insert index")
		}
	}
	return nil
}

// insertIndex writes ix's rows with multi-row INSERTs: one statement per
// table per maxInsertRows rows, not one per row.
func (t *tx) insertIndex(r store.Resource, ix *store.Index) error {
	st := &t.s.stmts
	for ti, tab := range sqlbuild.IndexTables {
		n := tab.Len(ix)
		for start := 0; start < n; start += maxInsertRows {
			k := min(n-start, maxInsertRows)
			stmt, err := t.s.insertStmt(ti, k)
			if err != nil {
				return err
			}
			args := st.args[:0]
			for i := start; i < start+k; i++ {
				args = append(args, r.Type, r.ID, r.PatientKey)
				args = tab.Row(ix, i, args)
			}
			st.args = args
			_, err = stmt.ExecContext(t.ctx, args...)
			clear(args)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// insertStmt returns the cached INSERT of rows rows into table ti.
func (s *Store) insertStmt(ti, rows int) (*sql.Stmt, error) {
	k := insertKey{ti, rows}
	if st := s.stmts.insertIndex[k]; st != nil {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), sqlbuild.InsertRows(sqlbuild.IndexTables[ti], rows))
	if err != nil {
		return nil, err
	}
	s.stmts.insertIndex[k] = st
	return st, nil
}

// IndexOf returns the index rows stored for the current version of a
// resource, for tests.
func (s *Store) IndexOf(ctx context.Context, typ, id string) (*store.Index, error) {
	var ix store.Index
	for _, tab := range sqlbuild.IndexTables {
		q := sqlbuild.IndexQuery(dialect, tab, typ, id)
		rows, err := s.read.QueryContext(ctx, q.String(), q.Args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			dest, add := tab.Scan()
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, err
			}
			add(&ix)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return &ix, nil
}

// Read implements store.Reader.
func (s *Store) Read(ctx context.Context, typ, id string) (*store.Resource, error) {
	return scanOne(s.rstmts.read.QueryRowContext(ctx, typ, id))
}

// VRead implements store.Reader.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*store.Resource, error) {
	return scanOne(s.rstmts.vread.QueryRowContext(ctx, typ, id, version))
}

// Find implements store.Reader.
func (s *Store) Find(ctx context.Context, c store.Criteria, limit int) ([]string, error) {
	q, err := sqlbuild.Find(dialect, c, limit)
	if err != nil {
		return nil, err
	}
	return queryIDs(ctx, s.rcache, q)
}

// Count implements store.Reader.
func (s *Store) Count(ctx context.Context, typ string) (int64, error) {
	var n int64
	var err error
	if typ == "" {
		err = s.read.QueryRowContext(ctx, "SELECT count(*) FROM resource WHERE deleted = 0").Scan(&n)
	} else {
		err = s.read.QueryRowContext(ctx, "SELECT count(*) FROM resource WHERE res_type = ? AND deleted = 0", typ).Scan(&n)
	}
	if err != nil {
		return 0, fhir.Wrap(fhir.Internal, err, "count")
	}
	return n, nil
}

// History implements store.Reader.
func (s *Store) History(ctx context.Context, hq store.HistoryQuery) ([]store.Resource, error) {
	return s.resources(ctx, sqlbuild.History(dialect, hq), "history")
}

func queryIDs(ctx context.Context, c *stmtCache, q *sqlbuild.Query) ([]string, error) {
	rows, err := c.query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, fhir.Wrap(fhir.Internal, err, "find")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fhir.Wrap(fhir.Internal, err, "find")
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scan(sc scanner) (*store.Resource, error) {
	var r store.Resource
	var ts int64
	var body []byte
	if err := sc.Scan(&r.Type, &r.ID, &r.Version, &r.PatientKey, &ts, &r.Method, &r.Deleted, &body); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, fhir.Wrap(fhir.Internal, err, "scan")
	}
	r.LastUpdated = time.UnixMicro(ts).UTC()
	r.Body = body
	return &r, nil
}

func scanOne(row *sql.Row) (*store.Resource, error) { return scan(row) }
