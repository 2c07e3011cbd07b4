package hl7v2

import (
	"iter"
	"strings"
)

// Message is a parsed HL7 v2 message: its delimiters and its segments in
// order. The zero value is not useful; use Parse or NewMessage.
type Message struct {
	Delims   Delimiters
	Segments []Segment
}

// Segment is one segment: its name and its fields, still escaped. Field
// numbers are HL7's: Field(1) is the first field after the name, and in
// MSH (and the batch headers FHS and BHS) Field(1) is the field separator
// and Field(2) the encoding characters. Methods on a nil *Segment return
// empty values, so m.Segment("PV1").Field(3) is safe when there is no PV1.
type Segment struct {
	Name string
	// Index is the segment's position in Message.Segments.
	Index int
	// fields[0] is the name and fields[i] field i, escaped; in a header
	// segment fields[1] is the field separator and fields[2] MSH-2.
	fields []string
	d      *Delimiters
}

// isHeader reports whether name is a segment whose first field is the
// field separator itself.
func isHeader(name string) bool { return name == "MSH" || name == "FHS" || name == "BHS" }

// NumFields is the number of the last field present (0 when none).
func (s *Segment) NumFields() int {
	if s == nil || len(s.fields) == 0 {
		return 0
	}
	return len(s.fields) - 1
}

// Field returns field n (from 1), empty when absent.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n >= len(s.fields) {
		return Field{}
	}
	if n <= 2 && isHeader(s.Name) {
		// The separator and the encoding characters are literal: never
		// split them or decode escapes in them.
		return Field{raw: s.fields[n]}
	}
	return Field{raw: s.fields[n], d: s.d}
}

// Get returns the unescaped value at a path relative to the segment, such
// as "3", "3-1", "3(2)-1-2" (field, repetition, component, sub-component).
func (s *Segment) Get(path string) string {
	p, ok := parseFieldPath(path)
	if !ok {
		return ""
	}
	return s.at(p)
}

func (s *Segment) at(p Path) string {
	f := s.Field(p.Field)
	r := f.Rep(max(p.Rep, 1))
	if p.Comp == 0 {
		return r.String()
	}
	c := r.Comp(p.Comp)
	if p.Sub == 0 {
		return c.String()
	}
	return c.Sub(p.Sub)
}

// Raw returns the segment as ER7, without a segment terminator.
func (s *Segment) Raw() string {
	if s == nil {
		return ""
	}
	return string(s.appendTo(nil))
}

func (s *Segment) appendTo(b []byte) []byte {
	b = append(b, s.Name...)
	header := isHeader(s.Name)
	for i := 1; i < len(s.fields); i++ {
		if header && i == 1 {
			continue // the separator is written by the next field's separator
		}
		b = append(b, s.d.Field)
		b = append(b, s.fields[i]...)
	}
	if header && len(s.fields) == 2 {
		b = append(b, s.d.Field)
	}
	return b
}

// Segment returns the first segment named name, or nil.
func (m *Message) Segment(name string) *Segment {
	if m == nil {
		return nil
	}
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// Nth returns the n-th (from 1) segment named name, or nil.
func (m *Message) Nth(name string, n int) *Segment {
	if m == nil {
		return nil
	}
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			n--
			if n == 0 {
				return &m.Segments[i]
			}
		}
	}
	return nil
}

// All returns every segment named name, in order.
func (m *Message) All(name string) []*Segment {
	if m == nil {
		return nil
	}
	var out []*Segment
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			out = append(out, &m.Segments[i])
		}
	}
	return out
}

// Get returns the unescaped value at a terser-style path such as "PID-5",
// "PID-3(2)-1", "OBX(2)-5-1" or "MSH-9-2": segment, its occurrence in
// parentheses (from 1), field, field repetition in parentheses (from 1),
// component, sub-component. Dots may stand for the dashes ("PID.3.1").
// A path without a component gives the first component (and of it the
// first sub-component), as HAPI's terser does. Anything absent, or a path
// that cannot be read, gives "".
func (m *Message) Get(path string) string {
	p, err := ParsePath(path)
	if err != nil {
		return ""
	}
	return m.Nth(p.Segment, max(p.SegmentRep, 1)).at(p)
}

// Field is one field with all its repetitions, still escaped.
type Field struct {
	raw string
	d   *Delimiters // nil for literal fields (MSH-1, MSH-2)
}

