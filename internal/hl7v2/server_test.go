package hl7v2

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer runs s on a loopback listener until the test ends and returns
// its address.
func testServer(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 5 * time.Second
	t.Cleanup(func() { c.Close() })
	return c
}

// testMessage is an ADT^A01 with control id id.
func testMessage(id, version string) *Message {
	m, err := Parse([]byte("MSH|^~\\&|PAS|RHQ|SHAREDCARE|QF7|20240506070000||ADT^A01^ADT_A01|" + id + "|P|" + version +
		"\rPID|1||9434765919^^^NHS^NH||SMITH^John\rPV1|1|I"))
	if err != nil {
		panic(err)
	}
	return m
}

// failOn is a handler that refuses messages by control id.
func failOn(t *testing.T) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message) error {
		switch m.ControlID() {
		case "bad-nhs":
			return Errorf(CodeDataType, "PID-3(1)-1", "NHS number fails its check digit")
		case "db-down":
			return fmt.Errorf("store: connection refused to 10.0.0.5")
		case "locked":
			return &Error{Code: CodeRecordLocked, Location: "PID-3"}
		case "panic":
			panic("handler bug")
		}
		return nil
	})
}

func TestServerAcks(t *testing.T) {
	addr := testServer(t, &Server{Handler: failOn(t), ProcessingID: "P", Application: "SC", Facility: "HUB"})
	c := dial(t, addr)
	tests := []struct {
		name     string
		send     string // raw ER7
		code     string // MSA-1
		ctrl     string // MSA-2
		err      string // ERR-2^ERR-3 for v2.5, ERR-1 before
		notInAck string
	}{
		{name: "accepted", send: string(testMessage("ok-1", "2.5").Encode()), code: "AA", ctrl: "ok-1"},
		{name: "handler error names the field", send: string(testMessage("bad-nhs", "2.5").Encode()), code: "AE", ctrl: "bad-nhs",
			err: "PID^1^3^1^1|102"},
		{name: "handler error, v2.4", send: string(testMessage("bad-nhs", "2.4").Encode()), code: "AE", ctrl: "bad-nhs",
			err: "PID^1^3^102&Data type error&HL70357"},
		{name: "internal error is rejected and not told", send: string(testMessage("db-down", "2.5").Encode()), code: "AR", ctrl: "db-down",
			err: "|207", notInAck: "10.0.0.5"},
		{name: "record locked", send: string(testMessage("locked", "2.5").Encode()), code: "AR", ctrl: "locked", err: "PID^1^3^1|206"},
		{name: "panic", send: string(testMessage("panic", "2.5").Encode()), code: "AR", ctrl: "panic", err: "|207", notInAck: "bug"},
		{name: "garbage", send: "hello, world", code: "AR", ctrl: "", err: "|100"},
		{name: "bad segment after a good MSH", send: "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|seg-1|P|2.5\rPID|1\rpv1|x", code: "AE", ctrl: "seg-1", err: "|100"},
		{name: "version 3", send: "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|v3|P|3.0", code: "AR", ctrl: "v3", err: "MSH^1^12^1|203"},
		{name: "training message", send: "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|t-1|T|2.5", code: "AR", ctrl: "t-1", err: "MSH^1^11^1|202"},
		{name: "no control id", send: "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01||P|2.5", code: "AE", ctrl: "", err: "MSH^1^10^1|101"},
		{name: "no type", send: "MSH|^~\\&|PAS|RHQ|||20240101|||nt|P|2.5", code: "AE", ctrl: "nt", err: "MSH^1^9^1|101"},
		{name: "enhanced mode", send: "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|enh|P|2.5|||AL|NE", code: "CA", ctrl: "enh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := c.SendRaw([]byte(tc.send))
			if err != nil {
				t.Fatal(err)
			}
			ack, err := Parse(reply)
			if err != nil {
				t.Fatalf("ACK %q: %v", reply, err)
			}
			if got := ack.Get("MSA-1"); got != tc.code {
				t.Errorf("MSA-1 %q, want %q: %s", got, tc.code, ack)
			}
			if got := ack.Get("MSA-2"); got != tc.ctrl {
				t.Errorf("MSA-2 %q, want %q", got, tc.ctrl)
			}
			errSeg := ack.Segment("ERR").Raw()
			if (tc.err == "") != (errSeg == "") || !strings.Contains(errSeg, tc.err) {
				t.Errorf("ERR %q, want it to hold %q", errSeg, tc.err)
			}
			if tc.notInAck != "" && strings.Contains(string(reply), tc.notInAck) {
				t.Errorf("ACK tells %q: %q", tc.notInAck, reply)
			}
			if tc.ctrl != "" && ack.Get("MSH-5") != "PAS" {
				t.Errorf("MSH-5 %q", ack.Get("MSH-5"))
			}
		})
	}
}

