// Package postgres is the production store: PostgreSQL through pgx's native
// API and a pgxpool. It behaves like the SQLite store (both pass
// internal/store/storetest) and shares its Find and History SQL through
// internal/store/sqlbuild.
//
// Writes. Update runs fn in a READ COMMITTED transaction. A Put is one
// statement whatever the number of index tokens: a chain of CTEs that locks
// the current row of the resource (SELECT ... FOR UPDATE on resource),
// checks that the new version is the current one plus one, inserts the
// version, moves the current pointer and replaces the token rows (passed as
// three text arrays and unnested). pgx prepares and caches it per
// connection.
//
// Round trips. Statements are pipelined (pgx.Batch): Put and Lock only
// queue theirs; the queue goes to the server in one round trip, in order,
// together with the next statement whose answer fn needs (Read, Find),
// when 256 are waiting, or before COMMIT. BEGIN is queued the same way. So
// a bulk transaction of 300 Puts costs three round trips (two batches and
// COMMIT), a one-Put Update two (BEGIN+Put, COMMIT), a read-then-put one
// per Read plus COMMIT. Since a queued Put's outcome is known only later,
// a refused one makes the attempt roll back and fn run again, this time
// with that resource's Puts sent and checked at once: fn sees
// store.ErrConflict from Put exactly where the contract puts it, and the
// speculative attempt never shows. After a refused Put, as on SQLite, the
// transaction stays usable.
//
// Concurrency. Reads inside a transaction take no locks; instead the
// transaction remembers which version it read of each resource. A Put that
// finds the resource changed since that read (or loses a race to create the
// same new id, which ON CONFLICT DO NOTHING turns into "not inserted" rather
// than a unique violation) means fn decided on stale data: the attempt is
// rolled back and fn is run again, as are attempts that hit a serialisation
// failure, a deadlock (SQLSTATE 40001, 40P01) or a unique violation
// (23505). On the attempts after such a race, Tx.Read locks the resource
// that raced (SELECT ... FOR UPDATE) before reading it, so a hot resource
// gets its writers in line instead of having them retry forever: optimistic
// first, pessimistic where it proved needed. So a read-then-put fn never
// loses an update and, as on SQLite, never sees a conflict it did not
// cause; only after maxAttempts does the caller get store.ErrConflict. A
// Put whose version is simply wrong (not one more than what fn read, or
// with nothing read) gets store.ErrConflict.
//
// Nothing is acknowledged before COMMIT returns; the commit runs without
// the caller's cancellation so that a cancelled request is never told
// "failed" about a write that then commits.
//
// Bodies are JSONB: keys come back reordered and whitespace normalised, but
// numbers keep their written form (1.50 stays 1.50). JSONB refuses the
// escape \u0000; such a body is an Invalid error (FHIR strings may not hold
// control characters anyway).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxAttempts bounds how many times Update runs fn when attempts keep
// losing races.
const maxAttempts = 10

var dialect = sqlbuild.Dialect{Numbered: true, Time: func(t time.Time) any { return t }}

var (
	cols = sqlbuild.Columns()

	readSQL  = "SELECT " + cols + " FROM resource_version WHERE res_type = $1 AND res_id = $2 ORDER BY version DESC LIMIT 1"
	vreadSQL = "SELECT " + cols + " FROM resource_version WHERE res_type = $1 AND res_id = $2 AND version = $3"

	// putSQL adds version $3 of ($1, $2) if the current version is $3 - 1,
	// and answers (inserted, current version seen under the lock).
	// Parameters: 1 res_type, 2 res_id, 3 version, 4 patient_key,
	// 5 last_updated, 6 method, 7 deleted, 8 body, then one array per
	// column of each index table (sqlbuild.IndexTables, in order), unnested
	// together into that table's rows.
	//
	// All CTEs run on one snapshot, so a del CTE cannot see its table's
	// new rows: the old index rows go and the new ones stay. A version 1
	// has no old rows, so its deletes are skipped. ON CONFLICT DO NOTHING
	// on the version's primary key makes a lost race to create a new
	// resource an empty ins (after waiting for the winner to commit), not
	// an error that would abort the transaction.

	lockSQL    = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
	lockRowSQL = "SELECT 1 FROM resource WHERE res_type = $1 AND res_id = $2 FOR UPDATE"
)

