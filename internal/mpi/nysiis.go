package mpi

// Phonetic codes: NYSIIS (New York State Identification and Intelligence
// System, Taft 1970), not Soundex or Double Metaphone.
//
// Why NYSIIS: it was designed for matching people's names in records
// and keeps vowel positions (as 'A') so it separates names Soundex
// merges (Soundex gives Smith, Schmidt and Snead one code); it gives one
// code per name, so a name costs one blocking key and one comparison,
// where Double Metaphone gives a primary and an alternate and roughly
// doubles both; and it is short enough to check by reading. Double
// Metaphone is better on some non-English spellings, but the names it
// would rescue are mostly caught by Jaro–Winkler, which runs beside the
// phonetic code in every comparison.
//
// This is the original algorithm without the six-character truncation
// (truncation merges long names needlessly), as in common
// implementations.

// nysiis returns the NYSIIS code of a normalised name (lower-case ASCII
// letters; anything else is skipped). The code is upper case; "" for a
// name with no letters.
func nysiis(name string) string {
	var buf [48]byte
	s := buf[:0]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if 'A' <= c && c <= 'Z' {
			s = append(s, c)
		}
	}
	if len(s) == 0 {
		return ""
	}
	// 1. Prefixes.
	switch {
	case hasPrefix(s, "MAC"):
		s[1], s[2] = 'C', 'C'
	case hasPrefix(s, "KN"):
		s = s[1:]
	case s[0] == 'K':
		s[0] = 'C'
	case hasPrefix(s, "PH"), hasPrefix(s, "PF"):
		s[0], s[1] = 'F', 'F'
	case hasPrefix(s, "SCH"):
		s[1], s[2] = 'S', 'S'
	}
	// 2. Suffixes.
	if n := len(s); n >= 2 {
		switch string(s[n-2:]) {
		case "EE", "IE":
			s = append(s[:n-2], 'Y')
		case "DT", "RT", "RD", "NT", "ND":
			s = append(s[:n-2], 'D')
		}
	}
	// 3. The key starts with the first letter.
	var kb [48]byte
	key := append(kb[:0], s[0])
	add := func(t string) {
		if t[len(t)-1] != key[len(key)-1] {
			key = append(key, t...)
		}
	}
	// 4. Translate the rest.
	for i := 1; i < len(s); i++ {
		c := s[i]
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case c == 'E' && next == 'V':
			add("AF")
			i++
		case isVowel(c):
			add("A")
		case c == 'Q':
			add("G")
		case c == 'Z':
			add("S")
		case c == 'M':
			add("N")
		case c == 'K':
			if next == 'N' {
				add("N")
			} else {
				add("C")
			}
		case c == 'S' && next == 'C' && i+2 < len(s) && s[i+2] == 'H':
			add("SS")
			i += 2
		case c == 'P' && next == 'H':
			add("F")
			i++
		case c == 'H' && (!isVowel(s[i-1]) || next == 0 || !isVowel(next)):
			if isVowel(s[i-1]) {
				add("A")
			} else {
				add(string(s[i-1]))
			}
		case c == 'W' && isVowel(s[i-1]):
			add(string(s[i-1]))
		default:
			add(string(c))
		}
	}
	// 5-7. Endings.
	if n := len(key); n > 1 && key[n-1] == 'S' {
		key = key[:n-1]
	}
	if n := len(key); n > 1 && key[n-2] == 'A' && key[n-1] == 'Y' {
		key = append(key[:n-2], 'Y')
	}
	if n := len(key); n > 1 && key[n-1] == 'A' {
		key = key[:n-1]
	}
	return string(key)
}

func hasPrefix(s []byte, p string) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }

func isVowel(c byte) bool { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U' }
