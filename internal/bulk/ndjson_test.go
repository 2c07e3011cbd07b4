package bulk_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/bulk"
)

type line struct {
	N    int
	Text string
	Long bool
}

// readAll reads every line of data with bulk.Reader.
func readAll(data []byte, max int) ([]line, error) {
	rd, err := bulk.NewReader(bytes.NewReader(data), max)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []line
	for {
		b, n, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		var le *bulk.LineError
		switch {
		case errors.As(err, &le):
			if le.Line != n || !errors.Is(err, bulk.ErrLineTooLong) {
				return out, err
			}
			out = append(out, line{N: n, Long: true})
		case err != nil:
			return out, err
		default:
			out = append(out, line{N: n, Text: string(b)})
		}
	}
}

// reference splits data the simple way, as the reader should.
func reference(data []byte, max int) []line {
	var out []line
	parts := strings.Split(string(data), "\n")
	if len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // the final line ending
	}
	for i, p := range parts {
		p = strings.TrimSuffix(p, "\r")
		if i == 0 {
			p = strings.TrimPrefix(p, "\xef\xbb\xbf")
		}
		if len(p) > max {
			out = append(out, line{N: i + 1, Long: true})
			continue
		}
		if len(strings.TrimSpace(p)) == 0 {
			continue
		}
		out = append(out, line{N: i + 1, Text: p})
	}
	return out
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		data string
		max  int
		want []line
	}{
		{"empty", "", 100, nil},
		{"lines", "{\"a\":1}\n{\"b\":2}\n", 100, []line{{1, `{"a":1}`, false}, {2, `{"b":2}`, false}}},
		{"no final newline, CRLF, blanks", "\xef\xbb\xbf{}\r\n\r\n  \n{}", 100, []line{{1, "{}", false}, {4, "{}", false}}},
		{"too long, then on", "12345678901\n123\n", 10, []line{{1, "", true}, {2, "123", false}}},
		{"exactly the limit", "1234567890\n", 10, []line{{1, "1234567890", false}}},
		{"long last line", "1\n" + strings.Repeat("x", 300000), 1000, []line{{1, "1", false}, {2, "", true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll([]byte(tc.data), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
		})
	}
	// The same through gzip.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"a\":1}\n\n{\"b\":2}\n"))
	zw.Close()
	got, err := readAll(gz.Bytes(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]line{{1, `{"a":1}`, false}, {3, `{"b":2}`, false}}, got); d != "" {
		t.Errorf("gzip lines (-want +got):\n%s", d)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := bulk.NewWriter(&buf)
	for _, v := range []string{`{"a":1}`, "{\n  \"b\": [1,\r\n 2]\n}"} {
		if err := w.Write([]byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "{\"a\":1}\n{\"b\":[1,2]}\n"; buf.String() != want || w.Lines() != 2 || w.Bytes() != int64(len(want)) {
		t.Errorf("wrote %q (%d lines, %d bytes), want %q", buf.String(), w.Lines(), w.Bytes(), want)
	}
}

// FuzzReader: the reader returns what splitting at line endings does, and
// never panics, whatever the bytes.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"", "{}\n", "\xef\xbb\xbf{}\r\n\n {} \n", "12345678901234567890123\nab\n", "\x1f\x8b\x08", "\n\n\n", "a\rb\n"} {
		f.Add([]byte(s), 16)
	}
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			max = 16
		}
		got, err := readAll(data, max)
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			return // read as gzip: only that it does not panic
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if d := cmp.Diff(reference(data, max), got); d != "" {
			t.Fatalf("lines of %q (-want +got):\n%s", data, d)
		}
	})
}
