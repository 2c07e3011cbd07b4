package hl7v2

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestReader(t *testing.T) {
	const vt, fs, cr = "\x0b", "\x1c", "\r"
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error // after the messages
	}{
		{name: "one frame", in: vt + "A" + fs + cr, want: []string{"A"}, wantErr: io.EOF},
		{name: "two frames", in: vt + "A" + fs + cr + vt + "B" + fs + cr, want: []string{"A", "B"}, wantErr: io.EOF},
		{name: "whitespace between frames", in: "\r\n " + vt + "A" + fs + cr + "\n\n\t" + vt + "B" + fs + cr + "\n", want: []string{"A", "B"}, wantErr: io.EOF},
		{name: "junk between frames", in: "junk" + vt + "A" + fs + cr + "more junk" + vt + "B" + fs + cr, want: []string{"A", "B"}, wantErr: io.EOF},
		{name: "no carriage return", in: vt + "A" + fs + vt + "B" + fs, want: []string{"A", "B"}, wantErr: io.EOF},
		{name: "restarted frame", in: vt + "broken" + vt + "A" + fs + cr, want: []string{"A"}, wantErr: io.EOF},
		{name: "empty frame", in: vt + fs + cr, want: []string{""}, wantErr: io.EOF},
		{name: "end in a frame", in: vt + "A" + fs + cr + vt + "B", want: []string{"A"}, wantErr: io.ErrUnexpectedEOF},
		{name: "nothing", in: "", wantErr: io.EOF},
		{name: "not MLLP", in: strings.Repeat("x", maxJunk+1), wantErr: ErrNotMLLP},
		{name: "frame at the limit", in: vt + "ABCD" + fs + cr, max: 4, want: []string{"ABCD"}, wantErr: io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read too, as a slow network delivers it.
			for _, slow := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tc.in)
				if slow {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, tc.max)
				var got []string
				var err error
				for {
					var b []byte
					if b, err = r.ReadMessage(); err != nil {
						break
					}
					got = append(got, string(b))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("slow %v: messages: %s", slow, diff)
				}
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("slow %v: error %v, want %v", slow, err, tc.wantErr)
				}
			}
		})
	}
}

func TestReaderTooLarge(t *testing.T) {
	big := "MSH|^~\\&|A|B|||||ADT^A01|BIG1|P|2.4\r" + strings.Repeat("OBX|1|TX|||"+strings.Repeat("x", 100)+"\r", 100)
	in := AppendFrame(nil, []byte(big))
	in = AppendFrame(in, []byte("small"))
	r := NewReader(iotest.HalfReader(bytes.NewReader(in)), 1000)
	_, err := r.ReadMessage()
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1000 || !strings.HasPrefix(string(tl.Head), "MSH|") || len(tl.Head) > headSize {
		t.Fatalf("error %v", err)
	}
	if m := salvage(tl.Head); m.ControlID() != "BIG1" {
		t.Errorf("salvaged control id %q", m.ControlID())
	}
	// The reader has moved past the large frame.
	b, err := r.ReadMessage()
	if err != nil || string(b) != "small" {
		t.Errorf("next: %q %v", b, err)
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("MSH|^~\\&\r")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "\x0bMSH|^~\\&\r\x1c\r" {
		t.Errorf("frame %q", got)
	}
	b, err := NewReader(&buf, 0).ReadMessage()
	if err != nil || string(b) != "MSH|^~\\&\r" {
		t.Errorf("read back %q %v", b, err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("\x0bA\x1c\r\x0bB\x1c"), 0)
	f.Add([]byte("junk\x0bbroken\x0bA\x1c\r"), 3)
	f.Add([]byte("\x0b\x1c\r\r\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = (limit%64+64)%64 + 1
		r := NewReader(bytes.NewReader(data), limit)
		for i := 0; i < len(data)+1; i++ {
			b, err := r.ReadMessage()
			var tl *FrameTooLargeError
			if errors.As(err, &tl) {
				continue
			}
			if err != nil {
				return
			}
			if len(b) > limit || bytes.IndexByte(b, StartBlock) >= 0 || bytes.IndexByte(b, EndBlock) >= 0 {
				t.Fatalf("message %q breaks the framing or the limit %d", b, limit)
			}
		}
	})
}
