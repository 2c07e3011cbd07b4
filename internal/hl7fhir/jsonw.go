package hl7fhir

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// jw writes JSON in the order it is given, as FHIR readers expect
// (resourceType first), faster than encoding/json on maps and without its
// key sorting. FHIR forbids empty objects, arrays and strings, and HL7
// fields are so often empty that writing first and dropping what stayed
// empty is simpler than testing first: an object or array closed with
// nothing in it is removed, key and comma included, and empty strings are
// never written.
type jw struct {
	b     []byte
	stack []frame
}

type frame struct {
	start int  // where the member (separator and key included) began
	n     int  // members written inside
	close byte // ] or }
}

// top is the innermost open container.
func (w *jw) top() *frame { return &w.stack[len(w.stack)-1] }

// key writes the separator and, in an object, the key of the next member.
func (w *jw) key(k string) {
	if len(w.stack) == 0 {
		return
	}
	f := w.top()
	if f.n > 0 {
		w.b = append(w.b, ',')
	}
	f.n++
	if k != "" {
		// Keys are this package's constants: nothing to escape.
		w.b = append(w.b, '"')
		w.b = append(w.b, k...)
		w.b = append(w.b, '"', ':')
	}
}

func (w *jw) open(k string, c, close byte) {
	start := len(w.b)
	w.key(k)
	w.b = append(w.b, c)
	w.stack = append(w.stack, frame{start: start, close: close})
}

// obj opens an object as member k ("" in an array or at the top).
func (w *jw) obj(k string) { w.open(k, '{', '}') }

// arr opens an array as member k.
func (w *jw) arr(k string) { w.open(k, '[', ']') }

// end closes the innermost container, or removes it if it stayed empty.
func (w *jw) end() {
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if f.n == 0 && len(w.stack) > 0 {
		w.b = w.b[:f.start]
		w.top().n--
		return
	}
	w.b = append(w.b, f.close)
}

// str writes a string member, unless v is empty (after trimming spaces:
// FHIR strings may not be blank).
func (w *jw) str(k, v string) {
	v = clean(v)
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

// rawNum writes a member whose value is JSON text already checked (a
// number, true, false).
func (w *jw) rawNum(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *jw) boolean(k string, v bool) {
	if v {
		w.rawNum(k, "true")
	} else {
		w.rawNum(k, "false")
	}
}

// base64 writes data as a base64Binary member.
func (w *jw) base64(k string, data []byte) {
	if len(data) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = base64.StdEncoding.AppendEncode(w.b, data)
	w.b = append(w.b, '"')
}

// ref writes a Reference member {"reference": to}.
func (w *jw) ref(k, to string) {
	if to == "" {
		return
	}
	w.obj(k)
	w.str("reference", to)
	w.end()
}

// clean removes what a FHIR string may not hold (control characters but
// tab, line feed and carriage return) and white space at either end.
func clean(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			s = strings.Map(func(r rune) rune {
				if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
					return -1
				}
				return r
			}, s)
			break
		}
	}
	return strings.TrimSpace(s)
}

// appendString appends s as a JSON string. Control characters FHIR does
// not allow in strings (all below U+0020 but tab, line feed and carriage
// return) are dropped, and invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is plain text not yet appended
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, byte('8'+r-'\u2028'))
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
