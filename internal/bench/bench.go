// Package bench is a load generator for any FHIR R4 server: it speaks to a
// base URL over HTTP and nothing else, so the same workloads measure
// sharedcare and a peer server side by side, on the same machine, with the
// same client.
//
// The workloads are
//
//   - Ingest: transaction (or batch) Bundles from a Source, posted to the
//     base; resources per second.
//   - Read: reads by id of resources sampled through the API.
//   - Search: the fixed search mix of the search issue (SearchMix), its
//     data-dependent values found first by Discover; p50/p99 per query.
//   - Everything: Patient/{id}/$everything for a sample of patients.
//   - CRUD: every user creates, reads, updates and deletes its own linked
//     resources, in the shape of the public FHIR server performance
//     benchmark (see crud.go).
//
// Every workload runs on one runner: a fixed number of concurrent workers,
// an optional warm-up whose requests are not timed, then a measured phase
// bounded by a duration and/or a request count. Every request's latency is
// kept, so percentiles are exact. A response with a status the workload
// does not expect is an error, counted by status; any error fails the run,
// because a benchmark that times 404s measures nothing.
//
// This package must not import the server's packages (outside tests): it
// measures whatever answers at the URL.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Client is an HTTP client of one FHIR base URL, tuned for load: every
// request reuses a kept-alive connection, one per worker, instead of
// dialling.
//
// Requests go through fasthttp, which writes a request and reads its
// response on the caller's goroutine. net/http's Transport hands each one
// to two goroutines of its connection; on a 2-core machine shared with the
// server, those wake-ups and allocations cost the client about 80 µs of
// CPU per read, more than half what the server spends answering it
// (docs/PERFORMANCE.md).
type Client struct {
	// Base is the FHIR base URL, without a trailing slash.
	Base string
	// Token, if set, is sent as "Authorization: Bearer <Token>".
	Token string
	fast  *fasthttp.Client

	// The connections fasthttp has open, so that a run that ends early
	// (interrupted, or too many errors) can cut its requests short:
	// fasthttp takes no context.
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	aborted atomic.Bool // until the next run starts
}

// requestTimeout bounds one request: generous enough for a large
// transaction Bundle on a loaded machine; a stuck server still ends the
// run.
const requestTimeout = 5 * time.Minute

// NewClient returns a Client of base for up to concurrency requests at a
// time.
func NewClient(base, token string, concurrency int) *Client {
	concurrency = max(concurrency, 1)
	c := &Client{
		Base:  strings.TrimRight(base, "/"),
		Token: token,
		conns: map[net.Conn]struct{}{},
	}
	c.fast = &fasthttp.Client{
		Name:            "sharedcare-bench",
		MaxConnsPerHost: concurrency + 16,
		// The URL goes out as the workload wrote it: a search's
		// escapes are part of what is measured.
		DisablePathNormalizing: true,
		MaxIdleConnDuration:    90 * time.Second,
		ReadTimeout:            requestTimeout,
		WriteTimeout:           requestTimeout,
		Dial:                   c.dial,
		// Idempotent requests are retried on a new connection when a
		// kept-alive one fails, as fasthttp does by default, but not the
		// ones abort cut short.
		RetryIfErr: func(req *fasthttp.Request, _ int, _ error) (bool, bool) {
			return false, !c.aborted.Load() && (req.Header.IsGet() || req.Header.IsHead() || req.Header.IsPut())
		},
	}
	return c
}

// dial opens a connection and keeps it in c.conns until it is closed.
func (c *Client) dial(addr string) (net.Conn, error) {
	conn, err := fasthttp.Dial(addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: conn, c: c}
	c.mu.Lock()
	c.conns[tc] = struct{}{}
	c.mu.Unlock()
	return tc, nil
}

// cancelWith makes the end of ctx abort the requests in flight, until
// the returned function is called.
func (c *Client) cancelWith(ctx context.Context) (stop func() bool) {
	c.aborted.Store(false)
	return context.AfterFunc(ctx, c.abort)
}

// abort closes every open connection: the requests in flight on them
// fail at once, and the workers see that their run has ended.
func (c *Client) abort() {
	c.aborted.Store(true)
	c.mu.Lock()
	conns := make([]net.Conn, 0, len(c.conns))
	for conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	c    *Client
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.c.mu.Lock()
		delete(t.c.conns, t)
		t.c.mu.Unlock()
	})
	return t.Conn.Close()
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.fast.CloseIdleConnections() }

// url is rel resolved against the base; absolute URLs (next links) are
// used as they are.
func (c *Client) url(rel string) string {
	if strings.HasPrefix(rel, "http://") || strings.HasPrefix(rel, "https://") {
		return rel
	}
	return c.Base + "/" + strings.TrimPrefix(rel, "/")
}

// newRequest fills req with what every request sends.
func (c *Client) newRequest(req *fasthttp.Request, method, rel string, body []byte) {
	req.SetRequestURI(c.url(rel))
	req.Header.SetMethod(method)
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.SetContentType("application/fhir+json")
		req.SetBodyRaw(body)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// Options bound one workload's run.
type Options struct {
	// Concurrency is the number of workers (virtual users), each with at
	// most one request in flight. Zero means DefaultConcurrency().
	Concurrency int
	// Duration bounds the measured phase; zero means no time bound.
	Duration time.Duration
	// Requests bounds the measured phase by requests sent; zero means no
	// count bound. A workload whose step sends several requests (CRUD)
	// may exceed it by less than one step per worker.
	Requests int
	// Warmup runs the workload, untimed, for this long before the
	// measured phase: connections are opened, caches warmed.
	Warmup time.Duration
	// Seed makes the random choices (which id to read) repeatable.
	Seed uint64
}

// DefaultConcurrency is twice GOMAXPROCS: enough requests in flight to
// keep a server on the same machine busy while others wait on I/O.
func DefaultConcurrency() int { return 2 * runtime.GOMAXPROCS(0) }

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency()
	}
	return o
}

func (o Options) check() error {
	if o.Duration <= 0 && o.Requests <= 0 {
		return errors.New("bench: a workload needs a duration or a request count")
	}
	return nil
}

// ErrFailed is returned (wrapped) by Report.Err when any request failed.
var ErrFailed = errors.New("requests failed")

// httpError describes a failed request for Result.FirstError.
func httpError(method, url string, status int, body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return fmt.Sprintf("%s %s: %d %s", method, url, status, s)
}
