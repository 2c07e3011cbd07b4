package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

// TestReindexPutWaitingOnLock is the race the delete and re-insert of the
// resource row exists for: a Put whose statement starts while a rebuild
// batch holds the resource's lock. Its snapshot predates the batch's rows,
// so unless the Put is refused and run again it leaves them next to its
// own. The hook holds the batch at the point where it has the lock until
// the Put is seen waiting for it.
func TestReindexPutWaitingOnLock(t *testing.T) {
	s := OpenTest(t)
	ctx := context.Background()
	clk := storetest.NewClock(storetest.Time0)
	storetest.MustPut(t, s, storetest.NewWrite("Observation", "o1", 1, clk.Next(), nil, storetest.Tok("code", "put", "1")))
	st, err := storetest.SwapIndexState(ctx, s, store.IndexState{Type: "Observation", Target: "g"})
	if err != nil {
		t.Fatal(err)
	}
	putDone := make(chan error, 1)
	// The Put reads before the batch locks (so it builds on version 1),
	// and sends its statement while the batch holds the lock.
	read := make(chan struct{})
	send := make(chan struct{})
	go func() {
		putDone <- s.Update(ctx, func(tx store.Tx) error {
			cur, err := tx.Read(ctx, "Observation", "o1")
			if err != nil {
				return err
			}
			select {
			case <-read:
			default:
				close(read)
				<-send
			}
			v := cur.Version + 1
			w := storetest.NewWrite("Observation", "o1", v, clk.Next(), nil, storetest.Tok("code", "put", strconv.FormatInt(v, 10)))
			if err := tx.Put(ctx, w); err != nil {
				return err
			}
			// Queued Puts are sent at commit; Read sends it now, so the
			// statement is under way while the hook still holds the lock.
			_, err = tx.Read(ctx, "Observation", "o1")
			return err
		})
	}()
	<-read
	testHookLocked = func(tx pgx.Tx) {
		close(send)
		waitForLockWaiter(t, s, tx)
	}
	defer func() { testHookLocked = nil }()
	rows := store.Index{Tokens: []store.Token{storetest.Tok("code", "rebuilt", "1")}}
	n, _, err := s.Reindex(ctx, []store.Write{{Resource: store.Resource{Type: "Observation", ID: "o1", Version: 1}, Index: rows}}, st)
	testHookLocked = nil
	if err != nil || n != 1 {
		t.Fatalf("reindex: %d, %v", n, err)
	}
	if err := <-putDone; err != nil {
		t.Fatal(err)
	}
	if s.retries.Load() == 0 {
		t.Error("the Put that waited on the rebuild was not run again")
	}
	ix, err := s.IndexOf(ctx, "Observation", "o1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Tokens) != 1 || ix.Tokens[0] != storetest.Tok("code", "put", "2") {
		t.Errorf("rows after the Put that waited on the rebuild: %+v, want only the Put's", ix.Tokens)
	}
}

// waitForLockWaiter waits until another transaction waits for one of tx's
// locks.
func waitForLockWaiter(t *testing.T, s *Store, tx pgx.Tx) {
	t.Helper()
	ctx := context.Background()
	var xid string
	if err := tx.QueryRow(ctx, "SELECT txid_current()::text").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted", xid).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the Put never waited for the rebuild's lock")
}
