package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ingest posts every Bundle of src to the base, o.Concurrency at a time,
// and reports resources per second: the entries the server accepted over
// the wall time of the whole load, waits between phases included. Each
// Bundle is sent once, as it is, so there is no warm-up, and the duration
// does not bound the load (the workloads after it need the whole data
// set); o.Requests, if set, bounds the number of Bundles sent.
//
// A Bundle is accepted when the server answers 200 (transaction-response
// or batch-response); a batch entry that failed is an error of its own
// ("entry <status>"), and its resource is not counted. When a phase had
// failures the load stops after it, since what follows depends on it.
// The error returned is the Source's (unreadable input); request
// failures are in the Result.
func Ingest(ctx context.Context, c *Client, src Source, o Options) (Result, error) {
	o = o.withDefaults()
	r := newRunner(c, o)
	ctx, r.stop = context.WithCancel(ctx)
	defer r.stop()
	defer c.cancelWith(ctx)()

	jobs := make(chan Bundle, o.Concurrency)
	var inPhase sync.WaitGroup // the Bundles of the current phase not yet answered
	var workers sync.WaitGroup
	for _, w := range r.workers {
		w.timing = true
		workers.Go(func() {
			for b := range jobs {
				if ctx.Err() == nil {
					w.postBundle(ctx, b)
				}
				inPhase.Done()
			}
		})
	}

	start := time.Now()
	var srcErr error
	phase, sent := 0, 0
	for ctx.Err() == nil && (o.Requests <= 0 || sent < o.Requests) {
		b, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			srcErr = err
			break
		}
		if b.Phase < phase {
			srcErr = fmt.Errorf("bench: %s: phase %d after phase %d", b.Name, b.Phase, phase)
			break
		}
		if b.Phase > phase {
			inPhase.Wait()
			if r.errors.Load() > 0 {
				break // what follows depends on what failed
			}
			phase = b.Phase
		}
		inPhase.Add(1)
		select {
		case jobs <- b:
			sent++
		case <-ctx.Done():
			inPhase.Done()
		}
	}
	close(jobs)
	workers.Wait()
	res := r.result("ingest", time.Since(start))
	if srcErr != nil && ctx.Err() == nil {
		srcErr = fmt.Errorf("bench: ingest: %w", srcErr)
	}
	return res, srcErr
}

// bundleResponse is what ingest reads of a batch- or
// transaction-response.
type bundleResponse struct {
	Entry []struct {
		Response struct {
			Status string `json:"status"`
		} `json:"response"`
	} `json:"entry"`
}

// postBundle posts one Bundle and counts its resources if accepted.
func (w *worker) postBundle(ctx context.Context, b Bundle) {
	rp := w.do(ctx, "ingest", http.MethodPost, "", b.JSON, true, http.StatusOK)
	if !rp.ok {
		return
	}
	var resp bundleResponse
	if err := json.Unmarshal(rp.body, &resp); err != nil {
		w.fail("ingest", "response", fmt.Sprintf("POST %s (%s): the response is not a Bundle: %v", w.r.c.Base, b.Name, err))
		return
	}
	failed := 0
	for i, e := range resp.Entry {
		code, _, _ := strings.Cut(strings.TrimSpace(e.Response.Status), " ")
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
			continue
		}
		failed++
		w.fail("ingest", "entry "+code, fmt.Sprintf("POST %s (%s): entry %d: %q", w.r.c.Base, b.Name, i, e.Response.Status))
	}
	w.op("ingest").resources += int64(max(b.Resources-failed, 0))
}
