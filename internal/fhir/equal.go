package fhir

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
)

// JSONEqual reports whether a and b are the same JSON value (as the RFC
// 6902 test operation and FHIRPath's equality of complex values define it): numbers are equal when their values are
// (json.Number "1", "1.0" and "10e-1" are all equal), objects when they have
// the same members irrespective of order, arrays when they have the same
// elements in the same order. A string is never equal to a number.
func JSONEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !JSONEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !JSONEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	xs, ok := numberText(a)
	if !ok {
		return false
	}
	ys, ok := numberText(b)
	if !ok {
		return false
	}
	if xs == ys {
		return true
	}
	xd, xok := parseDecimal(xs)
	yd, yok := parseDecimal(ys)
	if !xok || !yok {
		return false // not JSON numbers: only identical text is equal
	}
	return xd.equal(yd)
}

// numberText returns the text of a number in a decoded tree: json.Number
// normally, the Go numeric types for trees built by hand.
func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case float64:
		return strconv.FormatFloat(n, 'g', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(n), 'g', -1, 32), true
	case int:
		return strconv.Itoa(n), true
	case int64:
		return strconv.FormatInt(n, 10), true
	}
	return "", false
}

// decimal is a JSON number in canonical form: its value is
// (-1)^neg × digits × 10^exp, where digits has no leading or trailing zeros.
// Zero is the empty digits (and neg false, so -0 equals 0). The exponent is a
// big.Int because a JSON number may be written 1e99999999999999999999; it
// is never used for arithmetic beyond adding a length, so a huge exponent
// costs nothing (unlike big.Rat.SetString, which would expand it).
type decimal struct {
	neg    bool
	digits string
	exp    big.Int
}

// parseDecimal parses s, which must follow the JSON number grammar
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
func parseDecimal(s string) (*decimal, bool) {
	d := new(decimal)
	if strings.HasPrefix(s, "-") {
		d.neg = true
		s = s[1:]
	}
	i := digitsEnd(s)
	if i == 0 || (i > 1 && s[0] == '0') {
		return nil, false
	}
	intPart, s := s[:i], s[i:]
	frac := ""
	if strings.HasPrefix(s, ".") {
		j := digitsEnd(s[1:])
		if j == 0 {
			return nil, false
		}
		frac, s = s[1:1+j], s[1+j:]
	}
	if s != "" {
		if s[0] != 'e' && s[0] != 'E' {
			return nil, false
		}
		e := s[1:]
		if e != "" && (e[0] == '+' || e[0] == '-') {
			e = e[1:]
		}
		if e == "" || digitsEnd(e) != len(e) {
			return nil, false
		}
		if _, ok := d.exp.SetString(strings.TrimPrefix(s[1:], "+"), 10); !ok {
			return nil, false
		}
	}
	m := strings.TrimLeft(intPart+frac, "0")
	t := strings.TrimRight(m, "0")
	d.digits = t
	if t == "" {
		d.neg = false
		d.exp.SetInt64(0)
		return d, true
	}
	d.exp.Add(&d.exp, big.NewInt(int64(len(m)-len(t)-len(frac))))
	return d, true
}

func digitsEnd(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func (d *decimal) equal(e *decimal) bool {
	return d.neg == e.neg && d.digits == e.digits && d.exp.Cmp(&e.exp) == 0
}
