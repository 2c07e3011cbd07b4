package hl7v2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Handler processes one message. It must commit what it keeps durably
// before returning nil: the server acknowledges the message (AA or CA) as
// soon as it returns, and the sender then forgets it. An error is sent
// back as AE or AR with an ERR segment: return an *Error to choose the
// code and name the place (Errorf(CodeDataType, "PID-3", "...")); any
// other error is answered AR with code 207 (so that the sender tries
// again later) and logged, not sent.
type Handler interface {
	HandleHL7(ctx context.Context, m *Message) error
}

// Submitter is a Handler that can take a message without waiting for it
// to be stored: SubmitHL7 starts the work and returns at once (with the
// store's write submitted, in order), and wait, which the server always
// calls, blocks until it is durable. With a Submitter, the messages a
// sender has already sent on a connection, without waiting for their
// ACKs, are taken together and share a commit; their ACKs still go back
// in order, each only after its message is stored.
type Submitter interface {
	Handler
	SubmitHL7(ctx context.Context, m *Message) (wait func() error)
}

// A Sequencer is a Submitter some of whose messages must be finished
// before the next message on their connection is submitted: a message
// whose handling, when waited for, reads what the messages before it wrote
// (a merge looks both Patients up) would otherwise also see what the
// messages after it, submitted with it, wrote.
type Sequencer interface {
	Sequential(m *Message) bool
}

// maxPipeline bounds the messages of one connection taken together.
const maxPipeline = 64

// HandlerFunc lets a function be a Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// HandleHL7 calls f.
func (f HandlerFunc) HandleHL7(ctx context.Context, m *Message) error { return f(ctx, m) }

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("hl7v2: server closed")

// Defaults of the Server's timeouts.
const (
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultReadTimeout  = time.Minute
	DefaultWriteTimeout = 30 * time.Second
)

// Server receives HL7 v2 messages over MLLP. Each connection is served by
// one goroutine that reads a message, passes it to the Handler, and only
// after the Handler has returned writes the acknowledgement and reads the
// next: messages of a connection are processed strictly in the order
// sent, and a message is acknowledged only once it is committed.
//
// A message that cannot be parsed is answered as well as it can be (AR
// when even the MSH cannot be read, otherwise AE naming the segment),
// with the sender's control id when it is readable. MSH-9, MSH-10 and
// MSH-12 are checked before the Handler sees the message.
//
// For TLS, pass a listener from tls.NewListener (or tls.Listen): the
// server reads and writes whatever net.Conn it accepts. Client
// certificates, if required, are the tls.Config's business.
//
// Logs (log/slog) name the connection's remote address and, per message,
// its control id, type, sender and outcome: never its content, which is
// patient data.
type Server struct {
	Handler Handler
	Log     *slog.Logger // nil: slog.Default()
	// Application and Facility name this receiver in ACKs to messages
	// that left MSH-5 and MSH-6 empty.
	Application, Facility string
	// ProcessingID, when set, is the only MSH-11 accepted (such as "P"):
	// training and debugging messages are then rejected (AR, 202) rather
	// than stored among production records.
	ProcessingID string
	// MaxMessageSize bounds one message (DefaultMaxMessageSize when 0);
	// a larger one is read, dropped and rejected.
	MaxMessageSize int
	// IdleTimeout closes a connection on which no message starts for that
	// long; ReadTimeout bounds the reading of one message once started;
	// WriteTimeout the writing of an ACK. Zero means the default, a
	// negative value no limit.
	IdleTimeout, ReadTimeout, WriteTimeout time.Duration

	// now is the clock for ACK times (tests).
	now func() time.Time

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	cancels   []context.CancelFunc
	wg        sync.WaitGroup
}

// connection states, for shutdown: an idle or reading connection can be
// closed at once; a busy one has a message in flight and finishes it.
const (
	stateIdle = iota
	stateReading
	stateBusy
)

type serverConn struct {
	c     net.Conn
	state int
}

// Serve accepts connections on l until Shutdown or Close is called, or ctx
// is done (which shuts the server down gracefully), and returns
// ErrServerClosed then. Handlers get a context carrying ctx's values that
// is cancelled only by Close (or Shutdown running out of time), so a
// message being committed when ctx ends is still committed and answered.
// Serve may be called for several listeners at once.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Handler == nil {
		return errors.New("hl7v2: Server.Handler is nil")
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cancel()
		l.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*serverConn]struct{})
	}
	s.listeners[l] = struct{}{}
	s.cancels = append(s.cancels, cancel)
	s.mu.Unlock()

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			s.Shutdown(context.Background())
		case <-stop:
		}
	}()
	s.log().Info("hl7 listening", slog.String("addr", l.Addr().String()))
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log().Error("hl7 accept failed", slog.Any("error", err), slog.Duration("retry_in", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		sc := &serverConn{c: c, state: stateIdle}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		s.conns[sc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(hctx, sc)
	}
}

// Shutdown stops accepting connections, closes the connections that have
// no message in flight, and waits for the others to finish the message
// they are handling (its ACK included). If ctx ends first, it closes
// everything as Close does and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for sc := range s.conns {
		if sc.state != stateBusy {
			// Wake the reader: it sees the server closing and returns.
			sc.c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancelAll()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close stops accepting, cancels the handlers' context and closes every
// connection at once; a message whose handler has not returned is not
// acknowledged, so its sender will send it again. Close does not wait.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for sc := range s.conns {
		sc.c.Close()
	}
	s.mu.Unlock()
	s.cancelAll()
	return nil
}

