// Package notify tells organisations what happened to the people they care
// for, as the feeds arrive: an admission, a transfer, a discharge, a new
// result. Each alert is a FHIR Communication written through the record
// service, addressed to one organisation (meta.tag access.SysAddressedTo
// with its ODS code), which its professionals read in their inbox
// (Communication?_tag=…addressed-to|<ODS>; the rule is the record's guard).
//
// Who is told is decided by the access policy, as for any request: the
// organisations the person is registered with or cared for by, other than
// the sender, whose professionals may open the person's record and see
// the item (not sealed; not under the person's dissent from sharing).
//
// The notifier hears of every committed version through the record's
// commit hooks, whatever the feed, and only queues it there; one worker
// writes the alerts. Each alert carries an identifier naming its event and
// recipient and is written with If-None-Exist, so a re-sent message, a
// retry or the catch-up at start never alerts twice. A publisher (NATS
// JetStream, later) can sit beside the write in deliver.
package notify

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Code systems of the alerts.
const (
	// SysAlertKind codes an alert's category: KindAdmission and the rest.
	SysAlertKind = "https://sharedcare.example/CodeSystem/alert-kind"
	// SysAlertID identifies an alert: its event and its recipient, which
	// makes writing it idempotent.
	SysAlertID = "https://sharedcare.example/Id/alert"
	// Source is the meta.source of every alert: the platform wrote it.
	Source = "https://sharedcare.example/notify"
)

// The kinds of alert (codes in SysAlertKind).
const (
	KindAdmission = "admission" // admitted, or arrived at A&E
	KindTransfer  = "transfer"  // moved ward while admitted
	KindDischarge = "discharge" // discharged, or left A&E
	KindCancelled = "cancelled" // an alerted admission cancelled or entered in error
	KindResult    = "result"    // a final, amended or corrected report
)

// Options tune a Notifier; the zero value gives the defaults.
type Options struct {
	// Window is how recent an event's clinical time must be to alert
	// (default 48h): loads of history do not flood inboxes.
	Window time.Duration
	// Queue bounds the events waiting for the worker (default 4096); when
	// full, events are dropped with a warning and counted (Dropped), and
	// only the catch-up at the next start finds them again.
	Queue int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives warnings and failures (default slog.Default()).
	Log *slog.Logger
}

// Notifier writes alerts to organisations from what the record commits.
type Notifier struct {
	svc  *record.Service
	opts Options

	queue chan store.Resource
	done  chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond
	pending int // events queued or being handled (and the catch-up)
	started bool
	closed  bool

	sent, dropped, failed atomic.Int64
}

// New returns a Notifier over svc; Start sets it going.
func New(svc *record.Service, opts Options) *Notifier {
	if opts.Window <= 0 {
		opts.Window = 48 * time.Hour
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	n := &Notifier{svc: svc, opts: opts, queue: make(chan store.Resource, opts.Queue), done: make(chan struct{})}
	n.cond = sync.NewCond(&n.mu)
	return n
}

// principal is the notifier's identity when it reads and writes.
var principal = access.SystemPrincipal("sharedcare-notify", "")

// Start registers the commit hook and starts the worker, which first
// catches up: the Encounters and DiagnosticReports updated within the
// window are looked at again (a crash can fall between a commit and its
// hook; alerts already written are not written twice). ctx bounds the
// catch-up and carries values for the worker; Close stops the worker.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.started || n.closed {
		n.mu.Unlock()
		return nil
	}
	n.started = true
	n.pending++ // the catch-up
	n.mu.Unlock()
	n.svc.OnCommit(n.heard)
	wctx := access.WithPrincipal(context.WithoutCancel(ctx), principal)
	go n.work(ctx, wctx)
	return nil
}

// Close stops taking events, lets the worker finish those queued, and
// returns when it has: call it before the store closes.
func (n *Notifier) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	started := n.started
	close(n.queue)
	n.mu.Unlock()
	if started {
		<-n.done
	}
}

// Flush waits until every event heard so far (and the catch-up) has been
// handled: for tests, and for a shutdown that wants the alerts out.
func (n *Notifier) Flush() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for n.pending > 0 {
		n.cond.Wait()
	}
}

// Sent is how many alerts were written; Dropped how many events were
// lost to a full queue; Failed how many events could not be handled.
func (n *Notifier) Sent() int64    { return n.sent.Load() }
func (n *Notifier) Dropped() int64 { return n.dropped.Load() }
func (n *Notifier) Failed() int64  { return n.failed.Load() }

// heard is the commit hook: it only queues what may alert.
func (n *Notifier) heard(ctx context.Context, written []store.Resource) {
	for _, r := range written {
		if r.Deleted || len(r.Body) == 0 || (r.Type != "Encounter" && r.Type != "DiagnosticReport") {
			continue
		}
		r.Body = slices.Clone(r.Body)
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		select {
		case n.queue <- r:
			n.pending++
			n.mu.Unlock()
		default:
			n.mu.Unlock()
			n.dropped.Add(1)
			n.opts.Log.WarnContext(ctx, "notify: queue full, event not alerted (found again by the catch-up at the next start)",
				slog.String("resource", r.Type+"/"+r.ID), slog.Int64("dropped", n.dropped.Load()))
		}
	}
}

func (n *Notifier) finished() {
	n.mu.Lock()
	n.pending--
	if n.pending == 0 {
		n.cond.Broadcast()
	}
	n.mu.Unlock()
}

func (n *Notifier) work(startCtx, ctx context.Context) {
	defer close(n.done)
	n.catchUp(startCtx, ctx)
	n.finished()
	for r := range n.queue {
		n.handle(ctx, r)
		n.finished()
	}
}

func (n *Notifier) handle(ctx context.Context, r store.Resource) {
	if err := n.event(ctx, r); err != nil {
		n.failed.Add(1)
		n.opts.Log.ErrorContext(ctx, "notify: alert not written", slog.String("resource", r.Type+"/"+r.ID), slog.Any("err", err))
	}
}
