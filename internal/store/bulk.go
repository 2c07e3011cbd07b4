package store

import (
	"context"
	"time"
)

// Current is what a write needs to know of a resource's current version:
// its number, when it was written and whether it is a deletion.
type Current struct {
	Version     int64
	LastUpdated time.Time
	Deleted     bool
}

// BulkPutter is implemented by a store's Tx that can write many new
// resources faster than one Put each: the path bulk import takes
// (multi-row INSERTs on SQLite, COPY on PostgreSQL). Callers check for it
// with a type assertion and fall back to Put.
type BulkPutter interface {
	// Versions returns the current version of each of keys that exists
	// (deletions included), as Read would see it inside this transaction,
	// without reading bodies. Keys that do not exist are absent.
	Versions(ctx context.Context, keys []Key) (map[Key]Current, error)
	// PutMany stores new resources with their index rows, as Put would:
	// every Write's Version must be 1, no resource of its key may exist,
	// and no key may appear twice. Otherwise it returns ErrConflict, and
	// the transaction must not be committed (the caller's fn returns the
	// error): unlike Put, a refused PutMany may have written some of ws.
	PutMany(ctx context.Context, ws []Write) error
}
