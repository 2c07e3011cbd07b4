package bulk

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// NDJSON (https://github.com/ndjson/ndjson-spec): one JSON value per line,
// lines ending in \n (a \r before it is dropped). Bulk Data files hold one
// resource a line. A gzip stream (by its magic bytes, whatever the file is
// called) is read through gzip.

// DefaultMaxLine bounds one line: the largest resources real feeds send
// (a Binary with a scanned letter, a DocumentReference with its content
// inline) are a few megabytes.
const DefaultMaxLine = 64 << 20

// LineError is a problem with one line; reading goes on after it.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrLineTooLong is the cause of a LineError for a line over the limit.
var ErrLineTooLong = errors.New("line too long")

// Reader reads the lines of an NDJSON stream.
type Reader struct {
	br   *bufio.Reader
	gz   *gzip.Reader
	max  int
	line int
	buf  []byte
	// Bytes counts what was read from the underlying reader (compressed,
	// for gzip), for progress.
	n countingReader
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader reads NDJSON from r, through gzip if r starts with gzip's magic
// bytes. Lines longer than maxLine (DefaultMaxLine if 0) are reported,
// not read into memory.
func NewReader(r io.Reader, maxLine int) (*Reader, error) {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	rd := &Reader{max: maxLine}
	rd.n.r = r
	br := bufio.NewReaderSize(&rd.n, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd.gz = gz
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	rd.br = br
	return rd, nil
}

// Offset is how many bytes of the underlying reader have been consumed.
func (r *Reader) Offset() int64 { return r.n.n }

// Next returns the next line that is not blank, without its line ending,
// and its number (from 1). A line longer than the limit is an error even
// if blank. The slice is valid until the next call. At the
// end it returns io.EOF. A *LineError is about that line alone (too long);
// the next call reads on. Other errors end the stream.
func (r *Reader) Next() ([]byte, int, error) {
	for {
		r.line++
		r.buf = r.buf[:0]
		tooLong := false
		for {
			frag, err := r.br.ReadSlice('\n')
			if !tooLong {
				if len(r.buf)+len(frag) > r.max+5 { // +5: a line ending and a byte order mark; exact below
					tooLong = true
					r.buf = r.buf[:0]
				} else {
					r.buf = append(r.buf, frag...)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(r.buf) == 0 && !tooLong {
					return nil, r.line, io.EOF
				}
				break
			}
			if err != nil {
				return nil, r.line, err
			}
			break
		}
		if tooLong {
			return nil, r.line, &LineError{Line: r.line, Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, r.max)}
		}
		b := r.buf
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if r.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a byte order mark
		}
		if len(b) > r.max {
			return nil, r.line, &LineError{Line: r.line, Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, r.max)}
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return b, r.line, nil
	}
}

// Close releases the gzip reader, if any; it does not close the
// underlying reader.
func (r *Reader) Close() error {
	if r.gz != nil {
		return r.gz.Close()
	}
	return nil
}

// Writer writes resources as NDJSON, one a line.
type Writer struct {
	bw    *bufio.Writer
	n     int   // lines written
	bytes int64 // bytes written
	tmp   bytes.Buffer
}

// NewWriter writes NDJSON to w.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriterSize(w, 256<<10)} }

// Write writes one JSON value as a line. Stored resources are compact
// already; one that is not (a line break inside) is compacted first.
func (w *Writer) Write(v []byte) error {
	if bytes.IndexByte(v, '\n') >= 0 || bytes.IndexByte(v, '\r') >= 0 {
		w.tmp.Reset()
		if err := json.Compact(&w.tmp, v); err != nil {
			return err
		}
		v = w.tmp.Bytes()
	}
	if _, err := w.bw.Write(v); err != nil {
		return err
	}
	if err := w.bw.WriteByte('\n'); err != nil {
		return err
	}
	w.n++
	w.bytes += int64(len(v)) + 1
	return nil
}

// Lines is how many lines were written.
func (w *Writer) Lines() int { return w.n }

// Bytes is how many bytes were written.
func (w *Writer) Bytes() int64 { return w.bytes }

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.bw.Flush() }