// Store is the PostgreSQL store.
type Store struct {
	pool    *pgxpool.Pool
	closed  atomic.Bool
	retries atomic.Int64 // attempts run again after a race, for tests
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx accepts), migrates it and returns the store.
//
// Parameters pgx does not know are sent as session settings, so
// "?search_path=myschema" puts the tables, and goose's version table, in
// that schema (it must exist). Pool parameters such as pool_max_conns are
// honoured; without one the pool holds up to max(8, 4×GOMAXPROCS)
// connections.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool, cfg.ConnConfig); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// migrate applies the embedded migrations, holding an advisory lock keyed
// by the schema so that servers starting together migrate one at a time.
// The lock is taken on a connection of its own, closed afterwards, so it
// can never stay behind in the pool.
func migrate(ctx context.Context, pool *pgxpool.Pool, cc *pgx.ConnConfig) error {
	lconn, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer lconn.Close(context.WithoutCancel(ctx))
	var schema *string
	if err := lconn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	if schema == nil {
		return fmt.Errorf("postgres: no schema on the search_path exists (search_path=%s)", cc.RuntimeParams["search_path"])
	}
	if _, err := lconn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", "sharedcare.migrate."+*schema); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Dialect implements store.Store.
func (s *Store) Dialect() string { return "postgres" }

// Pool is the connection pool, for packages that keep their own tables in
// the same database (search indexes, audit).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return s.pool.Ping(ctx)
}

// Close waits for the connections in use to be released (so transactions
// under way finish), then closes the pool. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	rs := &retryState{hot: map[key]bool{}, sync: map[key]bool{}}
	for attempt := 1; ; attempt++ {
		if s.closed.Load() {
			return store.ErrClosed
		}
		retry, err := s.attempt(ctx, fn, rs)
		if !retry {
			return err
		}
		s.retries.Add(1)
		if attempt >= maxAttempts {
			slog.Warn("postgres: write transaction kept conflicting", "attempts", attempt, "err", err)
			return store.ErrConflict
		}
		// Back off with jitter so the racers spread out: 1ms, 2ms, 4ms...
		// up to 64ms, times a random factor in [0.5, 1.5).
		d := time.Millisecond << min(attempt-1, 6)
		d = time.Duration(float64(d) * (0.5 + rand.Float64()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// attempt runs fn once. retry reports that fn lost a race and should run
// again.
func (s *Store) attempt(ctx context.Context, fn func(store.Tx) error, rs *retryState) (retry bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if s.closed.Load() {
			return false, store.ErrClosed
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, fhir.Wrap(fhir.Internal, err, "begin")
	}
	// A connection left inside a transaction (after a failed rollback) is
	// destroyed by Release rather than reused.
	defer conn.Release()
	t := &tx{conn: conn, ctx: ctx, seen: make(map[key]int64), rs: rs}
	defer func() {
		// Rollback after a successful Commit does nothing.
		if t.ptx != nil {
			t.ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	err = runFn(fn, t)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.raced {
		// Send what is still queued, to learn the outcome of its Puts:
		// even when fn failed, as it may have failed because a queued Put
		// said nil where a checked one would have said ErrConflict.
		if ferr := t.flush(ctx); ferr != nil {
			if ferr = t.fail(ferr, "write"); err == nil {
				err = ferr
			}
		}
	}
	if t.raced {
		return true, err
	}
	if err != nil {
		return false, err
	}
	ptx := t.ptx
	if ptx == nil {
		return false, nil // fn ran no statement: nothing to commit
	}
	if err := ptx.Commit(context.WithoutCancel(ctx)); err != nil {
		if retryable(err) {
			return true, err
		}
		return false, fhir.Wrap(fhir.Internal, err, "commit")
	}
	return false, nil
}

func runFn(fn func(store.Tx) error, t store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in write transaction", "panic", p, "stack", string(debug.Stack()))
			err = fhir.E(fhir.Internal, "panic in write transaction: %v", p)
		}
	}()
	return fn(t)
}

// retryable reports a failure that running the transaction again can cure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "23505":
			return true
		}
	}
	return false
}

