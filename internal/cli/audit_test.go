package cli_test

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/cli"
)

func TestAuditCommand(t *testing.T) {
	data := t.TempDir()
	key, err := audit.LoadKey(filepath.Join(data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.OpenSQLite(t.Context(), data, audit.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ev := audit.Event{Time: time.Unix(int64(1e9+i), 0), Interaction: "read", Who: "u1", Patients: []string{"p1"}}
		if err := l.AppendSync(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errw bytes.Buffer
		code := cli.Main(append([]string{"audit"}, args...), &out, &errw)
		return code, out.String() + errw.String()
	}

	tests := []struct {
		name   string
		args   []string
		tamper string
		code   int
		want   string
	}{
		{"verify clean", []string{"verify", "--data", data}, "", 0, "OK"},
		{"checkpoint", []string{"checkpoint", "--data", data}, "", 0, "sharedcare-audit\n5\n"},
		{"no keys", []string{"verify", "--data", data, "--keys", t.TempDir()}, "", 1, "public key"},
		{"db without keys", []string{"verify", "--db", "postgres://x/y"}, "", 2, "--keys"},
		{"unknown", []string{"sign"}, "", 2, "unknown command"},
		{"verify tampered", []string{"verify", "--data", data}, "UPDATE audit_log SET boff = boff + 1, blen = blen - 1 WHERE seq = 2", 1, "changed: entry 2"},
	}
	for _, tt := range tests {
		if tt.tamper != "" {
			db, err := sql.Open("sqlite", filepath.Join(data, audit.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tt.tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		code, out := run(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", tt.name, code, tt.code, tt.want, out)
		}
	}
}
