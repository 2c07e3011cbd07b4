package hl7v2

import (
	"fmt"
	"strings"
)

// NewMessage returns a message holding only an MSH segment with the given
// delimiters (DefaultDelimiters when d is the zero value).
func NewMessage(d Delimiters) *Message {
	if d.Field == 0 {
		d = DefaultDelimiters
	}
	m := &Message{Delims: d}
	m.Segments = []Segment{{Name: "MSH", fields: []string{"MSH", string(d.Field), d.encodingChars()}, d: &m.Delims}}
	return m
}

// Encode writes the message as ER7, each segment ending in \r (the form
// MLLP carries).
func (m *Message) Encode() []byte { return m.AppendEncode(nil) }

// AppendEncode appends the message as ER7 to b.
func (m *Message) AppendEncode(b []byte) []byte {
	for i := range m.Segments {
		b = m.Segments[i].appendTo(b)
		b = append(b, '\r')
	}
	return b
}

// String is the message as ER7 with segments on lines of their own, for
// logs of tests (it is patient data: never log it in production).
func (m *Message) String() string {
	return strings.ReplaceAll(string(m.Encode()), "\r", "\n")
}

// Add appends a segment named name with the given field values, escaped,
// and returns it. For a header segment the first value is MSH-3: MSH-1
// and MSH-2 come from the message's delimiters. Appending may move the
// segments, so a *Segment obtained before Add (from Segment, All, Nth or
// Add) must be looked up again after it.
func (m *Message) Add(name string, values ...string) *Segment {
	fields := make([]string, 0, len(values)+3)
	fields = append(fields, name)
	if isHeader(name) {
		fields = append(fields, string(m.Delims.Field), m.Delims.encodingChars())
	}
	for _, v := range values {
		fields = append(fields, m.Delims.EscapeString(v))
	}
	m.Segments = append(m.Segments, Segment{Name: name, Index: len(m.Segments), fields: fields, d: &m.Delims})
	return &m.Segments[len(m.Segments)-1]
}

// Set stores an unescaped value at a path such as "MSH-9-1" or
// "PID-3(2)-4", creating the segment (when the occurrence asked for is the
// next one), the field, repetition, component and sub-component as
// needed.
func (m *Message) Set(path, value string) error {
	p, err := ParsePath(path)
	if err != nil {
		return err
	}
	if p.Field == 0 {
		return fmt.Errorf("hl7v2: set %q: no field", path)
	}
	occ := max(p.SegmentRep, 1)
	s := m.Nth(p.Segment, occ)
	if s == nil {
		if len(m.All(p.Segment)) != occ-1 {
			return fmt.Errorf("hl7v2: set %q: segment %s occurs fewer than %d times", path, p.Segment, occ-1)
		}
		s = m.Add(p.Segment)
	}
	return s.set(p, m.Delims.EscapeString(value))
}

// Set stores an unescaped value in field n (from 1), replacing the whole
// field.
func (s *Segment) Set(n int, value string) error {
	if s == nil {
		return fmt.Errorf("hl7v2: set on no segment")
	}
	return s.set(Path{Field: n}, s.d.EscapeString(value))
}

// SetRaw stores an already escaped ER7 value (repetitions, components and
// all) in field n.
func (s *Segment) SetRaw(n int, raw string) error {
	if s == nil {
		return fmt.Errorf("hl7v2: set on no segment")
	}
	if strings.ContainsAny(raw, "\r\n") || strings.IndexByte(raw, s.d.Field) >= 0 {
		return fmt.Errorf("hl7v2: field %d: a raw value cannot hold a segment or field separator", n)
	}
	return s.set(Path{Field: n}, raw)
}

// set stores escaped text at p (Field ≥ 1) within s.
func (s *Segment) set(p Path, esc string) error {
	if p.Field < 1 || p.Field > 999 || p.Rep > 999 || p.Comp > 999 || p.Sub > 999 {
		return fmt.Errorf("hl7v2: %s: position out of range", p)
	}
	if isHeader(s.Name) && p.Field <= 2 {
		return fmt.Errorf("hl7v2: %s-%d is set by the delimiters", s.Name, p.Field)
	}
	for len(s.fields) <= p.Field {
		s.fields = append(s.fields, "")
	}
	if p.Rep == 0 && p.Comp == 0 {
		s.fields[p.Field] = esc
		return nil
	}
	d := s.d
	if (p.Rep > 1 && d.Repetition == 0) || (p.Comp > 1 && d.Component == 0) || (p.Sub > 1 && d.SubComponent == 0) {
		return fmt.Errorf("hl7v2: %s: the message has no delimiter for that", p)
	}
	f := s.fields[p.Field]
	f = replacePart(f, d.Repetition, max(p.Rep, 1), func(rep string) string {
		if p.Comp == 0 {
			return esc
		}
		return replacePart(rep, d.Component, p.Comp, func(comp string) string {
			if p.Sub == 0 {
				return esc
			}
			return replacePart(comp, d.SubComponent, p.Sub, func(string) string { return esc })
		})
	})
	s.fields[p.Field] = f
	return nil
}

// replacePart replaces part n (from 1) of s split at sep with f(part),
// adding empty parts as needed.
func replacePart(s string, sep byte, n int, f func(string) string) string {
	if sep == 0 {
		return f(s)
	}
	parts := strings.Split(s, string(sep))
	for len(parts) < n {
		parts = append(parts, "")
	}
	parts[n-1] = f(parts[n-1])
	return strings.Join(parts, string(sep))
}