// Raw is the field as written in the message, escapes included.
func (f Field) Raw() string { return f.raw }

// Empty reports whether the field has no value at all.
func (f Field) Empty() bool { return f.raw == "" }

// Null reports whether the field is the explicit null "" (delete the value
// on the receiving side), as opposed to being empty (leave it as it is).
func (f Field) Null() bool { return f.raw == `""` }

// NumReps is the number of repetitions (0 for an empty field).
func (f Field) NumReps() int {
	if f.raw == "" {
		return 0
	}
	if f.d == nil || f.d.Repetition == 0 {
		return 1
	}
	return strings.Count(f.raw, string(f.d.Repetition)) + 1
}

// Rep returns repetition n (from 1).
func (f Field) Rep(n int) Rep {
	if f.d == nil || f.d.Repetition == 0 {
		if n == 1 {
			return Rep(f)
		}
		return Rep{}
	}
	return Rep{raw: nth(f.raw, f.d.Repetition, n), d: f.d}
}

// Reps iterates over the repetitions, numbered from 1.
func (f Field) Reps() iter.Seq2[int, Rep] {
	return func(yield func(int, Rep) bool) {
		if f.raw == "" {
			return
		}
		if f.d == nil || f.d.Repetition == 0 {
			yield(1, Rep(f))
			return
		}
		s := f.raw
		for n := 1; ; n++ {
			i := strings.IndexByte(s, f.d.Repetition)
			if i < 0 {
				yield(n, Rep{raw: s, d: f.d})
				return
			}
			if !yield(n, Rep{raw: s[:i], d: f.d}) {
				return
			}
			s = s[i+1:]
		}
	}
}

// Comp returns component n (from 1) of the first repetition.
func (f Field) Comp(n int) Comp { return f.Rep(1).Comp(n) }

// String is the unescaped first component (its first sub-component) of
// the first repetition: the whole value of a simple field.
func (f Field) String() string { return f.Rep(1).String() }

// Rep is one repetition of a field.
type Rep struct {
	raw string
	d   *Delimiters
}

// Raw is the repetition as written, escapes included.
func (r Rep) Raw() string { return r.raw }

// Empty reports whether the repetition has no value.
func (r Rep) Empty() bool { return r.raw == "" }

// NumComps is the number of components (0 when empty).
func (r Rep) NumComps() int {
	if r.raw == "" {
		return 0
	}
	if r.d == nil || r.d.Component == 0 {
		return 1
	}
	return strings.Count(r.raw, string(r.d.Component)) + 1
}

// Comp returns component n (from 1).
func (r Rep) Comp(n int) Comp {
	if r.d == nil || r.d.Component == 0 {
		if n == 1 {
			return Comp(r)
		}
		return Comp{}
	}
	return Comp{raw: nth(r.raw, r.d.Component, n), d: r.d}
}

// String is the unescaped first component (its first sub-component).
func (r Rep) String() string { return r.Comp(1).String() }

// Text is the whole repetition unescaped, components and sub-components
// still joined by their separators: for free text that a sender did not
// escape.
func (r Rep) Text() string {
	if r.d == nil {
		return r.raw
	}
	return r.d.UnescapeString(r.raw)
}

// Comp is one component of a repetition.
type Comp struct {
	raw string
	d   *Delimiters
}

// Raw is the component as written, escapes included.
func (c Comp) Raw() string { return c.raw }

// Empty reports whether the component has no value.
func (c Comp) Empty() bool { return c.raw == "" }

// Sub returns sub-component n (from 1), unescaped.
func (c Comp) Sub(n int) string {
	if c.d == nil || c.d.SubComponent == 0 {
		if n == 1 {
			return c.unescape(c.raw)
		}
		return ""
	}
	return c.unescape(nth(c.raw, c.d.SubComponent, n))
}

// String is the first sub-component unescaped: the whole value of a simple
// component.
func (c Comp) String() string { return c.Sub(1) }

// Text is the whole component unescaped, sub-components still joined.
func (c Comp) Text() string { return c.unescape(c.raw) }

func (c Comp) unescape(s string) string {
	if c.d == nil {
		return s
	}
	return c.d.UnescapeString(s)
}

// nth returns the n-th (from 1) part of s split at sep, "" when absent.
func nth(s string, sep byte, n int) string {
	if n < 1 {
		return ""
	}
	for ; n > 1; n-- {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}
