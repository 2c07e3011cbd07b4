package hl7v2

import (
	"bytes"
	"fmt"
	"strings"
)

// ParseError says where a message could not be read as HL7 v2.
type ParseError struct {
	// Segment is the position (from 1) of the offending segment among the
	// message's segments, blank lines not counted; Name its name when it
	// has one.
	Segment int
	Name    string
	// Field is the field at fault, 0 when it is the segment as a whole.
	Field int
	Msg   string
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("segment %d", e.Segment)
	if e.Name != "" {
		where += " (" + e.Name + ")"
	}
	if e.Field > 0 {
		where += fmt.Sprintf(" field %d", e.Field)
	}
	return "hl7v2: " + where + ": " + e.Msg
}

// Path returns where the error is, as a Path (Segment is empty when the
// segment has no readable name).
func (e *ParseError) Path() Path {
	return Path{Segment: e.Name, Field: e.Field}
}

// maxSegmentName is the length of a segment name.
const segmentNameLen = 3

// Parse reads one ER7 message. It copies data, so the caller may reuse
// it. Leading whitespace (and a byte order mark) and trailing whitespace
// are ignored, as are an MLLP start and end block left around the
// message; segments may end in \r, \n or \r\n; blank lines are skipped.
// The first segment must be MSH; a second MSH is an error (a file of
// several messages is cut with SplitMessages first).
func Parse(data []byte) (*Message, error) {
	s := trimMessage(string(data))
	if s == "" {
		return nil, &ParseError{Msg: "empty message"}
	}
	if !strings.HasPrefix(s, "MSH") {
		name := s[:min(len(s), segmentNameLen)]
		if name == "FHS" || name == "BHS" {
			return nil, &ParseError{Segment: 1, Name: name, Msg: "a batch, not a message: split it into messages first"}
		}
		return nil, &ParseError{Segment: 1, Msg: "a message must start with MSH"}
	}
	m := &Message{}
	if err := readDelims(s, &m.Delims); err != nil {
		return nil, err
	}
	d := &m.Delims
	// Size everything once: one slice of segments and one pool of field
	// strings that the segments share.
	lines := 1 + strings.Count(s, "\r") + strings.Count(s, "\n")
	m.Segments = make([]Segment, 0, min(lines, len(s)/4+1))
	pool := make([]string, 0, strings.Count(s, string(d.Field))+2*lines)
	for len(s) > 0 {
		end := lineEnd(s)
		line := s
		if end >= 0 {
			line, s = s[:end], s[end+1:]
		} else {
			s = ""
		}
		line = strings.TrimRight(line, " \t")
		if strings.TrimLeft(line, " \t") == "" {
			continue
		}
		n := len(m.Segments) + 1
		if len(line) < segmentNameLen || !validName(line[:segmentNameLen]) {
			return nil, &ParseError{Segment: n, Msg: "no segment name (an upper-case letter, then two upper-case letters or digits)"}
		}
		name := line[:segmentNameLen]
		if len(line) > segmentNameLen && line[segmentNameLen] != d.Field {
			return nil, &ParseError{Segment: n, Name: name, Msg: fmt.Sprintf("the segment name must be followed by the field separator %q", d.Field)}
		}
		if name == "MSH" && n > 1 {
			return nil, &ParseError{Segment: n, Name: name, Msg: "a second MSH: more than one message"}
		}
		start := len(pool)
		pool = append(pool, name)
		rest := line[min(len(line), segmentNameLen+1):]
		if isHeader(name) {
			// MSH-1 is the separator; MSH-2 runs to the next separator.
			enc, after, more := strings.Cut(rest, string(d.Field))
			pool = append(pool, string(d.Field), enc)
			rest = after
			if !more {
				m.Segments = append(m.Segments, Segment{Name: name, Index: n - 1, fields: pool[start:len(pool):len(pool)], d: d})
				continue
			}
		} else if len(line) == segmentNameLen {
			m.Segments = append(m.Segments, Segment{Name: name, Index: n - 1, fields: pool[start:len(pool):len(pool)], d: d})
			continue
		}
		for {
			i := strings.IndexByte(rest, d.Field)
			if i < 0 {
				pool = append(pool, rest)
				break
			}
			pool = append(pool, rest[:i])
			rest = rest[i+1:]
		}
		m.Segments = append(m.Segments, Segment{Name: name, Index: n - 1, fields: pool[start:len(pool):len(pool)], d: d})
	}
	return m, nil
}

