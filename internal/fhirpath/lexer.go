package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQIdent // `delimited`
	tString
	tNumber
	tDate  // @2015-02-04T14:34
	tTime  // @T14:34
	tConst // %name
	tSpecial
	tOp
)

type token struct {
	kind tokKind
	text string // decoded text (without quotes, '@', '%')
	pos  int
}

// Error is a FHIRPath compile or evaluation error. Kind is "syntax",
// "semantic" or "execution".
type Error struct {
	Kind string
	Msg  string
	Pos  int
}

func (e *Error) Error() string {
	if e.Kind == "syntax" {
		return fmt.Sprintf("fhirpath: syntax error at %d: %s", e.Pos, e.Msg)
	}
	return "fhirpath: " + e.Msg
}

func syntaxErr(pos int, f string, a ...any) error {
	return &Error{Kind: "syntax", Msg: fmt.Sprintf(f, a...), Pos: pos}
}

func execErr(f string, a ...any) error {
	return &Error{Kind: "execution", Msg: fmt.Sprintf(f, a...)}
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			i++
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, syntaxErr(i, "unterminated comment")
			}
			i += end + 4
			continue
		}
		start := i
		switch {
		case isIdentStart(c):
			for i < len(src) && (isIdentStart(src[i]) || isDigit(src[i])) {
				i++
			}
			toks = append(toks, token{tIdent, src[start:i], start})
		case c == '`':
			s, n, err := lexQuoted(src, i, '`')
			if err != nil {
				return nil, err
			}
			i = n
			toks = append(toks, token{tQIdent, s, start})
		case c == '\'':
			s, n, err := lexQuoted(src, i, '\'')
			if err != nil {
				return nil, err
			}
			i = n
			toks = append(toks, token{tString, s, start})
		case isDigit(c):
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
			toks = append(toks, token{tNumber, src[start:i], start})
		case c == '@':
			i++
			if i < len(src) && src[i] == 'T' {
				i++
				j := scanTime(src, i)
				if j == i {
					return nil, syntaxErr(start, "bad time literal")
				}
				toks = append(toks, token{tTime, src[i:j], start})
				i = j
				break
			}
			j := scanDate(src, i)
			if j == i {
				return nil, syntaxErr(start, "bad date literal")
			}
			toks = append(toks, token{tDate, src[i:j], start})
			i = j
		case c == '%':
			i++
			if i < len(src) && (src[i] == '`' || src[i] == '\'') {
				s, n, err := lexQuoted(src, i, src[i])
				if err != nil {
					return nil, err
				}
				i = n
				toks = append(toks, token{tConst, s, start})
				break
			}
			j := i
			for j < len(src) && (isIdentStart(src[j]) || isDigit(src[j]) || src[j] == '-') {
				j++
			}
			if j == i {
				return nil, syntaxErr(start, "bad %% constant")
			}
			toks = append(toks, token{tConst, src[i:j], start})
			i = j
		case c == '$':
			i++
			for i < len(src) && isIdentStart(src[i]) {
				i++
			}
			toks = append(toks, token{tSpecial, src[start:i], start})
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<=", ">=", "!=", "!~":
				toks = append(toks, token{tOp, two, start})
				i += 2
				continue
			}
			if strings.IndexByte(".,()[]{}+-*/&|=~<>", c) >= 0 {
				toks = append(toks, token{tOp, string(c), start})
				i++
				continue
			}
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, syntaxErr(i, "unexpected character %q", r)
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

func lexQuoted(src string, i int, q byte) (string, int, error) {
	start := i
	i++
	var b strings.Builder
	for i < len(src) {
		c := src[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c == '\\' {
			if i+1 >= len(src) {
				break
			}
			i++
			switch e := src[i]; e {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+4 >= len(src) {
					return "", 0, syntaxErr(i, "bad \\u escape")
				}
				n, err := strconv.ParseUint(src[i+1:i+5], 16, 32)
				if err != nil {
					return "", 0, syntaxErr(i, "bad \\u escape")
				}
				b.WriteRune(rune(n))
				i += 4
			default:
				return "", 0, syntaxErr(i, "bad escape \\%c", e)
			}
			i++
			continue
		}
		b.WriteByte(c)
		i++
	}
	return "", 0, syntaxErr(start, "unterminated quoted text")
}

func digits(src string, i, n int) bool {
	if i+n > len(src) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(src[k]) {
			return false
		}
	}
	return true
}

// scanTime scans hh(:mm(:ss(.fff)?)?)? and returns the end.
func scanTime(src string, i int) int {
	if !digits(src, i, 2) {
		return i
	}
	i += 2
	if i < len(src) && src[i] == ':' && digits(src, i+1, 2) {
		i += 3
		if i < len(src) && src[i] == ':' && digits(src, i+1, 2) {
			i += 3
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
		}
	}
	return i
}

// scanDate scans a date or dateTime literal body.
func scanDate(src string, i int) int {
	if !digits(src, i, 4) {
		return i
	}
	i += 4
	if i < len(src) && src[i] == '-' && digits(src, i+1, 2) {
		i += 3
		if i < len(src) && src[i] == '-' && digits(src, i+1, 2) {
			i += 3
		}
	}
	if i < len(src) && src[i] == 'T' {
		i++
		j := scanTime(src, i)
		if j > i {
			i = j
			if i < len(src) && src[i] == 'Z' {
				i++
			} else if i < len(src) && (src[i] == '+' || src[i] == '-') && digits(src, i+1, 2) && i+3 < len(src) && src[i+3] == ':' && digits(src, i+4, 2) {
				i += 6
			}
		}
	}
	return i
}
