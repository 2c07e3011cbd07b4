package mpi

import (
	"errors"
	"fmt"
	"strings"
)

// Postcode is a UK postcode split into its outward code (area and
// district: "S7", "DN12", "EC1A") and inward code (sector digit and unit:
// "0SB"). People move within a sector more often than across the
// country, and a sector holds a few thousand addresses, so agreement on
// the sector or district is evidence too, weaker than the full code.
type Postcode struct {
	Outward string // 2 to 4 characters
	Inward  string // 3 characters: digit, letter, letter
}

// ErrPostcode is returned (wrapped) for text that is not a UK postcode.
var ErrPostcode = errors.New("not a UK postcode")

// ParsePostcode reads a UK postcode in any case, with or without the
// space ("s70sb", "S7 0SB", " s7  0sb "). The formats are A9, A99, AA9,
// AA99, A9A and AA9A for the outward code and 9AA for the inward code.
// The NHS pseudo-postcodes ZZ99 (no fixed abode, not known, abroad)
// parse but are not places: see Postcode.Pseudo.
func ParsePostcode(s string) (Postcode, error) {
	var buf [8]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '-':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return Postcode{}, fmt.Errorf("%w: %q has %q", ErrPostcode, s, c)
		}
		if n == len(buf) {
			return Postcode{}, fmt.Errorf("%w: %q is too long", ErrPostcode, s)
		}
		buf[n] = c
		n++
	}
	if n < 5 {
		return Postcode{}, fmt.Errorf("%w: %q is too short", ErrPostcode, s)
	}
	out, in := buf[:n-3], buf[n-3:n]
	if !isDigit(in[0]) || !isLetter(in[1]) || !isLetter(in[2]) {
		return Postcode{}, fmt.Errorf("%w: inward code %q is not digit-letter-letter", ErrPostcode, in)
	}
	if !validOutward(out) {
		return Postcode{}, fmt.Errorf("%w: outward code %q is not A9, A99, AA9, AA99, A9A or AA9A", ErrPostcode, out)
	}
	return Postcode{Outward: string(out), Inward: string(in)}, nil
}

func validOutward(o []byte) bool {
	switch len(o) {
	case 2: // A9
		return isLetter(o[0]) && isDigit(o[1])
	case 3: // A99, AA9, A9A
		return isLetter(o[0]) && (isDigit(o[1]) && isDigit(o[2]) ||
			isLetter(o[1]) && isDigit(o[2]) ||
			isDigit(o[1]) && isLetter(o[2]))
	case 4: // AA99, AA9A
		return isLetter(o[0]) && isLetter(o[1]) && isDigit(o[2]) && (isDigit(o[3]) || isLetter(o[3]))
	}
	return false
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' }

// String is the postcode as written: outward, a space, inward.
func (p Postcode) String() string {
	if p.Outward == "" {
		return ""
	}
	return p.Outward + " " + p.Inward
}

// Sector is the outward code and the inward digit ("S7 0").
func (p Postcode) Sector() string {
	if p.Outward == "" {
		return ""
	}
	return p.Outward + " " + p.Inward[:1]
}

// District is the outward code ("S7").
func (p Postcode) District() string { return p.Outward }

// Area is the leading letters ("S", "DN").
func (p Postcode) Area() string {
	i := 0
	for i < len(p.Outward) && isLetter(p.Outward[i]) {
		i++
	}
	return p.Outward[:i]
}

// Pseudo reports whether p is one of the NHS pseudo-postcodes (ZZ99 3VZ
// no fixed abode, ZZ99 3WZ address not known, ZZ99 3CZ England not
// otherwise specified, and the ZZ99 codes for countries abroad). Two
// people of no fixed abode share nothing, so matching treats these as
// missing.
func (p Postcode) Pseudo() bool { return p.Outward == "ZZ99" }

// normPostcode is the canonical form of a postcode for matching ("S7
// 0SB"), "" for a pseudo-postcode, and for text that does not parse, the
// text without blanks in upper case, so two copies of the same odd value
// still agree exactly.
func normPostcode(s string) string {
	p, err := ParsePostcode(s)
	if err == nil {
		if p.Pseudo() {
			return ""
		}
		return p.String()
	}
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// postcodeParts splits a canonical postcode into its sector and district
// (both "" when it did not parse).
func postcodeParts(pc string) (sector, district string) {
	i := strings.IndexByte(pc, ' ')
	if i < 0 || i+2 > len(pc) {
		return "", ""
	}
	return pc[:i+2], pc[:i]
}
