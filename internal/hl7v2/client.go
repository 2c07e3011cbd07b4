package hl7v2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Client sends messages over one MLLP connection and waits for each ACK,
// one message at a time, as a sending interface engine does.
type Client struct {
	conn net.Conn
	r    *Reader
	// Timeout bounds each exchange (write and ACK); 0 means none.
	Timeout time.Duration
}

// NewClient uses conn, which the Client then owns.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, r: NewReader(conn, 0)}
}

// Dial connects to an MLLP server at addr ("host:port") over TCP.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewClient(c), nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SendRaw sends an ER7 message and returns the raw reply (the ACK's ER7),
// valid until the next call.
func (c *Client) SendRaw(er7 []byte) ([]byte, error) {
	if c.Timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.Timeout))
		defer c.conn.SetDeadline(time.Time{})
	}
	if err := WriteFrame(c.conn, er7); err != nil {
		return nil, err
	}
	return c.r.ReadMessage()
}

// Send sends m and returns its ACK. Whatever the ACK says (AA, AE, AR...)
// is for the caller to read (AckCodeOf); an error means the exchange
// itself failed, or the reply was not an ACK of m.
func (c *Client) Send(m *Message) (*Message, error) {
	reply, err := c.SendRaw(m.Encode())
	if err != nil {
		return nil, err
	}
	return checkAck(m, reply)
}

func checkAck(m *Message, reply []byte) (*Message, error) {
	ack, err := Parse(reply)
	if err != nil {
		return nil, fmt.Errorf("hl7v2: the reply is not HL7: %w", err)
	}
	if ack.Segment("MSA") == nil {
		return nil, errors.New("hl7v2: the reply has no MSA segment")
	}
	if id := ack.Get("MSA-2"); id != m.ControlID() {
		return ack, fmt.Errorf("hl7v2: the reply acknowledges control id %q, not %q", id, m.ControlID())
	}
	return ack, nil
}

// Send sends m over conn and reads its ACK: for tests and one-off use. It
// reads the reply a byte at a time, so nothing after the ACK is consumed
// from conn; use a Client for more than a few messages.
func Send(conn io.ReadWriter, m *Message) (*Message, error) {
	if err := WriteFrame(conn, m.Encode()); err != nil {
		return nil, err
	}
	r := NewReader(byteReader{conn}, 0)
	reply, err := r.ReadMessage()
	if err != nil {
		return nil, err
	}
	return checkAck(m, reply)
}

// byteReader reads one byte per call, so the bufio.Reader over it never
// reads ahead past the end of a frame.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return b.r.Read(p[:1])
}
