package mpi

// The comparators: each reduces a pair of prepared values to a Level.

// Name similarity thresholds for Jaro–Winkler. Surnames get a lower bar
// (0.88: Smith and Smyth score 0.89) because the phonetic code misses
// some single-letter slips; given names are shorter, where one letter
// moves Jaro–Winkler further, but share more prefixes, so 0.88 serves
// both.
const (
	jwName = 0.88
)

func cmpNHS(a, b *features) Level {
	switch {
	case a.nhs == 0 || b.nhs == 0:
		return Missing
	case a.nhs == b.nhs:
		return Exact
	}
	return Disagree
}

// cmpIdentifiers compares identifiers of the same system: one equal
// value is Exact; sharing a system but no value is Disagree.
func cmpIdentifiers(a, b *features) Level {
	l := Missing
	for _, x := range a.ids {
		for _, y := range b.ids {
			if x.system != y.system {
				continue
			}
			if x.value == y.value {
				return Exact
			}
			l = Disagree
		}
	}
	return l
}

// cmpNames compares family and given names together, since a swap shows
// only across the two.
func cmpNames(a, b *features) (fam, giv Level) {
	fam = cmpFamily(a, b)
	giv = cmpGiven(a, b)
	if fam != Exact && giv != Exact && a.family != "" && b.family != "" && a.given != "" && b.given != "" &&
		nameAgrees(a.family, b.given, a.familyCode, b.givenCode) &&
		nameAgrees(a.given, b.family, a.givenCode, b.familyCode) {
		return Swapped, Swapped
	}
	return fam, giv
}

func nameAgrees(x, y, cx, cy string) bool {
	return x == y || cx == cy && cx != "" || jaroWinkler(x, y) >= jwName
}

func cmpFamily(a, b *features) Level {
	if a.family == "" || b.family == "" {
		return Missing
	}
	if a.family == b.family {
		return Exact
	}
	if shareWord(a.familyFull, b.familyFull) {
		return Part
	}
	if contains(b.prevFamily, a.family) || contains(a.prevFamily, b.family) {
		return Alias
	}
	for _, p := range a.prevFamily {
		if contains(b.prevFamily, p) {
			return Alias
		}
	}
	if a.familyCode == b.familyCode || jaroWinkler(a.family, b.family) >= jwName {
		return Close
	}
	return Disagree
}

func cmpGiven(a, b *features) Level {
	x, y := a.given, b.given
	switch {
	case x == "" || y == "":
		return Missing
	case x == y:
		return Exact
	case len(x) == 1 || len(y) == 1:
		if x[0] == y[0] {
			return Initial
		}
		return Disagree
	case sameFormalName(x, y):
		return Nickname
	case a.givenCode == b.givenCode || jaroWinkler(x, y) >= jwName:
		return Close
	case x == b.middle || y == a.middle ||
		b.middle != "" && sameFormalName(x, b.middle) || a.middle != "" && sameFormalName(y, a.middle):
		return MiddleAsFirst
	}
	return Disagree
}

func cmpMiddle(x, y string) Level {
	switch {
	case x == "" || y == "":
		return Missing
	case x == y:
		return Exact
	case len(x) == 1 || len(y) == 1:
		if x[0] == y[0] {
			return Initial
		}
		return Disagree
	case sameFormalName(x, y) || jaroWinkler(x, y) >= jwName:
		return Close
	}
	return Disagree
}

// cmpDate compares two packed dates.
func cmpDate(p, q uint32) Level {
	if p == 0 || q == 0 {
		return Missing
	}
	if p == q {
		if p%100 == 0 { // both to the month or year only
			if p%10000 == 0 {
				return YearOnly
			}
			return YearMonth
		}
		return Exact
	}
	a, b := unpack(p), unpack(q)
	if a.Day == 0 || b.Day == 0 {
		// Compare to the coarser precision.
		if a.Year != b.Year {
			return Disagree
		}
		if a.Month == 0 || b.Month == 0 {
			return YearOnly
		}
		if a.Month == b.Month {
			return YearMonth
		}
		return Disagree
	}
	if a.Year == b.Year && a.Month == b.Day && a.Day == b.Month {
		return Transposed
	}
	if oneDigitApart(p, q) {
		return Typo
	}
	return Disagree
}

// oneDigitApart reports whether two yyyymmdd numbers differ in one digit
// or by two adjacent digits swapped.
func oneDigitApart(p, q uint32) bool {
	var x, y [8]byte
	for i := 7; i >= 0; i-- {
		x[i], y[i] = byte(p%10), byte(q%10)
		p, q = p/10, q/10
	}
	first, n := -1, 0
	for i := range x {
		if x[i] != y[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	switch n {
	case 1:
		return true
	case 2:
		i := first
		return i+1 < 8 && x[i] == y[i+1] && x[i+1] == y[i]
	}
	return false
}

func cmpSex(a, b Sex) Level {
	if a != Male && a != Female || b != Male && b != Female {
		return Missing
	}
	if a == b {
		return Exact
	}
	return Disagree
}

func cmpAddress(a, b *features) Level {
	if a.postcode == "" || b.postcode == "" {
		return Missing
	}
	if a.postcode == b.postcode {
		if a.line == "" || b.line == "" || lineAgrees(a.line, b.line) {
			return Exact
		}
		return SamePostcode
	}
	sa, da := postcodeParts(a.postcode)
	sb, db := postcodeParts(b.postcode)
	switch {
	case sa != "" && sa == sb:
		return Sector
	case da != "" && da == db:
		return District
	}
	return Disagree
}

// lineAgrees: equal, or the same house number and a street spelt
// nearly alike.
func lineAgrees(x, y string) bool {
	if x == y {
		return true
	}
	nx, ny := firstWord(x), firstWord(y)
	if nx == ny && nx != "" && nx[0] >= '0' && nx[0] <= '9' {
		return jaroWinkler(x, y) >= 0.9
	}
	return false
}

func cmpPhones(a, b []string) Level {
	if len(a) == 0 || len(b) == 0 {
		return Missing
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return Exact
			}
		}
	}
	return Disagree
}

func cmpString(x, y string) Level {
	switch {
	case x == "" || y == "":
		return Missing
	case x == y:
		return Exact
	}
	return Disagree
}
