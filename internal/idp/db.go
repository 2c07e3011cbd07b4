package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

//go:embed migrations
var migrations embed.FS

// FileName is the SQLite database file inside the data directory: apart
// from the record's, so the record can be rebuilt or restored without
// touching accounts, and the other way round.
const FileName = "idp.db"

// SQLitePath is where the provider keeps its SQLite database in dataDir.
func SQLitePath(dataDir string) string { return filepath.Join(dataDir, FileName) }

// migrationTable is goose's version table. It is not goose's default,
// because on PostgreSQL the provider shares a schema with the record
// store, whose migrations have their own numbering.
const migrationTable = "idp_goose_db_version"

// db is the provider's database: one database/sql handle and the few
// differences between the two dialects.
type db struct {
	sql      *sql.DB
	postgres bool
}

// IsPostgres reports whether store names a PostgreSQL database rather than
// a SQLite file.
func IsPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// openDB opens and migrates the database store names: a postgres:// URL,
// or the path of a SQLite file (created if need be).
func openDB(ctx context.Context, store string) (*db, error) {
	if store == "" {
		return nil, errors.New("idp: no store: give a SQLite path or a postgres:// URL")
	}
	d := &db{postgres: IsPostgres(store)}
	if d.postgres {
		cfg, err := pgx.ParseConfig(store)
		if err != nil {
			return nil, fmt.Errorf("idp: %w", err)
		}
		d.sql = stdlib.OpenDB(*cfg)
		d.sql.SetMaxOpenConns(8)
	} else {
		if err := os.MkdirAll(filepath.Dir(store), 0o750); err != nil {
			return nil, fmt.Errorf("idp: %w", err)
		}
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
			q.Add("_pragma", p)
		}
		var err error
		d.sql, err = sql.Open("sqlite", "file:"+store+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("idp: open %s: %w", store, err)
		}
		// One connection: sign-ins are rare, and a single writer never
		// meets SQLITE_BUSY halfway through a statement.
		d.sql.SetMaxOpenConns(1)
	}
	if err := d.sql.PingContext(ctx); err != nil {
		d.sql.Close()
		return nil, fmt.Errorf("idp: connect: %w", err)
	}
	if err := d.migrate(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	return d, nil
}

func (d *db) migrate(ctx context.Context) error {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if d.postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	if d.postgres {
		// Two servers starting at once on one schema must not both
		// create the tables.
		conn, err := d.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("idp: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtextextended('sharedcare.idp.migrate.' || current_schema(), 0))"); err != nil {
			return fmt.Errorf("idp: migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended('sharedcare.idp.migrate.' || current_schema(), 0))")
	}
	p, err := goose.NewProvider(dialect, d.sql, sub, goose.WithTableName(migrationTable))
	if err != nil {
		return fmt.Errorf("idp: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("idp: migrate: %w", err)
	}
	return nil
}

// q rewrites ? placeholders as $1, $2… for PostgreSQL. The SQL here is
// ours and holds no literal question marks.
func (d *db) q(query string) string {
	if !d.postgres {
		return query
	}
	return sqlbuild.Numbered(query)
}

func (d *db) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.sql.ExecContext(ctx, d.q(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d *db) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.sql.QueryRowContext(ctx, d.q(query), args...)
}

func (d *db) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.sql.QueryContext(ctx, d.q(query), args...)
}

func (d *db) close() error { return d.sql.Close() }

// randomToken returns n random bytes, base64url: ids, codes, secrets.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how the database keeps a random secret it must look up.
func hashToken(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func unix(t time.Time) int64 { return t.Unix() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isUnique reports whether err is a unique-constraint violation, in either
// dialect.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}