func TestServerNoAckWanted(t *testing.T) {
	addr := testServer(t, &Server{Handler: failOn(t)})
	c := dial(t, addr)
	// MSH-15 NE: no reply. The next message's ACK is the next thing read.
	quiet := "MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|quiet|P|2.5|||NE|NE"
	if err := WriteFrame(c.conn, []byte(quiet)); err != nil {
		t.Fatal(err)
	}
	ack, err := c.Send(testMessage("after", "2.5"))
	if err != nil || AckCodeOf(ack) != "AA" {
		t.Fatalf("ack %v %v", ack, err)
	}
}

// recorder keeps messages by connection in arrival order.
type recorder struct {
	mu    sync.Mutex
	got   map[string][]string // sender application -> control ids
	delay time.Duration
}

func (r *recorder) HandleHL7(ctx context.Context, m *Message) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	app := m.SendingApplication().String()
	r.got[app] = append(r.got[app], m.ControlID())
	return nil
}

func TestServerConnectionsInOrder(t *testing.T) {
	rec := &recorder{got: map[string][]string{}, delay: time.Millisecond}
	addr := testServer(t, &Server{Handler: rec})
	const conns, each = 4, 25
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			for j := 0; j < each; j++ {
				m := testMessage(fmt.Sprintf("%d-%d", i, j), "2.4")
				m.Set("MSH-3", fmt.Sprintf("APP%d", i))
				ack, err := c.Send(m)
				if err != nil || AckCodeOf(ack) != "AA" {
					t.Errorf("conn %d message %d: %v %v", i, j, ack, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < conns; i++ {
		got := rec.got[fmt.Sprintf("APP%d", i)]
		if len(got) != each {
			t.Fatalf("conn %d: %d messages", i, len(got))
		}
		for j, id := range got {
			if id != fmt.Sprintf("%d-%d", i, j) {
				t.Errorf("conn %d: message %d is %s", i, j, id)
			}
		}
	}
}

// gate is a handler that holds each message until released.
type gate struct {
	entered chan string
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan string, 10), release: make(chan struct{})} }

func (g *gate) HandleHL7(ctx context.Context, m *Message) error {
	g.entered <- m.ControlID()
	<-g.release
	return nil
}

func TestServerAcksOnlyAfterHandler(t *testing.T) {
	g := newGate()
	addr := testServer(t, &Server{Handler: g})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := WriteFrame(conn, testMessage("held", "2.5").Encode()); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var b [1]byte
	if n, err := conn.Read(b[:]); n != 0 || !errors.Is(err, errTimeout(err)) {
		t.Fatalf("read %d bytes before the handler returned (%v)", n, err)
	}
	close(g.release)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, err := NewReader(conn, 0).ReadMessage()
	if err != nil || !strings.Contains(string(reply), "MSA|AA|held") {
		t.Fatalf("reply %q %v", reply, err)
	}
}

// errTimeout returns err when it is a timeout, so errors.Is matches only
// timeouts.
func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

func TestServerLargeMessages(t *testing.T) {
	addr := testServer(t, &Server{Handler: failOn(t), MaxMessageSize: 2 << 20})
	c := dial(t, addr)
	big := func(id string, size int) *Message {
		m := testMessage(id, "2.5")
		line := strings.Repeat("x", 1000)
		for n := 0; n*1000 < size; n++ {
			m.Add("OBX", fmt.Sprint(n+1), "TX", "", "", line)
		}
		return m
	}
	ack, err := c.Send(big("big-ok", 1<<20))
	if err != nil || AckCodeOf(ack) != "AA" {
		t.Fatalf("1 MiB: %v %v", ack, err)
	}
	ack, err = c.Send(big("too-big", 3<<20))
	if err != nil || AckCodeOf(ack) != "AR" || ack.Get("MSA-2") != "too-big" || !strings.Contains(ack.Segment("ERR").Raw(), "|104") {
		t.Fatalf("3 MiB: %v %v", ack, err)
	}
	// The connection goes on.
	ack, err = c.Send(testMessage("after", "2.5"))
	if err != nil || AckCodeOf(ack) != "AA" {
		t.Fatalf("after: %v %v", ack, err)
	}
}

func TestServerSlowAndSplitFrames(t *testing.T) {
	rec := &recorder{got: map[string][]string{}}
	addr := testServer(t, &Server{Handler: rec})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var stream []byte
	stream = append(stream, "\r\n"...) // noise before the first frame
	for _, id := range []string{"s1", "s2", "s3"} {
		stream = AppendFrame(stream, testMessage(id, "2.5").Encode())
	}
	// Frame 1 a byte at a time, frame 2 and 3 in one write split mid-frame.
	cut := bytes.Index(stream[3:], []byte{StartBlock}) + 3
	for _, b := range stream[:cut] {
		conn.Write([]byte{b})
		time.Sleep(200 * time.Microsecond)
	}
	mid := cut + (len(stream)-cut)/2
	conn.Write(stream[cut:mid])
	time.Sleep(20 * time.Millisecond)
	conn.Write(stream[mid:])
	r := NewReader(conn, 0)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, id := range []string{"s1", "s2", "s3"} {
		reply, err := r.ReadMessage()
		if err != nil || !strings.Contains(string(reply), "MSA|AA|"+id) {
			t.Fatalf("reply to %s: %q %v", id, reply, err)
		}
	}
}

func TestServerShutdownWaitsForInFlight(t *testing.T) {
	g := newGate()
	s := &Server{Handler: g, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), l) }()
	busy, idle := dial(t, l.Addr().String()), dial(t, l.Addr().String())
	_ = idle
	acked := make(chan error, 1)
	go func() {
		ack, err := busy.Send(testMessage("in-flight", "2.5"))
		if err == nil && AckCodeOf(ack) != "AA" {
			err = fmt.Errorf("ack %s", ack)
		}
		acked <- err
	}()
	<-g.entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a message in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	// No new connections meanwhile.
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a new connection was served during shutdown")
		}
		c.Close()
	}
	close(g.release)
	if err := <-acked; err != nil {
		t.Fatalf("in-flight message: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	// The idle connection was closed.
	idle.conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: %v", err)
	}
	if err := s.Serve(context.Background(), l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

func TestServerContextCancel(t *testing.T) {
	s := &Server{Handler: failOn(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	c := dial(t, l.Addr().String())
	if ack, err := c.Send(testMessage("1", "2.5")); err != nil || AckCodeOf(ack) != "AA" {
		t.Fatal(ack, err)
	}
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestServerTimeouts(t *testing.T) {
	addr := testServer(t, &Server{Handler: failOn(t), IdleTimeout: 50 * time.Millisecond, ReadTimeout: 50 * time.Millisecond})
	for _, tc := range []struct {
		name  string
		write []byte
	}{
		{"idle", nil},
		{"stalled frame", []byte("\x0bMSH|^~\\&|half")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write(tc.write)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Fatalf("read: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("closed after %v", d)
			}
		})
	}
}

func TestServerLogsNoContent(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	})
	addr := testServer(t, &Server{Handler: failOn(t), Log: slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := dial(t, addr)
	for _, id := range []string{"ok", "bad-nhs", "db-down"} {
		if _, err := c.Send(testMessage(id, "2.5")); err != nil {
			t.Fatal(err)
		}
	}
	c.SendRaw([]byte("MSH|^~\\&|PAS|RHQ|||20240101||ADT^A01|x|P|2.5\rPID|1||9434765919^^^NHS^NH||SMITH\rpv1"))
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, secret := range []string{"9434765919", "SMITH", "John"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"control_id":"bad-nhs"`, `"type":"ADT^A01^ADT_A01"`, `"sender":"PAS@RHQ"`, `"ack":"AE"`, `"ack":"AR"`, `"level":"ERROR"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSendOneOff(t *testing.T) {
	addr := testServer(t, &Server{Handler: failOn(t)})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, id := range []string{"a", "b"} {
		ack, err := Send(conn, testMessage(id, "2.3"))
		if err != nil || AckCodeOf(ack) != "AA" || ack.Get("MSH-9") != "ACK" || ack.Get("MSH-9-2") != "A01" {
			t.Fatalf("%s: %v %v", id, ack, err)
		}
	}
}

func BenchmarkServer(b *testing.B) {
	msgs := synthMessages(b, 20)
	s := &Server{Handler: HandlerFunc(func(context.Context, *Message) error { return nil }), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(context.Background(), l)
	defer s.Close()
	c, err := Dial(context.Background(), l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.SendRaw(msgs[i%len(msgs)].ER7); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestServerTLS: TLS is a tls.Listener around the TCP one; nothing else
// changes.
func TestServerTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hl7 test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s := &Server{Handler: failOn(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go s.Serve(context.Background(), l)
	defer s.Close()
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(der)
	pool.AddCert(leaf)
	conn, err := tls.Dial("tcp", tcp.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn)
	defer c.Close()
	ack, err := c.Send(testMessage("tls-1", "2.5"))
	if err != nil || AckCodeOf(ack) != "AA" {
		t.Fatalf("%v %v", ack, err)
	}
}
