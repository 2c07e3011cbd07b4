package bench

import (
	"errors"
	"fmt"
)

// scanBundle reads what ingest needs of a Bundle without decoding it: its
// resourceType, its type and the number of its entries. Ingest reads
// hundreds of megabytes of Bundles on the machine the server runs on, so
// this walks the bytes once and builds nothing; it is not a validator
// (the server decides what is valid), and string values are returned as
// written, escapes and all.
func scanBundle(b []byte) (resourceType, typ string, entries int, err error) {
	s := &scanner{b: b}
	s.ws()
	if s.peek() != '{' {
		return "", "", 0, s.errorf("not a JSON object")
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			s.ws()
			key, err := s.str()
			if err != nil {
				return "", "", 0, err
			}
			s.ws()
			if s.peek() != ':' {
				return "", "", 0, s.errorf("expected ':'")
			}
			s.i++
			s.ws()
			k := string(key)
			switch k { // a repeated member counts as its last, as for encoding/json
			case "resourceType":
				resourceType = ""
			case "type":
				typ = ""
			case "entry":
				entries = 0
			}
			switch {
			case (k == "resourceType" || k == "type") && s.peek() == '"':
				v, err := s.str()
				if err != nil {
					return "", "", 0, err
				}
				if k == "type" {
					typ = string(v)
				} else {
					resourceType = string(v)
				}
			case k == "entry" && s.peek() == '[':
				if entries, err = s.count(); err != nil {
					return "", "", 0, err
				}
			default:
				if err := s.value(0); err != nil {
					return "", "", 0, err
				}
			}
			s.ws()
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
			if c != ',' {
				return "", "", 0, s.errorf("expected ',' or '}'")
			}
		}
	}
	s.ws()
	if s.i < len(s.b) {
		return "", "", 0, s.errorf("data after the object")
	}
	return resourceType, typ, entries, nil
}

type scanner struct {
	b []byte
	i int
}

// maxDepth bounds nesting, so that hostile input cannot exhaust the stack.
const maxDepth = 1000

var errEnd = errors.New("unexpected end of JSON")

func (s *scanner) errorf(format string, args ...any) error {
	if s.i >= len(s.b) {
		return errEnd
	}
	return fmt.Errorf("JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
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

// str reads a string and returns its contents as written.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errorf("expected a string")
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], nil
		}
	}
	s.i = len(s.b)
	return nil, errEnd
}

// count reads an array and returns the number of its elements.
func (s *scanner) count() (int, error) {
	s.i++ // '['
	s.ws()
	if s.peek() == ']' {
		s.i++
		return 0, nil
	}
	for n := 1; ; n++ {
		if err := s.value(1); err != nil {
			return 0, err
		}
		s.ws()
		c := s.peek()
		s.i++
		if c == ']' {
			return n, nil
		}
		if c != ',' {
			s.i--
			return 0, s.errorf("expected ',' or ']'")
		}
	}
}

// value skips one value.
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	s.ws()
	switch c := s.peek(); c {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.ws()
		if s.peek() == end {
			s.i++
			return nil
		}
		for {
			s.ws()
			if c == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				s.ws()
				if s.peek() != ':' {
					return s.errorf("expected ':'")
				}
				s.i++
			}
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			d := s.peek()
			if d == end {
				s.i++
				return nil
			}
			if d != ',' {
				return s.errorf("expected ',' or %q", end)
			}
			s.i++
		}
	case 0:
		return errEnd
	default:
		// A number, true, false or null: whatever runs to the next
		// delimiter.
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ' ', '\t', '\n', '\r', ',', ']', '}':
				if s.i == start {
					return s.errorf("expected a value")
				}
				return nil
			}
			s.i++
		}
		return nil
	}
}