func (s *Server) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cancels {
		c()
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// setState records what a connection is doing and sets its read deadline
// under the lock Shutdown takes, so a shutdown is never missed: it
// reports false when the server is closing and the connection should end.
func (s *Server) setState(sc *serverConn, state int, timeout time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing && state != stateBusy {
		return false
	}
	sc.state = state
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	sc.c.SetReadDeadline(deadline)
	return true
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (s *Server) serveConn(ctx context.Context, sc *serverConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		sc.c.Close()
	}()
	remote := sc.c.RemoteAddr().String()
	log := s.log().With(slog.String("remote", remote))
	log.Debug("hl7 connection opened")
	r := NewReader(sc.c, s.MaxMessageSize)
	idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
	read := orDefault(s.ReadTimeout, DefaultReadTimeout)
	write := orDefault(s.WriteTimeout, DefaultWriteTimeout)
	var out []byte
	for n := 0; ; n++ {
		if !s.setState(sc, stateIdle, idle) {
			log.Debug("hl7 connection closed for shutdown", slog.Int("messages", n))
			return
		}
		if err := r.start(); err != nil {
			s.connEnded(log, err, n)
			return
		}
		if !s.setState(sc, stateReading, read) {
			return
		}
		body, err := r.body()
		var tooLarge *FrameTooLargeError
		if errors.As(err, &tooLarge) {
			body, err = tooLarge.Head, nil
		} else if err != nil {
			s.connEnded(log, err, n)
			return
		}
		s.setState(sc, stateBusy, 0)
		sub, pipelined := s.Handler.(Submitter)
		if !pipelined {
			if ack := s.process(ctx, log, body, tooLarge != nil); ack != nil {
				out = AppendFrame(out[:0], ack)
			} else {
				continue
			}
		} else {
			// Take every message the sender has already sent (whole
			// frames waiting in the buffer), submitting each in order,
			// then answer them in order as they become durable.
			batch := []*inflight{s.begin(ctx, bytes.Clone(body), tooLarge != nil, sub)}
			var readErr error
			for len(batch) < maxPipeline && !s.sequential(batch[len(batch)-1]) && r.frameWaiting() {
				if readErr = r.start(); readErr != nil {
					break
				}
				body, readErr = r.body()
				tooLarge = nil
				if errors.As(readErr, &tooLarge) {
					body, readErr = tooLarge.Head, nil
				} else if readErr != nil {
					break
				}
				n++
				batch = append(batch, s.begin(ctx, bytes.Clone(body), tooLarge != nil, sub))
			}
			out = out[:0]
			for _, f := range batch {
				if ack := s.finish(ctx, log, f); ack != nil {
					out = AppendFrame(out, ack)
				}
			}
			if readErr != nil {
				s.writeAcks(sc, log, out, write)
				s.connEnded(log, readErr, n)
				return
			}
			if len(out) == 0 {
				continue
			}
		}
		if !s.writeAcks(sc, log, out, write) {
			return
		}
	}
}

// sequential reports whether f must be finished before the next message
// is submitted (Sequencer).
func (s *Server) sequential(f *inflight) bool {
	sq, ok := s.Handler.(Sequencer)
	return ok && f.wait != nil && sq.Sequential(f.m)
}

// writeAcks sends ACK frames; false if the connection failed.
func (s *Server) writeAcks(sc *serverConn, log *slog.Logger, out []byte, write time.Duration) bool {
	if len(out) == 0 {
		return true
	}
	if write > 0 {
		sc.c.SetWriteDeadline(time.Now().Add(write))
	}
	if _, err := sc.c.Write(out); err != nil {
		// The messages are committed but their sender will not hear so:
		// it will send them again, and handlers are idempotent.
		log.Warn("hl7 ack not delivered", slog.Any("error", err))
		return false
	}
	return true
}

// connEnded logs why a connection's reading ended.
func (s *Server) connEnded(log *slog.Logger, err error, n int) {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if s.isClosing() {
			log.Debug("hl7 connection closed for shutdown", slog.Int("messages", n))
		} else {
			log.Info("hl7 connection timed out", slog.Int("messages", n))
		}
	case errors.Is(err, net.ErrClosed), errors.Is(err, io.EOF):
		log.Debug("hl7 connection closed", slog.Int("messages", n))
	default:
		log.Warn("hl7 connection failed", slog.Int("messages", n), slog.Any("error", err))
	}
}

// inflight is a received message on its way to its ACK.
type inflight struct {
	m     *Message
	herr  *Error
	wait  func() error // set when a Submitter took the message
	start time.Time
}

// process handles one received message and returns its ACK as ER7, or nil
// when none is to be sent.
func (s *Server) process(ctx context.Context, log *slog.Logger, body []byte, tooLarge bool) []byte {
	return s.finish(ctx, log, s.begin(ctx, body, tooLarge, nil))
}

