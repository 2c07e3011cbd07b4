package audit

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

//go:embed migrations
var migrations embed.FS

// FileName is the audit database inside the data directory, beside (never
// inside) the record's database.
const FileName = "audit.db"

// versionTable is goose's table here: on PostgreSQL the audit tables may
// share a schema with the store's, whose goose table has the default name.
const versionTable = "audit_goose_version"

// dialect is what differs between the two databases; the SQL is shared.
type dialect struct {
	name string
	// lock, run first in each write transaction, keeps other processes
	// sharing the database from appending until it commits. SQLite needs
	// none: its write transactions begin IMMEDIATE.
	lock     string
	numbered bool // $1, $2 … rather than ?
	// instr names the function giving where a string is in another (0:
	// nowhere), for the patients column.
	instr string
	// patients selects (seq, id) for each Patient id the entries in
	// (?, ?] name, splitting their patients column (" id1 id2 ").
	patients string
}

// index is the INSERT that moves the entries in (?, ?] into audit_index,
// with buckets of 1<<shift entries; its arguments are the range thrice.
// Unsorted: the pages it touches are the newest bucket's either way, and
// sorting cost more than it saved (docs/PERFORMANCE.md).
func (d *dialect) index(shift int) string {
	b := "seq >> " + strconv.Itoa(shift)
	return "INSERT INTO audit_index (bucket, kind, value, seq) " +
		"SELECT " + b + ", " + strconv.Itoa(kindPatient) + ", id, seq FROM (" + d.patients + ") AS p " +
		"UNION ALL SELECT " + b + ", " + strconv.Itoa(kindAgent) + ", agent, seq FROM audit_log WHERE seq > ? AND seq <= ? AND agent <> '' " +
		"UNION ALL SELECT " + b + ", " + strconv.Itoa(kindOrg) + ", org, seq FROM audit_log WHERE seq > ? AND seq <= ? AND org <> ''"
}

// q rewrites ? placeholders for the dialect.
func (d *dialect) q(s string) string {
	if !d.numbered {
		return s
	}
	return sqlbuild.Numbered(s)
}

var (
	sqliteDialect = dialect{name: "sqlite", instr: "instr",
		patients: "WITH RECURSIVE split(seq, rest, id) AS (" +
			"SELECT seq, substr(patients, 2), NULL FROM audit_log WHERE seq > ? AND seq <= ? AND patients <> '' " +
			"UNION ALL SELECT seq, substr(rest, instr(rest, ' ') + 1), substr(rest, 1, instr(rest, ' ') - 1) FROM split WHERE rest <> '') " +
			"SELECT seq, id FROM split WHERE id IS NOT NULL"}
	// The lock is keyed by schema: logs in different schemas of one
	// database are different logs.
	postgresDialect = dialect{name: "postgres", numbered: true, instr: "strpos",
		patients: "SELECT seq, id FROM audit_log, unnest(string_to_array(btrim(patients), ' ')) AS id WHERE seq > ? AND seq <= ? AND patients <> ''",
		lock:     "SELECT pg_advisory_xact_lock(hashtextextended('sharedcare.audit.' || current_schema(), 0))"}
)

// OpenSQLite opens (creating if need be) the audit log in dir/audit.db.
func OpenSQLite(ctx context.Context, dir string, o Options) (*Log, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return OpenSQLiteFile(ctx, filepath.Join(dir, FileName), o)
}

// OpenSQLiteFile opens the audit log in the SQLite database at path.
// synchronous(FULL): an appended entry acknowledged by AppendSync survives
// a power cut, not only a crash of the process. The writer only appends,
// so a small page cache (4 MiB) serves it: a large one is allocated page by
// page while the log grows, which cost the writer a fifth of its time.
func OpenSQLiteFile(ctx context.Context, path string, o Options) (*Log, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "cache_size(-4096)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w, goose.DialectSQLite3, "migrations/sqlite", nil); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)", "query_only(1)"}}.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	seg, err := newSegments(SegmentsDir(path))
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return open(ctx, &sqliteDialect, r, w, seg, func() error { return errors.Join(w.Close(), r.Close(), seg.close()) }, o)
}

// OpenPostgres opens the audit log in the database (and search_path
// schema) the URL names: the record's own database, or another.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*Log, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = 4 // one writer, a few readers: audit is not the hot path
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	closeAll := func() error { err := db.Close(); pool.Close(); return err }
	if err := db.PingContext(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("audit: connect: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		closeAll()
		return nil, err
	}
	if err := migrate(ctx, db, goose.DialectPostgres, "migrations/postgres", locker); err != nil {
		closeAll()
		return nil, err
	}
	return open(ctx, &postgresDialect, db, db, nil, closeAll, o)
}

func migrate(ctx context.Context, db *sql.DB, d goose.Dialect, dir string, locker lock.SessionLocker) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	st, err := database.NewStore(d, versionTable)
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithStore(st)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider("", db, sub, opts...)
	if err != nil {
		return fmt.Errorf("audit: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	return nil
}
