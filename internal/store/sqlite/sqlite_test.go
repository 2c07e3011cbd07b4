package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

func open(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	clk := storetest.NewClock(storetest.Time0)
	w1 := storetest.NewWrite("Patient", "a", 1, clk.Next(), map[string]any{"active": true}, storetest.Tok("identifier", "s", "1"))
	w2 := storetest.NewWrite("Patient", "a", 2, clk.Next(), map[string]any{"active": false}, storetest.Tok("identifier", "s", "2"))
	o := storetest.Observation("o1", "a", clk.Next())
	storetest.MustPut(t, s, w1)
	storetest.MustPut(t, s, w2, o)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	r, err := s.Read(t.Context(), "Patient", "a")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckResource(t, r, w2)
	v, err := s.VRead(t.Context(), "Patient", "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckResource(t, v, w1)
	r, err = s.Read(t.Context(), "Observation", "o1")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckResource(t, r, o)
	ids, err := s.Find(t.Context(), store.Criteria{Type: "Patient", Tokens: []store.TokenClause{{Param: "identifier", Values: []store.TokenMatch{{System: "s", Code: "2"}}}}}, 10)
	if err != nil || len(ids) != 1 || ids[0] != "a" {
		t.Errorf("find after reopen: %q, %v", ids, err)
	}
	h, err := s.History(t.Context(), store.HistoryQuery{Limit: 10})
	if err != nil || len(h) != 3 {
		t.Errorf("history after reopen: %d versions, %v", len(h), err)
	}
	if n, err := s.Count(t.Context(), ""); err != nil || n != 2 {
		t.Errorf("count after reopen: %d, %v", n, err)
	}
	// And it takes writes again.
	storetest.MustPut(t, s, storetest.NewWrite("Patient", "a", 3, clk.Next(), nil))
}

func BenchmarkRead(b *testing.B) { storetest.BenchRead(b, open(b, b.TempDir())) }

func BenchmarkCreateParallel(b *testing.B) { storetest.BenchCreateParallel(b, open(b, b.TempDir())) }

func BenchmarkBulk300(b *testing.B) { storetest.BenchBulk(b, open(b, b.TempDir())) }

// TestGroupCommitIsolation checks a transaction that fails inside a group
// commit is undone alone: the others of its batch commit, each once, and
// a function run again after a failure elsewhere writes the same.
func TestGroupCommitIsolation(t *testing.T) {
	s := open(t, t.TempDir())
	clk := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.Next() }
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("g%02d", i)
			errs[i] = s.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.Put(t.Context(), storetest.NewWrite("Patient", id, 1, at(), map[string]any{"i": i})); err != nil {
					return err
				}
				switch i % 5 {
				case 0:
					return fmt.Errorf("fails after writing %s", id)
				case 1:
					if i%10 == 1 {
						panic("a bug")
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("g%02d", i)
		bad := i%5 == 0 || i%10 == 1
		r, err := s.Read(t.Context(), "Patient", id)
		switch {
		case bad && errs[i] == nil:
			t.Errorf("%s: the failing transaction reported success", id)
		case bad && err == nil:
			t.Errorf("%s: the failing transaction's write is stored", id)
		case !bad && errs[i] != nil:
			t.Errorf("%s: %v", id, errs[i])
		case !bad && (err != nil || r.Version != 1):
			t.Errorf("%s: read %+v, %v", id, r, err)
		}
	}
}

// TestLogStaysBounded writes back to back for a while, as a bulk load does,
// and checks that the write-ahead log is started over instead of growing
// with everything written: PASSIVE checkpoints alone never let it restart
// while commits follow each other without a gap.
func TestLogStaysBounded(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	sqlite.SetWALLimit(s, 64) // 256 KiB
	clk := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.Next() }
	filler := strings.Repeat("x", 12<<10) // three pages per version
	const writers, each = 4, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%03d", w, i)
				err := s.Update(t.Context(), func(tx store.Tx) error {
					return tx.Put(t.Context(), storetest.NewWrite("Patient", id, 1, at(), map[string]any{"filler": filler}))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	// Without restarts the log holds every frame written (about 20 MiB:
	// each commit also rewrites the index pages it touches).
	if n := sqlite.LogRestarts(s); n == 0 || fi.Size() > 12<<20 {
		t.Errorf("write-ahead log is %d bytes after %d restarts; it should have been started over", fi.Size(), n)
	}
	for _, id := range []string{"w0-000", "w3-149"} {
		if _, err := s.Read(t.Context(), "Patient", id); err != nil {
			t.Errorf("read %s after log restarts: %v", id, err)
		}
	}
}
