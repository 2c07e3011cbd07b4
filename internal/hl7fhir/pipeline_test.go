package hl7fhir

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/rest/resttest"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
)

// feed is the glue a deployment puts between the MLLP server and the
// record service (it belongs with the wiring in cli, not in either
// package): map the message, write its Bundle in one transaction, and
// only then return, so that the ACK follows the commit.
type feed struct {
	mp  *Mapper
	svc *record.Service

	mu     sync.Mutex
	merges []Merge
}

func (f *feed) HandleHL7(ctx context.Context, m *hl7v2.Message) error {
	r, err := f.mp.Map(m)
	if err != nil {
		return err
	}
	if r.Merges != nil {
		f.mu.Lock()
		f.merges = append(f.merges, r.Merges...)
		f.mu.Unlock()
		return nil
	}
	if _, err := f.svc.Bundle(ctx, r.Bundle, ""); err != nil {
		switch fhir.KindOf(err) {
		case fhir.Invalid, fhir.Unprocessable, fhir.MultipleMatches, fhir.Conflict, fhir.PreconditionFail:
			// The content cannot be stored as it is: tell the sender
			// (the outcome's text names FHIR elements, not values).
			return &hl7v2.Error{Code: hl7v2.CodeDataType, Msg: "the message could not be stored", Err: err}
		}
		return err // AR 207: the sender tries again
	}
	return nil
}

// pipeline runs an MLLP server feeding a fresh embedded database and
// returns its address and the feed.
func pipeline(t testing.TB, opts Options) (string, *feed) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, svc := resttest.Handler(t, st)
	f := &feed{mp: New(opts), svc: svc}
	srv := &hl7v2.Server{Handler: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String(), f
}

// TestMLLPToFHIR sends messages over MLLP into the store and checks the
// ACKs: AA once stored, AE naming PID-3 for a bad NHS number, AR for a
// facility without an ODS code.
func TestMLLPToFHIR(t *testing.T) {
	addr, f := pipeline(t, Options{})
	c, err := hl7v2.Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 10 * time.Second
	for _, c2 := range goldenCases(t) {
		ack, err := c.Send(c2.msg)
		if err != nil {
			t.Fatalf("%s: %v", c2.name, err)
		}
		want := "CA" // the testdata ask for enhanced-mode commit ACKs (MSH-15 AL)
		switch {
		case c2.msg.AcceptAckType() == "":
			want = "AA"
			if c2.err != nil {
				want = hl7v2.AsError(c2.err).AckCode()
			}
		case c2.err != nil:
			want = map[string]string{"AE": "CE", "AR": "CR"}[hl7v2.AsError(c2.err).AckCode()]
		}
		if got := hl7v2.AckCodeOf(ack); got != want {
			t.Errorf("%s: ACK %s, want %s: %s", c2.name, got, want, ack)
		}
		if c2.name == "error-bad-nhs" && !strings.Contains(ack.Segment("ERR").Raw(), "PID^1^3^2^1|102") {
			t.Errorf("bad NHS number: ERR %q", ack.Segment("ERR").Raw())
		}
	}
	if len(f.merges) != 3 {
		t.Errorf("%d merges handed on", len(f.merges))
	}
}

// BenchmarkIngest measures the whole path: generated messages over MLLP
// on four connections, parsed, mapped and committed to SQLite, each
// acknowledged after its commit. It reports messages per second.
func BenchmarkIngest(b *testing.B) {
	_, people := synthPeople(b, 40)
	var msgs [][]byte
	for _, p := range people {
		for _, sm := range p.HL7 {
			msgs = append(msgs, sm.ER7)
		}
	}
	addr, _ := pipeline(b, synthOptions)
	const conns = 4
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := hl7v2.Dial(context.Background(), addr)
			if err != nil {
				failed.Store(err)
				return
			}
			defer c.Close()
			for {
				n := next.Add(1) - 1
				if n >= int64(b.N) {
					return
				}
				// Each connection sends its own people's messages in
				// order, as a sender would.
				reply, err := c.SendRaw(msgs[int(n)%len(msgs)])
				if err != nil {
					failed.Store(err)
					return
				}
				if !strings.Contains(string(reply), "MSA|CA|") {
					failed.Store(errors.New(string(reply)))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
