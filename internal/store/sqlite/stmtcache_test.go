package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openCacheDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	db := openCacheDB(t)
	c := newStmtCache(db, 2)
	q := func(i int) string { return fmt.Sprintf("SELECT v + %d FROM n ORDER BY v", i) }

	// The same text is prepared once.
	a, ra, err := c.get(ctx, q(0))
	if err != nil {
		t.Fatal(err)
	}
	b, rb, _ := c.get(ctx, q(0))
	if a != b {
		t.Fatal("the same SQL text was prepared twice")
	}
	rb()

	// Rows opened before their statement falls out of the cache still read
	// to the end, and a statement still held is not closed under its holder.
	rows, err := a.QueryContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ { // evicts q(0), which is still held
		_, r, err := c.get(ctx, q(i))
		if err != nil {
			t.Fatal(err)
		}
		r()
	}
	if _, ok := c.m[q(0)]; ok || c.ll.Len() != 2 {
		t.Fatalf("cache holds %d statements, q(0) present %v; want 2 without it", c.ll.Len(), ok)
	}
	var got []int
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got = append(got, v)
	}
	rows.Close()
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("rows across eviction: %v", got)
	}
	var v int
	if err := a.QueryRowContext(ctx).Scan(&v); err != nil || v != 1 {
		t.Fatalf("a held statement was closed on eviction: %v %d", err, v)
	}
	ra()
	if err := a.QueryRowContext(ctx).Scan(&v); err == nil {
		t.Fatal("an evicted statement stayed open after its last holder let go")
	}

	// Errors are reported, not cached.
	if _, err := c.query(ctx, "SELECT nope FROM n"); err == nil {
		t.Fatal("bad SQL: no error")
	}
	if err := c.queryRow(ctx, "SELECT nope FROM n").Scan(&v); err == nil {
		t.Fatal("bad SQL through queryRow: no error")
	}
	if _, ok := c.m["SELECT nope FROM n"]; ok {
		t.Fatal("a statement that failed to prepare was cached")
	}
}

// Many goroutines over few cache slots: every query answers right and no
// statement is used after it was closed.
func TestStmtCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	db := openCacheDB(t)
	c := newStmtCache(db, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % 7
				var sum int
				if err := c.queryRow(ctx, fmt.Sprintf("SELECT sum(v) + %d FROM n", k)).Scan(&sum); err != nil {
					errs <- err
					return
				}
				if sum != 6+k {
					errs <- fmt.Errorf("query %d: got %d", k, sum)
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
	c.close()
}
