package search

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// splitEsc splits s at every sep not escaped by a backslash. The escapes
// stay in the parts; unescape removes them.
func splitEsc(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unescape removes the backslash of the escapes \, \| \$ and \\. Any other
// backslash is kept as written.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`,|$\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Normalize is the form string search matches on: compatibility-decomposed
// (NFKD), combining marks removed, lower case. "Élodie" and "ELODIE" both
// give "elodie". The index must store string values normalised the same
// way.
func Normalize(s string) string {
	s = norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// cutPrefix takes a comparison prefix off a number, date or quantity value.
func cutPrefix(s string) (Prefix, string, error) {
	if len(s) >= 2 && isLower(s[0]) && isLower(s[1]) {
		for _, p := range prefixes {
			if s[:2] == string(p) {
				return p, s[2:], nil
			}
		}
		return "", "", fmt.Errorf("unknown prefix %q", s[:2])
	}
	return Eq, s, nil
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

var decimalRE = regexp.MustCompile(`^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,4}))?$`)

const maxExponent = 1000

// parseNumber parses a FHIR decimal (exponent allowed) into its plain form
// and the range of its precision: half a unit of the last significant
// digit either side.
func parseNumber(s string) (Number, bool) {
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		return Number{}, false
	}
	exp := 0
	if m[4] != "" {
		e, err := strconv.Atoi(m[4])
		if err != nil || e > maxExponent || e < -maxExponent {
			return Number{}, false
		}
		exp = e
	}
	u, ok := new(big.Int).SetString(m[2]+m[3], 10)
	if !ok {
		return Number{}, false
	}
	if m[1] == "-" {
		u.Neg(u)
	}
	scale := len(m[3]) - exp
	u10 := new(big.Int).Mul(u, big.NewInt(10))
	five := big.NewInt(5)
	return Number{
		Value: fmtScaled(u, scale),
		Low:   fmtScaled(new(big.Int).Sub(u10, five), scale+1),
		High:  fmtScaled(new(big.Int).Add(u10, five), scale+1),
	}, true
}

// fmtScaled writes i × 10^-scale in plain decimal notation.
func fmtScaled(i *big.Int, scale int) string {
	neg := i.Sign() < 0
	s := new(big.Int).Abs(i).String()
	switch {
	case i.Sign() == 0 && scale <= 0:
		s = "0"
	case scale <= 0:
		s += strings.Repeat("0", -scale)
	default:
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// The search date format: a date, dateTime or instant at any precision
// down to the minute. A '+' of a zone offset that arrived unencoded in the
// query (and so decoded as a space) is accepted as '+'.
var dateRE = regexp.MustCompile(`^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+ -][0-9]{2}:[0-9]{2})?)?)?)?$`)

// parseDate parses a search date into the range it covers. Values without
// a zone are read in loc.
func parseDate(s string, loc *time.Location) (Date, bool) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return Date{}, false
	}
	num := func(x string, def int) int {
		if x == "" {
			return def
		}
		n, _ := strconv.Atoi(x)
		return n
	}
	year, month, day := num(m[1], 0), num(m[2], 1), num(m[3], 1)
	hour, minute, sec := num(m[4], 0), num(m[5], 0), num(m[6], 0)
	if year == 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return Date{}, false
	}
	d := Date{}
	switch {
	case m[7] != "":
		d.Precision, d.Digits = Fraction, len(m[7])
	case m[6] != "":
		d.Precision = Second
	case m[4] != "":
		d.Precision = Minute
	case m[3] != "":
		d.Precision = Day
	case m[2] != "":
		d.Precision = Month
	default:
		d.Precision = Year
	}
	nsec := 0
	if m[7] != "" {
		nsec = num((m[7] + "000000000")[:9], 0)
	}
	if z := m[8]; z != "" {
		d.Zoned = true
		if z == "Z" {
			loc = time.UTC
		} else {
			zh, zm := num(z[1:3], 0), num(z[4:6], 0)
			if zh > 14 || zm > 59 {
				return Date{}, false
			}
			off := zh*3600 + zm*60
			if z[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		}
	}
	low := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	var high time.Time
	switch d.Precision {
	case Year:
		high = low.AddDate(1, 0, 0)
	case Month:
		high = low.AddDate(0, 1, 0)
	case Day:
		high = low.AddDate(0, 0, 1)
	case Minute:
		high = low.Add(time.Minute)
	case Second:
		high = low.Add(time.Second)
	default:
		step := time.Duration(1)
		for range 9 - d.Digits {
			step *= 10
		}
		high = low.Add(step)
	}
	d.Low, d.High = low.UTC(), high.UTC()
	return d, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func isAbsolute(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "urn:")
}
