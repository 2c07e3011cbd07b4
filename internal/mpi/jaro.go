package mpi

// jaroWinkler is the Jaro–Winkler similarity of two strings, compared
// byte by byte (names are normalised to ASCII first), from 0 (nothing in
// common) to 1 (equal). Winkler's boost for a common prefix (up to four
// characters, scale 0.1) applies only above a Jaro similarity of 0.7, as
// in his paper: it favours typing errors late in a name, where they are
// more common, without lifting unrelated names.
func jaroWinkler(a, b string) float64 {
	j := jaro(a, b)
	if j <= 0.7 {
		return j
	}
	l := 0
	for l < 4 && l < len(a) && l < len(b) && a[l] == b[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

// jaro is the Jaro similarity. It allocates nothing for strings up to 64
// bytes, which every name is.
func jaro(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	window := len(b)/2 - 1
	if window < 0 {
		window = 0
	}
	var fa, fb [64]bool
	var flagA, flagB []bool
	if len(b) <= 64 {
		flagA, flagB = fa[:len(a)], fb[:len(b)]
	} else {
		flagA, flagB = make([]bool, len(a)), make([]bool, len(b))
	}
	matches := 0
	for i := 0; i < len(a); i++ {
		lo, hi := max(0, i-window), min(len(b)-1, i+window)
		for k := lo; k <= hi; k++ {
			if !flagB[k] && a[i] == b[k] {
				flagA[i], flagB[k] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	// Transpositions: matched characters out of order, halved.
	t, k := 0, 0
	for i := 0; i < len(a); i++ {
		if !flagA[i] {
			continue
		}
		for !flagB[k] {
			k++
		}
		if a[i] != b[k] {
			t++
		}
		k++
	}
	m := float64(matches)
	return (m/float64(len(a)) + m/float64(len(b)) + (m-float64(t/2))/m) / 3
}