type key struct{ typ, id string }

var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// maxQueued bounds how many statements wait in a transaction's pipeline
// before they are sent.
const maxQueued = 256

// retryState is what one Update carries from an attempt to the next.
type retryState struct {
	hot  map[key]bool // lock when read: a read of theirs went stale
	sync map[key]bool // check Puts at once: a deferred Put of theirs was refused
}

// tx is one attempt's transaction.
//
// Statements are pipelined: Put and Lock only queue their statement, and
// whatever is queued goes to the server in one pgx.Batch, in order, with
// the next statement whose answer fn needs (Read, Find) or before COMMIT.
// BEGIN is queued the same way, so it costs no round trip of its own. A bulk
// transaction of Puts is thus one round trip per 256 Puts plus COMMIT, a
// one-Put Update two (BEGIN+Put, COMMIT), and read-then-put one per Read.
//
// A queued Put's outcome is known only when it is sent. If it was refused
// (the version was not current+1), the attempt is rolled back and fn runs
// again: with that resource's Puts checked at once this time, so fn sees
// store.ErrConflict from Put exactly as the contract says, or, if the
// refusal came from a race, with the resource locked as it is read. Either
// way the first attempt's outcome never reaches fn's caller.
//
// pgx connections are not safe for concurrent use, so mu serialises calls
// from goroutines fn may start.
type tx struct {
	mu    sync.Mutex
	conn  *pgxpool.Conn
	ptx   pgx.Tx     // nil until the first batch is sent
	batch *pgx.Batch // queued statements, not yet sent
	ctx   context.Context
	rs    *retryState
	seen  map[key]int64 // version read (or written) per resource, 0 for absent
	raced bool          // fn must run again: this attempt will be rolled back
}

// queue adds a statement to the batch to be sent, after BEGIN if the
// transaction has not begun.
func (t *tx) queue(sql string, args ...any) *pgx.QueuedQuery {
	if t.batch == nil {
		t.batch = &pgx.Batch{}
		if t.ptx == nil {
			t.batch.BeginTx(txOptions)
		}
	}
	return t.batch.Queue(sql, args...)
}

// flush sends the queued statements in one round trip and runs their
// callbacks.
func (t *tx) flush(ctx context.Context) error {
	b := t.batch
	if b == nil {
		return nil
	}
	t.batch = nil
	var br pgx.BatchResults
	if t.ptx == nil {
		br = t.conn.SendBatch(ctx, b)
		t.ptx = br.Tx()
	} else {
		br = t.ptx.SendBatch(ctx, b)
	}
	return br.Close()
}

// refused handles a Put that inserted nothing: cur is the current version
// the statement saw under its lock, seen what fn had read before the Put.
// It reports whether the refusal is a race, which running fn again cures.
func (t *tx) refused(k key, version, cur int64, seen int64, read bool) bool {
	// The check passed under the lock yet nothing was inserted: another
	// transaction created the resource first. Or fn had read the version
	// it built on, and it has changed since. Either way fn acted on stale
	// data; otherwise the version was simply wrong.
	if cur == version-1 || (read && seen == version-1) {
		t.rs.hot[k] = true
		return true
	}
	return false
}

// fail turns a database error inside the transaction into the error fn
// sees, noting the races that call for running fn again.
func (t *tx) fail(err error, what string) error {
	if retryable(err) {
		t.raced = true
		return store.ErrConflict
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "22P02", "22P05": // invalid JSON text; \u0000 or an untranslatable character
			return fhir.Wrap(fhir.Invalid, err, "the resource cannot be stored: %s", pe.Message)
		case "54000": // program_limit_exceeded: an index value too long
			return fhir.Wrap(fhir.Unprocessable, err, "the resource cannot be stored: %s", pe.Message)
		}
	}
	if ce := t.ctx.Err(); ce != nil && errors.Is(err, ce) {
		return ce
	}
	return fhir.Wrap(fhir.Internal, err, "%s", what)
}

