package jsonpatch

import (
	"math"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// pointer is a parsed JSON Pointer (RFC 6901): its reference tokens with the
// ~1 and ~0 escapes undone. The empty pointer (the whole document) has no
// tokens.
type pointer []string

// parsePointer parses s as a JSON Pointer. It fails on a pointer that is not
// empty and does not start with "/", and on a "~" not followed by 0 or 1.
func parsePointer(s string) (pointer, error) {
	if s == "" {
		return pointer{}, nil
	}
	if s[0] != '/' {
		return nil, fhir.E(fhir.Invalid, "JSON Pointer %q must be empty or start with \"/\"", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		if !strings.Contains(p, "~") {
			continue
		}
		for j := 0; j < len(p); j++ {
			if p[j] == '~' && (j+1 == len(p) || (p[j+1] != '0' && p[j+1] != '1')) {
				return nil, fhir.E(fhir.Invalid, "JSON Pointer %q has a \"~\" not followed by 0 or 1", s)
			}
		}
		// ~1 first, then ~0, so that "~01" becomes "~1" and not "/".
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return pointer(parts), nil
}

// isProperPrefix reports whether p is a proper prefix of q, token by token
// ("/a" is a proper prefix of "/a/b" but not of "/ab" nor of "/a").
func (p pointer) isProperPrefix(q pointer) bool {
	if len(p) >= len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// equal reports whether p and q have the same tokens.
func (p pointer) equal(q pointer) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// arrayIndex resolves the reference token tok against an array of length n.
// RFC 6901 allows only "0" or a decimal number without leading zeros; "-"
// (the element after the last) is accepted, as index n, only when allowEnd.
// max is the largest acceptable index: n-1 to address an existing element,
// n to insert.
func arrayIndex(tok string, n, max int, allowEnd bool) (int, error) {
	if tok == "-" {
		if allowEnd {
			return n, nil
		}
		return 0, fhir.E(fhir.Unprocessable, "array index \"-\" refers to no existing element")
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fhir.E(fhir.Unprocessable, "%q is not a valid array index", tok)
	}
	i, big := 0, false
	for j := 0; j < len(tok); j++ {
		c := tok[j]
		if c < '0' || c > '9' {
			return 0, fhir.E(fhir.Unprocessable, "%q is not a valid array index", tok)
		}
		if i > (math.MaxInt-9)/10 {
			big = true // keep checking the syntax, but it is out of range
			continue
		}
		i = i*10 + int(c-'0')
	}
	if big || i > max {
		return 0, fhir.E(fhir.Unprocessable, "array index %s is out of range (array length %d)", tok, n)
	}
	return i, nil
}
