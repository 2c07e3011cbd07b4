package hl7v2

import (
	"fmt"
	"strings"
	"time"
)

// Precision is how much of a date and time an HL7 value gave.
type Precision int

// Precisions, coarsest first.
const (
	PrecisionNone Precision = iota
	PrecisionYear
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionFraction // seconds with a decimal fraction
)

// Time is an HL7 DTM or TS value: the moment, how precise it was, and
// whether it carried its own UTC offset.
type Time struct {
	time.Time
	Precision Precision
	// Zoned reports whether the value gave its offset (+ZZZZ); if not, it
	// was read in the location passed to ParseTime.
	Zoned bool
	// Digits is the number of digits of the fraction of a second.
	Digits int
}

// ParseTime reads a DTM (and the first component of a TS):
// YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]. A value without an offset is in
// loc (UTC when nil). An empty value gives the zero Time and no error.
func ParseTime(s string, loc *time.Location) (Time, error) {
	var t Time
	if s == "" {
		return t, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	bad := func(why string) (Time, error) {
		// The value is not quoted: it may be a birth date.
		return Time{}, fmt.Errorf("hl7v2: not a date and time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]): %s", why)
	}
	// The offset, if any, is the last five characters.
	body := s
	var zone *time.Location
	if n := len(s); n >= 5 && (s[n-5] == '+' || s[n-5] == '-') {
		h, ok1 := num(s[n-4 : n-2])
		mi, ok2 := num(s[n-2:])
		if !ok1 || !ok2 || h > 14 || mi > 59 || h == 14 && mi > 0 {
			return bad("bad offset")
		}
		off := (h*60 + mi) * 60
		if s[n-5] == '-' {
			off = -off
		}
		zone = time.FixedZone("", off)
		body = s[:n-5]
		t.Zoned = true
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 || frac == "" || len(frac) > 9 {
			return bad("a fraction needs seconds and at most nine digits")
		}
	}
	var parts [6]int // year, month, day, hour, minute, second
	parts[1], parts[2] = 1, 1
	switch len(body) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return bad("wrong length")
	}
	for i, w := range [...]int{4, 2, 2, 2, 2, 2} {
		start := 0
		if i > 0 {
			start = 4 + 2*(i-1)
		}
		if start >= len(body) {
			break
		}
		v, ok := num(body[start : start+w])
		if !ok {
			return bad("not digits")
		}
		parts[i] = v
	}
	t.Precision = [...]Precision{4: PrecisionYear, 6: PrecisionMonth, 8: PrecisionDay, 10: PrecisionHour, 12: PrecisionMinute, 14: PrecisionSecond}[len(body)]
	nsec := 0
	if frac != "" {
		v, ok := num(frac)
		if !ok {
			return bad("not digits")
		}
		for i := len(frac); i < 9; i++ {
			v *= 10
		}
		nsec = v
		t.Precision = PrecisionFraction
		t.Digits = len(frac)
	}
	if parts[0] < 1 || parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 59 {
		return bad("out of range")
	}
	if zone == nil {
		zone = loc
	}
	t.Time = time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], nsec, zone)
	if t.Time.Day() != parts[2] {
		return bad("no such day")
	}
	return t, nil
}

// num reads s as a decimal number of at most nine digits.
func num(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// FormatTime writes t as an HL7 DTM to the second, with its offset:
// YYYYMMDDHHMMSS+ZZZZ.
func FormatTime(t time.Time) string {
	return t.Format("20060102150405-0700")
}