// send flushes the queue, as the statement fn waits for needs. An error, or
// a queued Put found refused, ends the attempt.
func (t *tx) send(ctx context.Context, what string) error {
	if err := t.flush(ctxOr(ctx, t.ctx)); err != nil {
		return t.fail(err, what)
	}
	if t.raced {
		return store.ErrConflict
	}
	return nil
}

func (t *tx) Read(ctx context.Context, typ, id string) (*store.Resource, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return nil, store.ErrConflict
	}
	k := key{typ, id}
	if t.rs.hot[k] {
		// This resource changed under an earlier attempt: lock it before
		// reading, so that this attempt cannot lose the same race again.
		// The read is a statement of its own, after the lock, so it sees
		// what the lock holder committed.
		t.queue(lockRowSQL, typ, id)
	}
	var r *store.Resource
	var rerr error
	t.queue(readSQL, typ, id).QueryRow(func(row pgx.Row) error {
		r, rerr = scanRaw(row)
		if errors.Is(rerr, pgx.ErrNoRows) {
			return nil // an answer, not a failure: pgx would drop its statement cache
		}
		return rerr
	})
	if err := t.send(ctx, "read"); err != nil {
		return nil, err
	}
	if errors.Is(rerr, pgx.ErrNoRows) {
		t.seen[k] = 0
		return nil, store.ErrNotFound
	}
	t.seen[k] = r.Version
	return r, nil
}

func (t *tx) Find(ctx context.Context, c store.Criteria, limit int) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return nil, store.ErrConflict
	}
	q, err := sqlbuild.Find(dialect, c, limit)
	if err != nil {
		return nil, err
	}
	var ids []string
	t.queue(q.String(), q.Args...).Query(func(rows pgx.Rows) (err error) {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := t.send(ctx, "find"); err != nil {
		return nil, err
	}
	return ids, nil
}

// Lock queues the lock: it is taken, in order, before any later statement
// of the transaction runs.
func (t *tx) Lock(ctx context.Context, k string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return store.ErrConflict
	}
	t.queue(lockSQL, k)
	return nil
}

func (t *tx) Put(ctx context.Context, w store.Write) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.raced {
		return store.ErrConflict
	}
	r := w.Resource
	var body []byte
	args := make([]any, 8, 8+putArrays)
	args[0], args[1], args[2], args[3], args[4], args[5], args[6] = r.Type, r.ID, r.Version, r.PatientKey, r.LastUpdated, r.Method, r.Deleted
	if !r.Deleted && len(r.Body) > 0 {
		body = r.Body
	}
	args[7] = body
	sh := putShape{update: r.Version > 1}
	if !r.Deleted {
		sh.mask = indexMask(&w.Index)
		args = indexArrays(&w.Index, sh.mask, args)
	}
	k := key{r.Type, r.ID}
	seen, read := t.seen[k]
	now := t.rs.sync[k]
	var inserted bool
	var cur int64
	t.queue(putSQLFor(sh), args...).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&inserted, &cur); err != nil {
			return err
		}
		if !inserted && !now {
			// A queued Put was refused: run fn again, and check this
			// resource's Puts at once next time unless it was a race.
			t.raced = true
			if !t.refused(k, r.Version, cur, seen, read) {
				t.rs.sync[k] = true
			}
		}
		return nil
	})
	t.seen[k] = r.Version
	if !now {
		if t.batch.Len() >= maxQueued {
			return t.send(ctx, "put")
		}
		return nil
	}
	if err := t.send(ctx, "put"); err != nil {
		return err
	}
	if !inserted {
		if read {
			t.seen[k] = seen
		} else {
			delete(t.seen, k)
		}
		if t.refused(k, r.Version, cur, seen, read) {
			t.raced = true
		}
		return store.ErrConflict
	}
	return nil
}

