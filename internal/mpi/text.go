package mpi

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text normalisation for comparison. Names arrive from many systems:
// some upper-case everything, some drop accents, some write a
// double-barrelled surname with a hyphen and some with a space, some
// keep the apostrophe of O'Brien. Every name is brought to one form
// before it is compared or blocked on: lower case, accents removed (é→e;
// letters that do not decompose, like ø and ß, by a table), apostrophes
// dropped (o'brien→obrien), other punctuation and hyphens turned into a
// single space.

// foldLetters maps letters that Unicode does not decompose into a base
// letter and a mark.
var foldLetters = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'œ': "oe", 'Œ': "oe",
	'ı': "i", 'ħ': "h",
}

// normName returns s normalised for comparison: lower-case ASCII letters
// and digits where the script allows, words separated by one space.
func normName(s string) string {
	if s == "" {
		return ""
	}
	if isPlainLower(s) {
		return s
	}
	if !isASCII(s) {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending before the next letter
	for _, r := range s {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`':
			// O'Brien, D’Arcy: the apostrophe is dropped, not a break.
		case unicode.Is(unicode.Mn, r):
			// A combining mark left by NFD: é became e + ◌́.
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case 'A' <= r && r <= 'Z':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r + 'a' - 'A')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if f, ok := foldLetters[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
		default:
			// Spaces, hyphens and every other punctuation mark separate
			// words.
			space = true
		}
	}
	return b.String()
}

// isPlainLower reports whether s is already normal: lower-case ASCII
// letters and digits in words separated by single spaces. Most names
// after the first are, so normalisation usually allocates nothing.
func isPlainLower(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return false
			}
			continue
		}
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// squash removes the spaces from a normalised name, so "smith jones",
// "smith-jones" and "smithjones" compare equal.
func squash(s string) string {
	if strings.IndexByte(s, ' ') < 0 {
		return s
	}
	return strings.ReplaceAll(s, " ", "")
}

// firstWord is the first word of a normalised name.
func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// shareWord reports whether normalised names a and b have a word of at
// least two letters in common: a double-barrelled surname against one of
// its halves ("smith jones" and "jones").
func shareWord(a, b string) bool {
	for a != "" {
		var w string
		w, a, _ = strings.Cut(a, " ")
		if len(w) < 2 {
			continue
		}
		rest := b
		for rest != "" {
			var v string
			v, rest, _ = strings.Cut(rest, " ")
			if v == w {
				return true
			}
		}
	}
	return false
}

// digits keeps the digits of s.
func digits(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// normPhone reduces a telephone number to the national number's digits:
// "+44 (0)114 496 0438", "0114 4960438" and "01144960438" are one number.
// It returns "" for fewer than seven digits (an extension, a typo).
func normPhone(s string) string {
	d := digits(s)
	switch {
	case strings.HasPrefix(d, "440") && len(d) == 13:
		d = d[2:]
	case strings.HasPrefix(d, "44") && len(d) == 12:
		d = "0" + d[2:]
	}
	if len(d) < 7 {
		return ""
	}
	return d
}

// normEmail lower-cases an address and trims blanks; addresses are
// case-insensitive in practice even though the local part need not be.
func normEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.IndexByte(s, '@') <= 0 {
		return ""
	}
	return s
}

// streetWords shortens the common words of a UK address line, so "12
// Moor Lane" and "12 moor ln" agree.
var streetWords = map[string]string{
	"road": "rd", "street": "st", "avenue": "ave", "lane": "ln", "drive": "dr",
	"close": "cl", "crescent": "cres", "court": "ct", "place": "pl", "terrace": "ter",
	"gardens": "gdns", "grove": "gr", "square": "sq", "house": "ho", "apartment": "flat",
	"apt": "flat", "north": "n", "south": "s", "east": "e", "west": "w",
}

// normLine normalises the first line of an address.
func normLine(s string) string {
	n := normName(s)
	if n == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(n))
	for n != "" {
		var w string
		w, n, _ = strings.Cut(n, " ")
		if r, ok := streetWords[w]; ok {
			w = r
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}
