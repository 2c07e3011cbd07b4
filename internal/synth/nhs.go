package synth

import (
	"math/bits"
	"sync"
)

// NHS numbers are ten digits, the last a Modulus 11 check digit over the
// first nine (weights 10 down to 2; 11 - sum mod 11, where 11 becomes 0 and
// 10 means the nine digits cannot be used). Generated numbers are in the
// 999 range that NHS England sets aside for testing, so no synthetic
// record can be mistaken for a real person.
//
// The range holds 909,091 valid numbers: 10^6 bodies, less the one in
// eleven whose check digit would be 10. People beyond that many (the
// generator goes to a million) get numbers from 998, the next range down,
// also never issued; docs/SYNTH.md says so.

// NHSCheckDigit returns the check digit of the first nine digits of s, or
// -1 when they are not digits or no check digit exists.
func NHSCheckDigit(s string) int {
	if len(s) < 9 {
		return -1
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return 0
	case 10:
		return -1
	}
	return check
}

// ValidNHSNumber reports whether s is ten digits with a correct Modulus 11
// check digit.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 || s[9] < '0' || s[9] > '9' {
		return false
	}
	return NHSCheckDigit(s) == int(s[9]-'0')
}

// nhsRange is the valid numbers under one three-digit prefix, as the
// six-digit bodies between prefix and check digit, in ascending order.
type nhsRange struct {
	prefix int
	bodies []uint32
}

var nhsRanges = [2]struct {
	once sync.Once
	r    nhsRange
}{}

var nhsPrefixes = [2]int{999, 998}

func rangeFor(k int) *nhsRange {
	e := &nhsRanges[k]
	e.once.Do(func() {
		p := nhsPrefixes[k]
		e.r.prefix = p
		e.r.bodies = make([]uint32, 0, 909100)
		var buf [9]byte
		buf[0], buf[1], buf[2] = byte('0'+p/100), byte('0'+p/10%10), byte('0'+p%10)
		for b := 0; b < 1000000; b++ {
			v := b
			for i := 8; i >= 3; i-- {
				buf[i] = byte('0' + v%10)
				v /= 10
			}
			if NHSCheckDigit(string(buf[:])) >= 0 {
				e.r.bodies = append(e.r.bodies, uint32(b))
			}
		}
	})
	return &e.r
}

// nhsNumber gives person i of a seed its NHS number: a permutation of the
// valid numbers keyed by the seed (so consecutive people do not get
// consecutive numbers) and a bijection in i, so no two people share one.
func nhsNumber(seed int64, i int) string {
	k := 0
	r := rangeFor(0)
	n := len(r.bodies)
	if i >= n {
		i -= n
		k = 1
		r = rangeFor(1)
		n = len(r.bodies)
		i %= n // beyond both ranges numbers repeat; New refuses such sizes
	}
	a, b := affineKey(seed, k, n)
	hi, lo := bits.Mul64(a, uint64(i))
	_, m := bits.Div64(hi%uint64(n), lo, uint64(n))
	j := (m + b) % uint64(n)
	body := r.bodies[j]
	var buf [10]byte
	p := r.prefix
	buf[0], buf[1], buf[2] = byte('0'+p/100), byte('0'+p/10%10), byte('0'+p%10)
	v := int(body)
	for x := 8; x >= 3; x-- {
		buf[x] = byte('0' + v%10)
		v /= 10
	}
	buf[9] = byte('0' + NHSCheckDigit(string(buf[:9])))
	return string(buf[:])
}

// affineKey picks a multiplier coprime with n and an offset from the seed.
func affineKey(seed int64, k, n int) (a, b uint64) {
	x := mix(uint64(seed) ^ uint64(k+1)*0x632be59bd9b4e019)
	a = x%uint64(n-1) + 1
	for gcd(a, uint64(n)) != 1 {
		a++
		if a >= uint64(n) {
			a = 1
		}
	}
	return a, mix(x) % uint64(n)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