func ctxOr(ctx, def context.Context) context.Context {
	if ctx == nil {
		return def
	}
	return ctx
}

// colType is the PostgreSQL array type of an index column.
func colType(table, col string) string {
	switch {
	case table == "idx_date" && (col == "low" || col == "high"):
		return "bigint[]"
	case col == "value" || col == "low" || col == "high" || col == "canon_value":
		return "float8[]"
	}
	return "text[]"
}

// putArrays is how many array parameters a Put statement takes at most
// after the first 8.
var putArrays = func() int {
	n := 0
	for _, t := range sqlbuild.IndexTables {
		n += len(t.Cols)
	}
	return n
}()

// putSQLs caches the Put statement per shape: which index tables get rows
// (mask) and whether old rows must be deleted (an update). Leaving out the
// tables a resource has no rows for keeps the statement small: most
// resources touch two or three of the nine tables.
var putSQLs sync.Map // putShape → string

type putShape struct {
	mask   uint32
	update bool
}

func putSQLFor(sh putShape) string {
	if q, ok := putSQLs.Load(sh); ok {
		return q.(string)
	}
	q := buildPutSQL(sh)
	putSQLs.Store(sh, q)
	return q
}

func buildPutSQL(sh putShape) string {
	var b strings.Builder
	b.WriteString(`WITH cur AS (
  SELECT version FROM resource WHERE res_type = $1::text AND res_id = $2::text FOR UPDATE
), ins AS (
  INSERT INTO resource_version (res_type, res_id, version, patient_key, last_updated, method, deleted, body)
  SELECT $1::text, $2::text, $3::bigint, $4::text, $5::timestamptz, $6::text, $7::boolean, $8::jsonb
  WHERE coalesce((SELECT version FROM cur), 0) = $3::bigint - 1
  ON CONFLICT DO NOTHING
  RETURNING 1
), cur_upd AS (
  INSERT INTO resource (res_type, res_id, version, patient_key, last_updated, deleted)
  SELECT $1::text, $2::text, $3::bigint, $4::text, $5::timestamptz, $7::boolean FROM ins
  ON CONFLICT (res_type, res_id) DO UPDATE SET version = excluded.version, patient_key = excluded.patient_key,
    last_updated = excluded.last_updated, deleted = excluded.deleted
)`)
	p := 9
	for i, t := range sqlbuild.IndexTables {
		if sh.update {
			fmt.Fprintf(&b, `, del%d AS (
  DELETE FROM %s WHERE res_type = $1::text AND res_id = $2::text AND EXISTS (SELECT 1 FROM ins)
)`, i, t.Name)
		}
		if sh.mask&(1<<i) == 0 {
			continue
		}
		fmt.Fprintf(&b, `, ins%d AS (
  INSERT INTO %s (res_type, res_id, patient_key, %s)
  SELECT $1::text, $2::text, $4::text, u.* FROM unnest(`, i, t.Name, strings.Join(t.Cols, ", "))
		for j, c := range t.Cols {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d::%s", p, colType(t.Name, c))
			p++
		}
		b.WriteString(") AS u\n  WHERE EXISTS (SELECT 1 FROM ins)\n)")
	}
	b.WriteString("\nSELECT EXISTS (SELECT 1 FROM ins), coalesce((SELECT version FROM cur), 0)")
	return b.String()
}

// indexMask names the index tables ix has rows for.
func indexMask(ix *store.Index) uint32 {
	var m uint32
	for i, t := range sqlbuild.IndexTables {
		if t.Len(ix) > 0 {
			m |= 1 << i
		}
	}
	return m
}

// indexArrays appends ix as the Put statement's array parameters: one typed
// slice per column of each index table in mask.
// newColumns makes an empty array per column of t, typed as PostgreSQL
// binds it, with room for n rows.
func newColumns(t sqlbuild.IndexTable, n int) []any {
	cols := make([]any, len(t.Cols))
	for j, c := range t.Cols {
		switch colType(t.Name, c) {
		case "bigint[]":
			cols[j] = make([]int64, 0, n)
		case "float8[]":
			cols[j] = make([]float64, 0, n)
		default:
			cols[j] = make([]string, 0, n)
		}
	}
	return cols
}

