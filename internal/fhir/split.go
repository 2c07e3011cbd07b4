package fhir

import (
	"encoding/json"
	"unicode/utf8"
)

// SplitObject cuts a JSON object into its members without decoding them,
// checking on the way that the text is valid UTF-8, nested no deeper than
// MaxDepth, and well formed at the top level. Arrays among the members can
// be cut further with SplitArray. It exists so a Bundle's entries can be
// decoded and validated on all cores instead of by one decoder pass: a
// member's own text is checked only when it is decoded (Decode, or
// json.Valid through DecodePart's caller), so callers must decode or
// json.Valid every member they keep. Duplicate keys: the last one wins, as
// with encoding/json.
func SplitObject(data []byte) (map[string][]byte, error) {
	if !utf8.Valid(data) {
		return nil, E(Invalid, "request body is not valid UTF-8")
	}
	s := scanner{b: data}
	s.ws()
	if !s.eat('{') {
		return nil, s.fail("a JSON object")
	}
	out := make(map[string][]byte)
	s.ws()
	if s.eat('}') {
		return out, s.end()
	}
	for {
		s.ws()
		kstart := s.i
		if !s.str() {
			return nil, s.fail("a member name")
		}
		var key string
		if err := json.Unmarshal(data[kstart:s.i], &key); err != nil {
			return nil, s.fail("a member name")
		}
		s.ws()
		if !s.eat(':') {
			return nil, s.fail("':'")
		}
		s.ws()
		vstart := s.i
		if err := s.value(1); err != nil {
			return nil, err
		}
		out[key] = data[vstart:s.i]
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return out, s.end()
		}
		return nil, s.fail("',' or '}'")
	}
}

// SplitArray cuts a JSON array (as cut by SplitObject) into its elements,
// without decoding them.
func SplitArray(data []byte) ([][]byte, error) {
	s := scanner{b: data}
	s.ws()
	if !s.eat('[') {
		return nil, s.fail("a JSON array")
	}
	var out [][]byte
	s.ws()
	if s.eat(']') {
		return out, s.end()
	}
	for {
		s.ws()
		start := s.i
		if err := s.value(1); err != nil {
			return nil, err
		}
		out = append(out, data[start:s.i])
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return out, s.end()
		}
		return nil, s.fail("',' or ']'")
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return E(Invalid, "request body has data after the JSON value")
	}
	return nil
}

func (s *scanner) fail(want string) error {
	if s.i >= len(s.b) {
		return E(Invalid, "request body is not valid JSON: unexpected end, expected %s", want)
	}
	return E(Invalid, "request body is not valid JSON: expected %s at offset %d", want, s.i)
}

// str skips a string starting at s.i, reporting whether there was one.
func (s *scanner) str() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// value skips one value, bounding the nesting; the value's own grammar
// (numbers, escapes, literals) is left to its decoder.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("a value")
	}
	switch s.b[s.i] {
	case '"':
		if !s.str() {
			return s.fail("the end of a string")
		}
		return nil
	case '{', '[':
		d := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.str() {
					return s.fail("the end of a string")
				}
				continue
			case '{', '[':
				d++
				if depth+d > MaxDepth {
					return E(Invalid, "JSON nests deeper than %d levels", MaxDepth)
				}
			case '}', ']':
				d--
				if d == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return s.fail("the end of an object or array")
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return s.fail("a value")
			}
			return nil
		}
		s.i++
	}
	if s.i == start {
		return s.fail("a value")
	}
	return nil
}