// lineEnd returns the index of the first \r or \n in s, or -1.
func lineEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// trimMessage removes what may surround a message: whitespace, a byte
// order mark, MLLP framing bytes.
func trimMessage(s string) string {
	s = strings.TrimPrefix(strings.TrimLeft(s, " \t\r\n\v"), "\uFEFF")
	return strings.TrimRight(strings.TrimLeft(s, " \t\r\n\v"), " \t\r\n\x1c")
}

// readDelims reads MSH-1 and MSH-2 from the start of s.
func readDelims(s string, d *Delimiters) error {
	if len(s) < 4 {
		return &ParseError{Segment: 1, Name: "MSH", Field: 1, Msg: "no field separator"}
	}
	sep := s[3]
	if !delimChar(sep) {
		return &ParseError{Segment: 1, Name: "MSH", Field: 1, Msg: fmt.Sprintf("%q cannot be the field separator", sep)}
	}
	enc := s[4:]
	if i := strings.IndexAny(enc, "\r\n"); i >= 0 {
		enc = enc[:i]
	}
	if i := strings.IndexByte(enc, sep); i >= 0 {
		enc = enc[:i]
	}
	enc = strings.TrimRight(enc, " \t")
	switch {
	case enc == "":
		return &ParseError{Segment: 1, Name: "MSH", Field: 2, Msg: "no encoding characters"}
	case len(enc) > 5:
		return &ParseError{Segment: 1, Name: "MSH", Field: 2, Msg: fmt.Sprintf("%q: more than five encoding characters", clip(enc))}
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !delimChar(c) || strings.IndexByte(enc[:i], c) >= 0 {
			return &ParseError{Segment: 1, Name: "MSH", Field: 2, Msg: fmt.Sprintf("%q: encoding characters must be distinct punctuation", enc)}
		}
	}
	*d = Delimiters{Field: sep}
	for i, p := range []*byte{&d.Component, &d.Repetition, &d.Escape, &d.SubComponent, &d.Truncation} {
		if i < len(enc) {
			*p = enc[i]
		}
	}
	return nil
}

// delimChar reports whether c may be a delimiter: printable, neither a
// letter, a digit nor a space.
func delimChar(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
}

// validName reports whether s is a segment name: an upper-case letter then
// two upper-case letters or digits.
func validName(s string) bool {
	if len(s) != segmentNameLen || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message; messages are patient data, so
// errors quote little of them.
func clip(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// SplitMessages cuts a file or stream of ER7 messages into messages: each
// starts at a line beginning with MSH. Batch envelope segments (FHS, BHS,
// BTS, FTS) are dropped; text before the first MSH is returned as a
// message of its own unless it is blank, so that Parse reports it. The
// parts are slices of data.
func SplitMessages(data []byte) [][]byte {
	var out [][]byte
	start := -1
	flush := func(end int) {
		if start >= 0 && len(bytes.TrimSpace(data[start:end])) > 0 {
			out = append(out, data[start:end])
		}
		start = -1
	}
	for pos := 0; pos < len(data); {
		end := bytes.IndexAny(data[pos:], "\r\n")
		next := len(data)
		if end >= 0 {
			end += pos
			next = end + 1
		} else {
			end = len(data)
		}
		line := data[pos:end]
		switch {
		case bytes.HasPrefix(line, []byte("MSH")):
			flush(pos)
			start = pos
		case bytes.HasPrefix(line, []byte("FHS")), bytes.HasPrefix(line, []byte("BHS")),
			bytes.HasPrefix(line, []byte("BTS")), bytes.HasPrefix(line, []byte("FTS")):
			flush(pos)
		default:
			if start < 0 && len(bytes.TrimSpace(line)) > 0 {
				start = pos
			}
		}
		pos = next
	}
	flush(len(data))
	return out
}
