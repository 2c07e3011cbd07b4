package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements by their SQL text. The search SQL is
// generated per request but repeats for each shape of query (values are
// placeholders), and SQLite's parser and planner took about a third of a
// search's CPU when every request prepared its statements anew.
//
// A statement is closed when it falls out of the cache and no caller still
// holds it; database/sql itself keeps it alive under rows still open.
type stmtCache struct {
	db  preparer
	max int

	mu sync.Mutex
	m  map[string]*list.Element // of *cachedStmt
	ll list.List                // most recently used first
}

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

type cachedStmt struct {
	query   string
	st      *sql.Stmt
	refs    int  // callers between get and release
	evicted bool // out of the cache: closed once refs is 0
}

// stmtCacheSize bounds each cache: a few hundred shapes cover the search
// mix many times over, and each entry holds a prepared statement on every
// connection that ran it.
const stmtCacheSize = 512

func newStmtCache(db preparer, max int) *stmtCache {
	return &stmtCache{db: db, max: max, m: make(map[string]*list.Element)}
}

// get returns the prepared statement for query and a function to call once
// the statement has been run (its rows may stay open after that).
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, func(), error) {
	c.mu.Lock()
	if e, ok := c.m[query]; ok {
		cs := e.Value.(*cachedStmt)
		cs.refs++
		c.ll.MoveToFront(e)
		c.mu.Unlock()
		return cs.st, func() { c.release(cs) }, nil
	}
	c.mu.Unlock()
	// Prepared outside the lock: two callers may prepare the same text at
	// once, and the loser's statement is closed after its one use.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{query: query, st: st, refs: 1}
	c.mu.Lock()
	if _, ok := c.m[query]; ok {
		cs.evicted = true
		c.mu.Unlock()
		return st, func() { c.release(cs) }, nil
	}
	c.m[query] = c.ll.PushFront(cs)
	var closing []*sql.Stmt
	for c.ll.Len() > c.max {
		old := c.ll.Back().Value.(*cachedStmt)
		c.ll.Remove(c.ll.Back())
		delete(c.m, old.query)
		old.evicted = true
		if old.refs == 0 {
			closing = append(closing, old.st)
		}
	}
	c.mu.Unlock()
	for _, st := range closing {
		st.Close()
	}
	return st, func() { c.release(cs) }, nil
}

func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.refs--
	done := cs.evicted && cs.refs == 0
	c.mu.Unlock()
	if done {
		cs.st.Close()
	}
}

// close closes every cached statement; nothing may use the cache after.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.ll.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).st.Close()
	}
	c.m = map[string]*list.Element{}
	c.ll.Init()
}

// query runs query through the cache.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, release, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return st.QueryContext(ctx, args...)
}

// queryRow runs query through the cache for one row.
func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, release, err := c.get(ctx, query)
	if err != nil {
		// database/sql offers no Row holding an error, so the query runs
		// unprepared and reports the same error itself.
		return c.db.QueryRowContext(ctx, query, args...)
	}
	defer release()
	return st.QueryRowContext(ctx, args...)
}
