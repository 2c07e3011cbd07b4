package record

import (
	"context"
	"sync"

	"github.com/sharedcare/sharedcare/internal/store"
)

// CommitHook is told of every resource version a write committed, in
// the order written, before the write returns to its caller. Services
// that keep derived state in step with the record (the person index,
// later notifications) listen here, so every feed reaches them: REST,
// Bundles, HL7 v2 and bulk loads all write through this package. The
// write is already durable when a hook runs; a hook handles its own
// failures (and must be able to catch up at start, since a crash can fall
// between the commit and the hook).
type CommitHook func(ctx context.Context, written []store.Resource)

type hooks struct {
	mu   sync.RWMutex
	list []CommitHook
}

// OnCommit adds h to the hooks run after every committed write.
func (s *Service) OnCommit(h CommitHook) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.list = append(s.hooks.list, h)
}

// committed runs the hooks on what a write stored.
func (s *Service) committed(ctx context.Context, written []store.Resource) {
	if len(written) == 0 {
		return
	}
	s.hooks.mu.RLock()
	list := s.hooks.list
	s.hooks.mu.RUnlock()
	for _, h := range list {
		h(ctx, written)
	}
}

// writtenBy lists the versions entries stored (none for reads, conditional
// creates that matched and deletes of nothing).
func writtenBy(entries []*entry) []store.Resource {
	var out []store.Resource
	for _, e := range entries {
		if e == nil || e.method == "GET" || e.method == "HEAD" || e.result.Unchanged || e.result.Resource == nil {
			continue
		}
		out = append(out, *e.result.Resource)
	}
	return out
}
