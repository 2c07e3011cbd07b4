package record

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/store"
)

// FuzzSearchCursor feeds arbitrary _page tokens to the cursor decoder:
// whatever a client sends must be refused cleanly or round-trip.
func FuzzSearchCursor(f *testing.F) {
	f.Add(encodeSearchCursor(store.SearchHit{Resource: store.Resource{Type: "Observation", ID: "abc"}, Keys: []any{int64(5), 1.5, "x", nil}}, false), 4)
	f.Add(encodeSearchCursor(store.SearchHit{Resource: store.Resource{Type: "Patient", ID: "p1"}}, true), 0)
	f.Add("bogus", 1)
	f.Fuzz(func(t *testing.T, tok string, n int) {
		if n < 0 || n > 8 {
			return
		}
		c, back, err := decodeSearchCursor(tok, n)
		if err != nil {
			return
		}
		if len(c.Keys) != n || !ValidID(c.ID) {
			t.Fatalf("accepted %q as %+v", tok, c)
		}
		again := encodeSearchCursor(store.SearchHit{Resource: store.Resource{Type: c.Type, ID: c.ID}, Keys: c.Keys}, back)
		c2, back2, err := decodeSearchCursor(again, n)
		if err != nil || back2 != back || c2.ID != c.ID || c2.Type != c.Type {
			t.Fatalf("no round trip: %q -> %q: %v", tok, again, err)
		}
	})
}
