package mpi

import (
	"errors"
	"fmt"
	"strconv"
)

// NHSNumberSystem is the identifier system of NHS numbers (England, Wales
// and the Isle of Man).
const NHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// NHSNumber is a valid NHS number: ten digits whose last is the Modulus 11
// check digit of the first nine. Its zero value means "none". It is held
// as a number, not a string, so an index of a million people spends eight
// bytes on each.
type NHSNumber uint64

// Why an NHS number is invalid; test with errors.Is.
var (
	ErrNHSLength     = errors.New("not ten digits")
	ErrNHSNonDigit   = errors.New("not a digit")
	ErrNHSCheckDigit = errors.New("wrong check digit")
	// ErrNHSNoCheckDigit is a number whose first nine digits have no
	// check digit (Modulus 11 gives 10): no such NHS number is issued.
	ErrNHSNoCheckDigit = errors.New("first nine digits have no valid check digit")
	// ErrNHSPlaceholder is 000 000 0000, which passes the check but is
	// what systems write when they have no number.
	ErrNHSPlaceholder = errors.New("all zeros: a placeholder, not a number")
)

// NHSNumberError says why a string is not an NHS number.
type NHSNumberError struct {
	Input  string
	Reason error // one of the ErrNHS* values
	Detail string
}

func (e *NHSNumberError) Error() string {
	s := fmt.Sprintf("invalid NHS number %q: %v", e.Input, e.Reason)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *NHSNumberError) Unwrap() error { return e.Reason }

// ParseNHSNumber reads an NHS number written with or without spaces or
// hyphens between digits ("943 476 5919", "943-476-5919", "9434765919").
// Leading and trailing spaces are ignored; anything else that is not a
// digit is an error.
func ParseNHSNumber(s string) (NHSNumber, error) {
	var d [10]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n < len(d) {
				d[n] = c - '0'
			}
			n++
		case c == ' ' || c == '-' || c == '\t':
			// Separators are allowed anywhere: people write 3-3-4, 4-3-3
			// and 10 in a row, and leading and trailing blanks come from
			// forms.
		default:
			return 0, &NHSNumberError{Input: s, Reason: ErrNHSNonDigit, Detail: fmt.Sprintf("%q at byte %d", rune(c), i)}
		}
	}
	if n != 10 {
		return 0, &NHSNumberError{Input: s, Reason: ErrNHSLength, Detail: fmt.Sprintf("%d digits", n)}
	}
	check := nhsCheck(d[:9])
	if check == 10 {
		return 0, &NHSNumberError{Input: s, Reason: ErrNHSNoCheckDigit}
	}
	if int(d[9]) != check {
		return 0, &NHSNumberError{Input: s, Reason: ErrNHSCheckDigit, Detail: fmt.Sprintf("expected %d, got %d", check, d[9])}
	}
	var v uint64
	for _, x := range d {
		v = v*10 + uint64(x)
	}
	if v == 0 {
		return 0, &NHSNumberError{Input: s, Reason: ErrNHSPlaceholder}
	}
	return NHSNumber(v), nil
}

// nhsCheck is the Modulus 11 check digit of nine digits (values 0-9):
// weights 10 down to 2, 11 minus the sum modulo 11, where 11 becomes 0.
// It returns 10 when no check digit exists.
func nhsCheck(d []byte) int {
	sum := 0
	for i, x := range d[:9] {
		sum += int(x) * (10 - i)
	}
	c := 11 - sum%11
	if c == 11 {
		return 0
	}
	return c
}

// Valid reports whether n is a ten-digit number with a correct check
// digit (ParseNHSNumber only returns such numbers; a conversion from an
// arbitrary integer may not be).
func (n NHSNumber) Valid() bool {
	if n == 0 || n > 9_999_999_999 {
		return false
	}
	_, err := ParseNHSNumber(n.String())
	return err == nil
}

// String is the ten digits without spaces, as FHIR identifiers carry them.
func (n NHSNumber) String() string {
	if n == 0 {
		return ""
	}
	s := strconv.FormatUint(uint64(n), 10)
	for len(s) < 10 {
		s = "0" + s
	}
	return s
}

// Format writes the number as people read it: 3-3-4 digits separated by
// spaces ("943 476 5919").
func (n NHSNumber) Format() string {
	s := n.String()
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}
