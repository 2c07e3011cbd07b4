package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sharedcare/sharedcare/internal/audit"
)

const auditUsage = `usage: sharedcare audit <command> [flags]

commands:
  verify      check every entry, the hash chain and every signed checkpoint;
              prints what is wrong and exits 1 if anything is
  checkpoint  sign a checkpoint of the log as it stands now (needs the private key)

The log is DATA/audit.db beside the embedded database, or the audit tables of
the --db PostgreSQL database. verify needs only the public key.
`

// runAudit checks and signs the audit log, from outside the server: an
// auditor with the public key and a copy of the database needs nothing
// else.
func runAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub := args[0]
	if sub != "verify" && sub != "checkpoint" {
		fmt.Fprintf(stderr, "sharedcare audit: unknown command %q\n\n%s", sub, auditUsage)
		return 2
	}
	flags := flag.NewFlagSet("audit "+sub, flag.ContinueOnError)
	flags.SetOutput(stderr)
	var data, db, keys, origin string
	flags.StringVar(&data, "data", "./data", "data directory (holds the embedded audit database, audit.db)")
	flags.StringVar(&db, "db", "", "database: empty for the embedded SQLite in --data, or a postgres:// URL")
	flags.StringVar(&keys, "keys", "", "directory of the audit signing key (default DATA/keys; required with --db)")
	flags.StringVar(&origin, "origin", "", "the log's name in its checkpoints, if the server sets one")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: sharedcare audit %s [flags]\n\nflags:\n", sub)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args[1:]); err != nil {
		return 2
	}
	if err := envDefaults(flags, getenv); err != nil {
		fmt.Fprintln(stderr, "sharedcare audit:", err)
		return 2
	}
	if keys == "" {
		if db != "" {
			fmt.Fprintln(stderr, "sharedcare audit: with --db, give --keys (or SHAREDCARE_KEYS)")
			return 2
		}
		keys = filepath.Join(data, "keys")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := audit.Options{Origin: origin}
	if sub == "verify" {
		pub, err := audit.LoadPublicKey(keys)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare audit:", err)
			return 1
		}
		o.PublicKey = pub
	} else {
		// Never a new key here: checkpoints signed by a key the server
		// does not have would fail every later verification.
		if _, err := os.Stat(filepath.Join(keys, audit.PrivateKeyFile)); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "sharedcare audit: no signing key in %s\n", keys)
			return 1
		}
		key, err := audit.LoadKey(keys)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare audit:", err)
			return 1
		}
		o.Key = key
	}
	l, err := openAudit(ctx, data, db, o)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare audit:", err)
		return 1
	}
	defer l.Close()
	if sub == "checkpoint" {
		if err := l.Checkpoint(ctx); err != nil {
			fmt.Fprintln(stderr, "sharedcare audit:", err)
			return 1
		}
		_, note, err := l.Latest(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "sharedcare audit:", err)
			return 1
		}
		fmt.Fprint(stdout, note)
		return 0
	}
	r, err := l.Verify(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sharedcare audit:", err)
		return 1
	}
	fmt.Fprint(stdout, r)
	if !r.OK() {
		return 1
	}
	return 0
}

// openAudit opens the audit log beside the store openStore opens.
func openAudit(ctx context.Context, dataDir, db string, o audit.Options) (*audit.Log, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return audit.OpenPostgres(ctx, db, o)
	}
	if db != "" {
		return nil, fmt.Errorf("--db must be empty (embedded SQLite) or a postgres:// URL")
	}
	if _, err := os.Stat(filepath.Join(dataDir, audit.FileName)); err != nil {
		return nil, fmt.Errorf("no audit log in %s: %w", dataDir, err)
	}
	return audit.OpenSQLite(ctx, dataDir, o)
}
