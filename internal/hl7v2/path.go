package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
)

// Path names a place in a message: "PID-3(2)-1" is segment PID (its first
// occurrence), field 3, repetition 2, component 1. Numbers count from 1;
// 0 means "not given" (SegmentRep and Rep then mean the first).
type Path struct {
	Segment    string
	SegmentRep int
	Field      int
	Rep        int
	Comp       int
	Sub        int
}

// ParsePath reads a terser-style path: SEG[(n)][-F[(r)][-C[-S]]], with
// dots allowed in place of dashes.
func ParsePath(s string) (Path, error) {
	var p Path
	if len(s) < 3 {
		return p, fmt.Errorf("hl7v2: path %q: no segment name", s)
	}
	p.Segment = s[:3]
	if !validName(p.Segment) {
		return p, fmt.Errorf("hl7v2: path %q: %q is not a segment name", s, p.Segment)
	}
	rest := s[3:]
	var ok bool
	if p.SegmentRep, rest, ok = paren(rest); !ok {
		return p, fmt.Errorf("hl7v2: path %q: bad segment occurrence", s)
	}
	if rest == "" {
		return p, nil
	}
	if rest[0] != '-' && rest[0] != '.' {
		return p, fmt.Errorf("hl7v2: path %q: expected - after the segment", s)
	}
	fp, ok := parseFieldPath(rest[1:])
	if !ok {
		return p, fmt.Errorf("hl7v2: path %q: bad field, component or sub-component", s)
	}
	p.Field, p.Rep, p.Comp, p.Sub = fp.Field, fp.Rep, fp.Comp, fp.Sub
	return p, nil
}

// parseFieldPath reads F[(r)][-C[-S]].
func parseFieldPath(s string) (Path, bool) {
	var p Path
	parts := strings.Split(strings.ReplaceAll(s, ".", "-"), "-")
	if len(parts) > 3 {
		return p, false
	}
	for _, x := range parts {
		if x == "" {
			return p, false
		}
	}
	f, rest := digits(parts[0])
	var ok bool
	if p.Field, ok = atoi(f); !ok || p.Field < 1 {
		return p, false
	}
	if p.Rep, rest, ok = paren(rest); !ok || rest != "" {
		return p, false
	}
	if len(parts) > 1 {
		if p.Comp, ok = atoi(parts[1]); !ok || p.Comp < 1 {
			return p, false
		}
	}
	if len(parts) > 2 {
		if p.Sub, ok = atoi(parts[2]); !ok || p.Sub < 1 {
			return p, false
		}
	}
	return p, true
}

// String writes the path back in the form ParsePath reads, leaving out
// what is not given.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Segment)
	if p.SegmentRep > 1 {
		fmt.Fprintf(&b, "(%d)", p.SegmentRep)
	}
	if p.Field == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "-%d", p.Field)
	if p.Rep > 1 {
		fmt.Fprintf(&b, "(%d)", p.Rep)
	}
	if p.Comp > 0 {
		fmt.Fprintf(&b, "-%d", p.Comp)
		if p.Sub > 0 {
			fmt.Fprintf(&b, "-%d", p.Sub)
		}
	}
	return b.String()
}

// paren reads an optional "(n)" at the start of s.
func paren(s string) (int, string, bool) {
	if s == "" || s[0] != '(' {
		return 0, s, true
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return 0, s, false
	}
	n, ok := atoi(s[1:end])
	if !ok || n < 1 {
		return 0, s, false
	}
	return n, s[end+1:], true
}

func digits(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
