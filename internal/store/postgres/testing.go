package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultTestURL is the server tests use when SHAREDCARE_TEST_POSTGRES is
// not set.
const DefaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// TestEnv names the environment variable holding the test server's URL.
const TestEnv = "SHAREDCARE_TEST_POSTGRES"

// schemaPrefix starts the name of every schema TestURL creates:
// t_<unix seconds>_<random>.
const schemaPrefix = "t_"

// staleAfter is how old a test schema left behind by a killed test run must
// be before TestURL drops it.
const staleAfter = 6 * time.Hour

var (
	sweepOnce sync.Once
	// unreachable remembers that no server answered, so the tests after
	// the first skip at once instead of each waiting for a timeout.
	unreachableMu sync.Mutex
	unreachable   = map[string]error{}
)

// TestURL returns a connection URL for a fresh, empty schema of its own on
// the test PostgreSQL server (SHAREDCARE_TEST_POSTGRES, or DefaultTestURL),
// for tests that need a database: pass it to Open. The URL carries
// search_path, so everything Open creates lives in that schema; the schema
// is dropped (CASCADE) when the test ends. Tests using it may run in
// parallel and repeatedly.
//
// When the server cannot be reached the test is skipped, unless CI=true,
// where a missing database is a failure.
func TestURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(TestEnv)
	if base == "" {
		base = DefaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unreachableMu.Lock()
	err, known := unreachable[base]
	unreachableMu.Unlock()
	var conn *pgx.Conn
	if !known {
		conn, err = pgx.Connect(ctx, base)
		var pe *pgconn.PgError
		if err != nil && !errors.As(err, &pe) { // no server answered
			unreachableMu.Lock()
			unreachable[base] = err
			unreachableMu.Unlock()
		}
	}
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL not reachable at %s (set %s to a server's URL): %v", redact(base), TestEnv, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer conn.Close(context.Background())
	sweepOnce.Do(func() { sweep(ctx, conn) })

	var rnd [6]byte
	rand.Read(rnd[:])
	schema := schemaPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop test schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop test schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// OpenTest opens a store on TestURL(t) and closes it when the test ends.
// Its pool holds at most 4 connections, so that many parallel tests stay
// within the server's max_connections.
func OpenTest(t testing.TB) *Store {
	t.Helper()
	u := TestURL(t)
	if strings.Contains(u, "://") {
		u += "&pool_max_conns=4"
	} else {
		u += " pool_max_conns=4"
	}
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// withSearchPath adds search_path=schema to a URL or key=value connection
// string; pgx sends it to the server as a session setting.
func withSearchPath(conn, schema string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		if u, err := url.Parse(conn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return conn + " search_path=" + schema
}

func redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured server"
}

// sweep drops test schemas older than staleAfter: those of test runs that
// were killed before their cleanup ran.
func sweep(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) != 3 {
			continue
		}
		sec, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{n}.Sanitize()+" CASCADE")
	}
}
