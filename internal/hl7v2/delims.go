package hl7v2

import (
	"strings"
)

// Delimiters are a message's encoding characters. A zero byte means the
// message does not use that delimiter (MSH-2 may be shorter than four
// characters), so nothing is split or escaped by it.
type Delimiters struct {
	Field        byte // MSH-1, normally |
	Component    byte // ^
	Repetition   byte // ~
	Escape       byte // \
	SubComponent byte // &
	Truncation   byte // # (v2.7 and later; 0 before)
}

// DefaultDelimiters are the delimiters every sender uses in practice:
// |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', SubComponent: '&'}

// encodingChars returns MSH-2 for d.
func (d *Delimiters) encodingChars() string {
	b := make([]byte, 0, 5)
	for _, c := range [...]byte{d.Component, d.Repetition, d.Escape, d.SubComponent, d.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// isDelim reports whether c is one of d's delimiters.
func (d *Delimiters) isDelim(c byte) bool {
	return c != 0 && (c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape ||
		c == d.SubComponent || c == d.Truncation)
}

// EscapeString returns s with every delimiter written as its escape sequence,
// and line breaks as \.br\ (which a segment cannot hold), so that it can
// be placed in a field.
func (d *Delimiters) EscapeString(s string) string {
	if d.Escape == 0 {
		return s
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if d.isDelim(s[i]) || s[i] == '\r' || s[i] == '\n' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4*n)
	e := d.Escape
	for i := 0; i < len(s); i++ {
		c := s[i]
		var code string
		switch {
		case c == 0:
		case c == d.Field:
			code = "F"
		case c == d.Component:
			code = "S"
		case c == d.SubComponent:
			code = "T"
		case c == d.Repetition:
			code = "R"
		case c == d.Escape:
			code = "E"
		case c == d.Truncation:
			code = "P"
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			code = ".br"
		case c == '\n':
			code = ".br"
		}
		if code == "" {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(e)
		b.WriteString(code)
		b.WriteByte(e)
	}
	return b.String()
}

// UnescapeString decodes the escape sequences in s (a value already cut out of
// its field, component or sub-component). Unknown sequences, and an
// escape character with no closing one, are kept as written.
func (d *Delimiters) UnescapeString(s string) string {
	e := d.Escape
	if e == 0 || strings.IndexByte(s, e) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != e {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], e)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		if !d.decode(&b, seq) {
			b.WriteString(s[i : i+j+2])
		}
		i += j + 1
	}
	return b.String()
}

// decode writes what escape sequence seq (without its escape characters)
// stands for, or reports false if it is not one this package decodes.
func (d *Delimiters) decode(b *strings.Builder, seq string) bool {
	if len(seq) == 0 {
		return false
	}
	switch seq {
	case "F":
		b.WriteByte(d.Field)
	case "S":
		b.WriteByte(d.Component)
	case "T":
		b.WriteByte(d.SubComponent)
	case "R":
		b.WriteByte(d.Repetition)
	case "E":
		b.WriteByte(d.Escape)
	case "P":
		if d.Truncation == 0 {
			return false
		}
		b.WriteByte(d.Truncation)
	case "H", "N":
		// Start and end of highlighting: presentation only.
	case ".br":
		b.WriteByte('\n')
	default:
		switch {
		case strings.HasPrefix(seq, ".sp"):
			// .sp n: skip n lines (one when n is absent); capped so a
			// hostile count cannot inflate the value.
			n := 1
			if rest := strings.TrimSpace(seq[3:]); rest != "" {
				n = 0
				for _, r := range rest {
					if r < '0' || r > '9' {
						return false
					}
					n = n*10 + int(r-'0')
					if n > 100 {
						n = 100
					}
				}
			}
			for k := 0; k < n; k++ {
				b.WriteByte('\n')
			}
		case seq[0] == 'X' && len(seq) > 1 && len(seq)%2 == 1:
			for k := 1; k < len(seq); k++ {
				if _, ok := unhex(seq[k]); !ok {
					return false
				}
			}
			for k := 1; k < len(seq); k += 2 {
				hi, _ := unhex(seq[k])
				lo, _ := unhex(seq[k+1])
				b.WriteByte(hi<<4 | lo)
			}
		default:
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
