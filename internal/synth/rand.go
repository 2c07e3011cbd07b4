package synth

import (
	"math"
	"math/rand/v2"
	"sort"
)

// mix is the splitmix64 finaliser: a bijection on uint64 that scatters
// nearby inputs (person 7, person 8) across the whole range.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashString is FNV-1a, for salting ids with a name (an ODS code).
func hashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// personKey is the root of everything random about person i: its RNG
// stream and its ids depend on nothing else, so a person can be generated
// alone, in any order, on any worker.
func personKey(seed int64, i int) uint64 {
	return mix(mix(uint64(seed)) ^ uint64(i)*0x9e3779b97f4a7c15)
}

func personRNG(key uint64) *rand.Rand {
	return rand.New(rand.NewPCG(key, mix(key)))
}

// uid is a generated resource id: a UUID derived, not drawn, so the same
// seed gives the same ids. Version 8 (RFC 9562 "custom") says as much.
type uid struct{ hi, lo uint64 }

func makeUID(a, b uint64) uid {
	hi := mix(a ^ mix(b))
	lo := mix(hi ^ b ^ 0x5851f42d4c957f2d)
	hi = hi&^(0xF<<12) | 0x8<<12 // version 8
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC variant
	return uid{hi, lo}
}

// personUID is makeUID for a resource of person i: its first 32 bits are
// i, so a person's ids sort together and a population loaded in order
// appends to the database's id indexes instead of writing all over them,
// as time-ordered ids (UUIDv7) do in real systems. Random ids made a
// SQLite load several times slower: every small transaction dirtied
// pages across the whole index.
func personUID(i int, a, b uint64) uid {
	u := makeUID(a, b)
	u.hi = uint64(uint32(i))<<32 | u.hi&0xFFFFFFFF
	return u
}

// append writes the canonical 8-4-4-4-12 hex form.
func (u uid) append(b []byte) []byte {
	var buf [36]byte
	put := func(dst []byte, v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			dst[i] = hexDigits[v&0xF]
			v >>= 4
		}
	}
	put(buf[0:8], u.hi>>32, 8)
	buf[8] = '-'
	put(buf[9:13], u.hi>>16, 4)
	buf[13] = '-'
	put(buf[14:18], u.hi, 4)
	buf[18] = '-'
	put(buf[19:23], u.lo>>48, 4)
	buf[23] = '-'
	put(buf[24:36], u.lo, 12)
	return append(b, buf[:]...)
}

func (u uid) String() string { return string(u.append(nil)) }

// Random helpers over math/rand/v2.

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// between returns a uniform int in [lo, hi].
func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

func normal(r *rand.Rand, mean, sd float64) float64 { return mean + sd*r.NormFloat64() }

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// cumulative is a table for drawing an index with given weights.
type cumulative []float64

func newCumulative(weights []float64) cumulative {
	c := make(cumulative, len(weights))
	sum := 0.0
	for i, w := range weights {
		sum += w
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}

func (c cumulative) draw(r *rand.Rand) int {
	x := r.Float64()
	i := sort.SearchFloat64s(c, x)
	if i >= len(c) {
		i = len(c) - 1
	}
	return i
}

// poisson draws a Poisson count; rates here are small (a few a year).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return int(math.Max(0, math.Round(normal(r, lambda, math.Sqrt(lambda)))))
	}
	l := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
