package hl7v2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MLLP frame bytes: a message travels as StartBlock, the message, EndBlock,
// CarriageReturn.
const (
	StartBlock     = 0x0B
	EndBlock       = 0x1C
	CarriageReturn = 0x0D
)

// DefaultMaxMessageSize bounds one message read by a Reader made with a
// maximum of 0: large enough for a discharge summary with an embedded
// PDF, small enough that a broken sender cannot exhaust memory.
const DefaultMaxMessageSize = 16 << 20

// maxJunk is how many bytes other than whitespace a Reader skips looking
// for a frame before deciding the peer does not speak MLLP.
const maxJunk = 64 << 10

// ErrNotMLLP is returned when a stream holds too much that is not in an
// MLLP frame.
var ErrNotMLLP = errors.New("hl7v2: the stream is not MLLP framed")

// FrameTooLargeError is returned for a frame longer than the Reader's
// maximum. The frame has been read and dropped, so the Reader can go on
// with the next one. Head is the start of the message, kept so that the
// receiver can still name it in a rejection.
type FrameTooLargeError struct {
	Limit int
	Head  []byte
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("hl7v2: message larger than %d bytes", e.Limit)
}

// headSize is how much of a too large message is kept in the error: the
// MSH segment, in practice.
const headSize = 2048

// Reader reads MLLP frames. Bytes between frames (whitespace, a lone
// carriage return, junk after a broken frame) are skipped; a start block
// inside a frame starts the frame again (the sender gave up on the first
// one); a missing carriage return after the end block is tolerated.
type Reader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// NewReader reads frames from r, each at most max bytes
// (DefaultMaxMessageSize when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 32<<10)
	}
	return &Reader{br: br, max: max}
}

// ReadMessage returns the next message, without its framing. The slice is
// valid until the next call. At the end of the stream between frames it
// returns io.EOF; in the middle of a frame io.ErrUnexpectedEOF.
func (r *Reader) ReadMessage() ([]byte, error) {
	if err := r.start(); err != nil {
		return nil, err
	}
	return r.body()
}

// frameWaiting reports whether a start block is already buffered: the
// sender has begun another frame, so reading it will not wait on a sender
// that is itself waiting for an ACK.
func (r *Reader) frameWaiting() bool {
	n := r.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.br.Peek(n)
	return bytes.IndexByte(b, StartBlock) >= 0
}

// start skips to the next start block and consumes it.
func (r *Reader) start() error {
	junk := 0
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return err
		}
		switch c {
		case StartBlock:
			return nil
		case ' ', '\t', '\r', '\n', EndBlock:
		default:
			if junk++; junk > maxJunk {
				return ErrNotMLLP
			}
		}
	}
}

// body reads a frame's content after its start block.
func (r *Reader) body() ([]byte, error) {
	r.buf = r.buf[:0]
	tooLarge := false
	for {
		chunk, err := r.br.ReadSlice(EndBlock)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		done := err == nil
		if done {
			chunk = chunk[:len(chunk)-1]
		}
		if i := bytes.LastIndexByte(chunk, StartBlock); i >= 0 {
			// A new frame began before this one ended.
			r.buf, tooLarge = r.buf[:0], false
			chunk = chunk[i+1:]
		}
		if !tooLarge {
			if len(r.buf)+len(chunk) > r.max {
				tooLarge = true
				r.buf = append(r.buf, chunk[:min(len(chunk), max(0, headSize-len(r.buf)))]...)
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if done {
			break
		}
	}
	// The carriage return after the end block, if it has come already.
	if r.br.Buffered() > 0 {
		if c, _ := r.br.Peek(1); c[0] == CarriageReturn {
			r.br.ReadByte()
		}
	}
	if tooLarge {
		return nil, &FrameTooLargeError{Limit: r.max, Head: append([]byte(nil), r.buf[:min(len(r.buf), headSize)]...)}
	}
	return r.buf, nil
}

// AppendFrame appends msg framed for MLLP to b.
func AppendFrame(b, msg []byte) []byte {
	b = append(b, StartBlock)
	b = append(b, msg...)
	return append(b, EndBlock, CarriageReturn)
}

// WriteFrame writes msg framed for MLLP in a single Write.
func WriteFrame(w io.Writer, msg []byte) error {
	_, err := w.Write(AppendFrame(make([]byte, 0, len(msg)+3), msg))
	return err
}
