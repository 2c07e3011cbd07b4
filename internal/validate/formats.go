package validate

import "github.com/sharedcare/sharedcare/internal/fhirdef"

// matchFormat reports whether s matches the primitive type's regex from the
// definitions. The common types have hand-written matchers, equivalent to
// the published regexes (FuzzFormats checks them against the regexes) and
// several times faster than Go's regexp; the rest use the regex.
func matchFormat(td *fhirdef.TypeDef, s string) bool {
	switch td.Name {
	case "string", "markdown": // [ \r\n\t\S]+
		if s == "" {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '\f' {
				return false
			}
		}
		return true
	case "uri", "url", "canonical": // \S*
		for i := 0; i < len(s); i++ {
			if isSpace(s[i]) {
				return false
			}
		}
		return true
	case "code": // [^\s]+(\s[^\s]+)*
		if s == "" || isSpace(s[0]) || isSpace(s[len(s)-1]) {
			return false
		}
		for i := 1; i < len(s); i++ {
			if isSpace(s[i]) && isSpace(s[i-1]) {
				return false
			}
		}
		return true
	case "id": // [A-Za-z0-9\-\.]{1,64}
		if len(s) == 0 || len(s) > 64 {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.') {
				return false
			}
		}
		return true
	case "date":
		i := datePart(s, false)
		return i == len(s)
	case "dateTime":
		i := datePart(s, false)
		if i == len(s) {
			return true
		}
		if i != 10 || s[i] != 'T' {
			return false
		}
		return timeZonePart(s, i+1) == len(s)
	case "instant":
		i := datePart(s, true)
		if i != 10 || i >= len(s) || s[i] != 'T' {
			return false
		}
		return timeZonePart(s, i+1) == len(s)
	case "decimal": // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
		i := intPart(s)
		if i < 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			j := digits(s, i+1)
			if j == i+1 {
				return false
			}
			i = j
		}
		if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
			i++
			if i < len(s) && (s[i] == '+' || s[i] == '-') {
				i++
			}
			j := digits(s, i)
			if j == i {
				return false
			}
			i = j
		}
		return i == len(s)
	case "integer": // -?([0]|([1-9][0-9]*))
		return intPart(s) == len(s)
	}
	p := td.Pattern()
	return p == nil || p.MatchString(s)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// intPart matches -?(0|[1-9][0-9]*) at the start of s, returning the end or -1.
func intPart(s string) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return -1
	}
	if s[i] == '0' {
		return i + 1
	}
	return digits(s, i)
}

// twoDigits returns the number written at s[i:i+2], or -1.
func twoDigits(s string, i int) int {
	if i+2 > len(s) || !isDigit(s[i]) || !isDigit(s[i+1]) {
		return -1
	}
	return int(s[i]-'0')*10 + int(s[i+1]-'0')
}

// datePart matches YYYY(-MM(-DD)?)? (the whole of it when full) at the start
// of s and returns where it ended, or -1. The year is any four digits but
// 0000.
func datePart(s string, full bool) int {
	if len(s) < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) || s[:4] == "0000" {
		return -1
	}
	if len(s) == 4 || s[4] != '-' {
		if full {
			return -1
		}
		return 4
	}
	if m := twoDigits(s, 5); m < 1 || m > 12 {
		return -1
	}
	if len(s) == 7 || s[7] != '-' {
		if full {
			return -1
		}
		return 7
	}
	if d := twoDigits(s, 8); d < 1 || d > 31 {
		return -1
	}
	return 10
}

// timeZonePart matches hh:mm:ss(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))
// at s[i:], returning the end or -1.
func timeZonePart(s string, i int) int {
	if h := twoDigits(s, i); h < 0 || h > 23 {
		return -1
	}
	if i+2 >= len(s) || s[i+2] != ':' {
		return -1
	}
	if m := twoDigits(s, i+3); m < 0 || m > 59 {
		return -1
	}
	if i+5 >= len(s) || s[i+5] != ':' {
		return -1
	}
	if sec := twoDigits(s, i+6); sec < 0 || sec > 60 {
		return -1
	}
	i += 8
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case 'Z':
		return i + 1
	case '+', '-':
		h := twoDigits(s, i+1)
		if h < 0 || h > 14 || i+3 >= len(s) || s[i+3] != ':' {
			return -1
		}
		m := twoDigits(s, i+4)
		if m < 0 || m > 59 || (h == 14 && m != 0) {
			return -1
		}
		return i + 6
	}
	return -1
}