func indexArrays(ix *store.Index, mask uint32, args []any) []any {
	var row []any
	for i, t := range sqlbuild.IndexTables {
		if mask&(1<<i) == 0 {
			continue
		}
		n := t.Len(ix)
		cols := newColumns(t, n)
		for i := 0; i < n; i++ {
			row = t.Row(ix, i, row[:0])
			for j, v := range row {
				switch v := v.(type) {
				case int64:
					cols[j] = append(cols[j].([]int64), v)
				case float64:
					cols[j] = append(cols[j].([]float64), v)
				case string:
					cols[j] = append(cols[j].([]string), v)
				}
			}
		}
		args = append(args, cols...)
	}
	return args
}

// IndexOf returns the index rows stored for the current version of a
// resource, for tests.
func (s *Store) IndexOf(ctx context.Context, typ, id string) (*store.Index, error) {
	var ix store.Index
	for _, tab := range sqlbuild.IndexTables {
		q := sqlbuild.IndexQuery(dialect, tab, typ, id)
		rows, err := s.pool.Query(ctx, q.String(), q.Args...)
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
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return &ix, nil
}

// Read implements store.Reader.
func (s *Store) Read(ctx context.Context, typ, id string) (*store.Resource, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	r, err := scan(s.pool.QueryRow(ctx, readSQL, typ, id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, s.wrap(err, "read")
	}
	return r, err
}

// VRead implements store.Reader.
func (s *Store) VRead(ctx context.Context, typ, id string, version int64) (*store.Resource, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	r, err := scan(s.pool.QueryRow(ctx, vreadSQL, typ, id, version))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, s.wrap(err, "vread")
	}
	return r, err
}

// Find implements store.Reader.
func (s *Store) Find(ctx context.Context, c store.Criteria, limit int) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	q, err := sqlbuild.Find(dialect, c, limit)
	if err != nil {
		return nil, err
	}
	ids, err := queryIDs(ctx, s.pool, q)
	if err != nil {
		return nil, s.wrap(err, "find")
	}
	return ids, nil
}

// Count implements store.Reader.
func (s *Store) Count(ctx context.Context, typ string) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var n int64
	var err error
	if typ == "" {
		err = s.pool.QueryRow(ctx, "SELECT count(*) FROM resource WHERE NOT deleted").Scan(&n)
	} else {
		err = s.pool.QueryRow(ctx, "SELECT count(*) FROM resource WHERE res_type = $1 AND NOT deleted", typ).Scan(&n)
	}
	if err != nil {
		return 0, s.wrap(err, "count")
	}
	return n, nil
}

// History implements store.Reader.
func (s *Store) History(ctx context.Context, hq store.HistoryQuery) ([]store.Resource, error) {
	return s.resources(ctx, sqlbuild.History(dialect, hq), "history")
}

// wrap makes a read failure an Internal error, or ErrClosed after Close,
// or the context's error when the caller gave up.
func (s *Store) wrap(err error, what string) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fhir.Wrap(fhir.Internal, err, "%s", what)
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

func queryIDs(ctx context.Context, db querier, q *sqlbuild.Query) ([]string, error) {
	rows, err := db.Query(ctx, q.String(), q.Args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// scan reads one row of sqlbuild.Columns(). pgx.ErrNoRows becomes
// store.ErrNotFound; other errors are returned as they are.
func scan(row pgx.Row) (*store.Resource, error) {
	r, err := scanRaw(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return r, err
}

// scanRaw is scan without translating pgx.ErrNoRows.
func scanRaw(row pgx.Row) (*store.Resource, error) {
	var r store.Resource
	var body []byte
	if err := row.Scan(&r.Type, &r.ID, &r.Version, &r.PatientKey, &r.LastUpdated, &r.Method, &r.Deleted, &body); err != nil {
		return nil, err
	}
	r.LastUpdated = r.LastUpdated.UTC()
	r.Body = body
	return &r, nil
}
