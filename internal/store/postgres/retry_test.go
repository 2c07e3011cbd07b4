package postgres

import (
	"errors"
	"sync"
	"testing"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

// TestRacesAreRetried checks that read-then-put transactions that lose a
// race are run again rather than failing: the store behaves as if they had
// been serialised, as on SQLite.
func TestRacesAreRetried(t *testing.T) {
	s := OpenTest(t)
	clk := storetest.NewClock(storetest.Time0)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				err := s.Update(t.Context(), func(tx store.Tx) error {
					var next int64 = 1
					r, err := tx.Read(t.Context(), "Basic", "x")
					if err == nil {
						next = r.Version + 1
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					return tx.Put(t.Context(), storetest.NewWrite("Basic", "x", next, clk.Next(), nil))
				})
				if err != nil && !errors.Is(err, store.ErrConflict) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	r, err := s.Read(t.Context(), "Basic", "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("final version %d, %d retries", r.Version, s.retries.Load())
	if s.retries.Load() == 0 {
		t.Error("no transaction was retried: the race was not exercised")
	}
	if r.Version != writers*each {
		t.Errorf("final version %d, want %d (some writes gave up after %d attempts)", r.Version, writers*each, maxAttempts)
	}
}
