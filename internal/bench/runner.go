package bench

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// maxErrors ends a workload early: past this many failures the result is
// a failure whatever follows, and a server answering 500s to every request
// would otherwise be hammered for the whole duration.
const maxErrors = 100

// runner drives one workload: its workers, their measurements, and the
// bounds of the run.
type runner struct {
	c       *Client
	o       Options
	workers []*worker
	errors  atomic.Int64
	stop    context.CancelFunc // ends the run when errors pass maxErrors
}

// worker is one virtual user: it has at most one request in flight and
// keeps what it measured, merged when the run ends. A workload keeps its
// per-user state in state.
type worker struct {
	r      *runner
	id     int
	rng    *rand.Rand
	timing bool // measured phase: latencies are recorded
	ops    map[string]*opStats
	state  any
}

// opStats is what one worker measured of one kind of request.
type opStats struct {
	lat    []time.Duration // measured phase only
	errors map[string]int64
	first  string // the first failure, for the report
	// Resources counts resources accepted (ingest).
	resources int64
}

func newRunner(c *Client, o Options) *runner {
	o = o.withDefaults()
	r := &runner{c: c, o: o}
	for i := range o.Concurrency {
		r.workers = append(r.workers, &worker{
			r:   r,
			id:  i,
			rng: rand.New(rand.NewPCG(o.Seed, uint64(i))),
			ops: map[string]*opStats{},
		})
	}
	return r
}

// stepFunc is one iteration of a workload on one worker.
type stepFunc func(ctx context.Context, w *worker)

// run runs step on every worker, first for the warm-up, untimed, then for
// the measured phase, and returns the measured phase's wall time. size is
// the number of requests one step sends, for the count bound.
func (r *runner) run(ctx context.Context, size int, step stepFunc) time.Duration {
	ctx, r.stop = context.WithCancel(ctx)
	defer r.stop()
	defer r.c.cancelWith(ctx)()
	if r.o.Warmup > 0 {
		r.phase(ctx, false, time.Now().Add(r.o.Warmup), 0, step)
	}
	start := time.Now()
	var deadline time.Time
	if r.o.Duration > 0 {
		deadline = start.Add(r.o.Duration)
	}
	steps := int64(0)
	if r.o.Requests > 0 {
		steps = int64((r.o.Requests + size - 1) / max(size, 1))
	}
	r.phase(ctx, true, deadline, steps, step)
	return time.Since(start)
}

// phase runs step on every worker until the deadline (if any) passes or
// steps steps (if any) have started. A request in flight at the deadline
// completes and counts: the wall time includes it.
func (r *runner) phase(ctx context.Context, timing bool, deadline time.Time, steps int64, step stepFunc) {
	var started atomic.Int64
	var wg sync.WaitGroup
	for _, w := range r.workers {
		w.timing = timing
		wg.Go(func() {
			for ctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				if steps > 0 && started.Add(1) > steps {
					return
				}
				step(ctx, w)
			}
		})
	}
	wg.Wait()
}

func (w *worker) op(name string) *opStats {
	s := w.ops[name]
	if s == nil {
		s = &opStats{errors: map[string]int64{}}
		w.ops[name] = s
	}
	return s
}

// fail counts a failure of op under key (a status code, "transport", …).
func (w *worker) fail(op, key, detail string) {
	s := w.op(op)
	s.errors[key]++
	if s.first == "" {
		s.first = detail
	}
	if w.r.errors.Add(1) >= maxErrors && w.r.stop != nil {
		w.r.stop()
	}
}

// reply is what a workload sees of a response.
type reply struct {
	status   int
	location string // the Location header
	body     []byte // only when asked for
	ok       bool   // the status was one wanted
}

// errBodyLimit bounds what is kept of a failed response's body.
const errBodyLimit = 4 << 10

// do sends one request, timed under op, and reads the response to its
// end (keeping the body only if keep): the latency is from sending to the
// last byte, what a client waits for. A status not in want is a failure.
// A request cut short because the run is ending is neither timed nor a
// failure.
func (w *worker) do(ctx context.Context, op, method, rel string, body []byte, keep bool, want ...int) reply {
	c := w.r.c
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	c.newRequest(req, method, rel, body)
	start := time.Now()
	err := c.fast.DoDeadline(req, resp, start.Add(requestTimeout))
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return reply{} // the run ended while it was in flight
	}
	if err != nil {
		w.fail(op, "transport", method+" "+c.url(rel)+": "+err.Error())
		return reply{}
	}
	rp := reply{status: resp.StatusCode(), location: string(resp.Header.Peek("Location"))}
	rp.ok = slices.Contains(want, rp.status)
	switch b := resp.Body(); {
	case !rp.ok:
		rp.body = bytes.Clone(b[:min(len(b), errBodyLimit)])
	case keep:
		rp.body = bytes.Clone(b)
	}
	if w.timing {
		s := w.op(op)
		s.lat = append(s.lat, elapsed)
	}
	if !rp.ok {
		w.fail(op, strconv.Itoa(rp.status), httpError(method, c.url(rel), rp.status, rp.body))
	}
	return rp
}

// result merges what every worker measured of the ops named (all when
// none are) into one Result.
func (r *runner) result(name string, elapsed time.Duration, ops ...string) Result {
	res := Result{Workload: name, Concurrency: r.o.Concurrency, Seconds: round(elapsed.Seconds(), 6)}
	var lat []time.Duration
	for _, w := range r.workers {
		for op, s := range w.ops {
			if len(ops) > 0 && !slices.Contains(ops, op) {
				continue
			}
			lat = append(lat, s.lat...)
			res.Resources += s.resources
			for k, n := range s.errors {
				if res.ErrorsByStatus == nil {
					res.ErrorsByStatus = map[string]int64{}
				}
				res.ErrorsByStatus[k] += n
				res.Errors += n
			}
			if res.FirstError == "" {
				res.FirstError = s.first
			}
		}
	}
	res.Requests = int64(len(lat))
	res.setLatencies(lat, elapsed)
	return res
}

// setLatencies fills the rates and percentiles from every request's
// latency and the wall time.
func (res *Result) setLatencies(lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	if s := elapsed.Seconds(); s > 0 {
		res.RequestsPerSecond = round(float64(len(lat))/s, 1)
		if res.Resources > 0 {
			res.ResourcesPerSecond = round(float64(res.Resources)/s, 1)
		}
	}
	res.P50 = ms(percentile(lat, 50))
	res.P95 = ms(percentile(lat, 95))
	res.P99 = ms(percentile(lat, 99))
	if len(lat) > 0 {
		res.Max = ms(lat[len(lat)-1])
	}
}

// percentile is the nearest-rank p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