// begin parses and checks a message and gives it to the handler: to
// completion, or, with a Submitter, up to its submission.
func (s *Server) begin(ctx context.Context, body []byte, tooLarge bool, sub Submitter) *inflight {
	f := &inflight{start: time.Now()}
	m, err := Parse(body)
	switch {
	case tooLarge:
		f.m = salvage(body)
		limit := s.MaxMessageSize
		if limit <= 0 {
			limit = DefaultMaxMessageSize
		}
		f.herr = &Error{Code: CodeValueTooLong, Reject: true, Msg: fmt.Sprintf("message larger than %d bytes", limit)}
	case err != nil:
		f.herr = AsError(err)
		f.m = salvage(body)
	default:
		f.m = m
		f.herr = s.check(m)
		if f.herr == nil {
			if sub != nil {
				f.wait = s.submit(ctx, sub, m)
			} else {
				f.herr = s.handle(ctx, m)
			}
		}
	}
	return f
}

// finish waits for a submitted message, logs the outcome and builds the
// ACK.
func (s *Server) finish(ctx context.Context, log *slog.Logger, f *inflight) []byte {
	m, herr := f.m, f.herr
	if f.wait != nil {
		herr = s.waitFor(f.wait)
	}
	attrs := []slog.Attr{
		slog.String("control_id", m.ControlID()),
		slog.String("type", m.Type().String()),
		slog.String("sender", m.SendingApplication().String()+"@"+m.SendingFacility().String()),
	}
	code, send := AckReject, true
	if m != nil {
		code, send = ackMode(m, herr)
	}
	level := slog.LevelInfo
	if herr != nil {
		level = slog.LevelWarn
		if herr.Code == CodeInternal {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.Int("hl7_error", int(herr.Code)), slog.String("location", herr.Location), slog.String("error", herr.Error()))
	}
	if !send {
		code = "none"
	}
	attrs = append(attrs, slog.String("ack", code), slog.Duration("took", time.Since(f.start)))
	log.LogAttrs(ctx, level, "hl7 message", attrs...)
	if !send {
		return nil
	}
	var now time.Time
	if s.now != nil {
		now = s.now()
	}
	var e error
	if herr != nil {
		e = herr
	}
	return NewAck(m, code, e, AckOptions{Application: s.Application, Facility: s.Facility, Time: now}).Encode()
}

// check refuses what no handler should see: a message without a type or
// control id, of a version that is not 2.x, or of a processing id not
// accepted.
func (s *Server) check(m *Message) *Error {
	switch {
	case m.Type().Code == "":
		return Errorf(CodeRequiredFieldMissing, "MSH-9", "no message type")
	case m.ControlID() == "":
		return Errorf(CodeRequiredFieldMissing, "MSH-10", "no message control id")
	case !strings.HasPrefix(m.Version(), "2."):
		return &Error{Code: CodeUnsupportedVersion, Location: "MSH-12", Msg: "only HL7 version 2 is supported"}
	case s.ProcessingID != "" && m.ProcessingID() != s.ProcessingID:
		return &Error{Code: CodeUnsupportedProcessing, Location: "MSH-11", Msg: "processing id " + s.ProcessingID + " expected"}
	}
	return nil
}

// handle runs the handler, turning its error (or panic) into an *Error.
func (s *Server) handle(ctx context.Context, m *Message) (herr *Error) {
	defer func() {
		if p := recover(); p != nil {
			herr = &Error{Code: CodeInternal, Err: fmt.Errorf("handler panic: %v", p)}
		}
	}()
	return handlerError(s.Handler.HandleHL7(ctx, m))
}

// submit gives m to a Submitter, turning a panic into a wait that fails.
func (s *Server) submit(ctx context.Context, sub Submitter, m *Message) (wait func() error) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("handler panic: %v", p)
			wait = func() error { return &Error{Code: CodeInternal, Err: err} }
		}
	}()
	return sub.SubmitHL7(ctx, m)
}

// waitFor waits for a submitted message, as handle runs a handler.
func (s *Server) waitFor(wait func() error) (herr *Error) {
	defer func() {
		if p := recover(); p != nil {
			herr = &Error{Code: CodeInternal, Err: fmt.Errorf("handler panic: %v", p)}
		}
	}()
	return handlerError(wait())
}

// handlerError makes a handler's error the Error its ACK reports.
func handlerError(err error) *Error {
	if err == nil {
		return nil
	}
	e := AsError(err)
	if e.Code == CodeInternal && e.Msg == "" {
		// The cause is logged, never sent: it may name internals.
		e = &Error{Code: CodeInternal, Location: e.Location, Reject: true, Err: err}
	}
	return e
}

// salvage reads the MSH of a message that did not parse, so that the ACK
// can still name its control id and be in its version; nil if even that
// fails.
func salvage(body []byte) *Message {
	s := trimMessage(string(body))
	if i := lineEnd(s); i >= 0 {
		s = s[:i]
	}
	m, err := Parse([]byte(s))
	if err != nil {
		return nil
	}
	return m
}
