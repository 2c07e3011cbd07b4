package fhirpath

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number: a rational value and the number of
// digits after the point it was written (or computed) with. Arithmetic is
// exact (math/big); the scale only decides how the number is printed and
// how precise equivalence (~) is.
type Decimal struct {
	r     *big.Rat
	scale int
	neg0  bool // a zero printed with its sign ("-0.0", from lowBoundary)
}

// maxDivScale is the number of decimal places kept by a division whose
// result does not terminate (1/3).
const maxDivScale = 8

var ratZero = new(big.Rat)

// ParseDecimal parses a decimal in FHIR/JSON notation ("1.50", "-3", "1e3").
func ParseDecimal(s string) (Decimal, bool) {
	if s == "" || len(s) > 1000 {
		return Decimal{}, false
	}
	// Reject forms big.Rat accepts but FHIRPath does not ("1/3", "0x10").
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return Decimal{}, false
		}
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			return Decimal{}, false
		}
		mant, exp = s[:i], e
	}
	body := strings.TrimLeft(mant, "+-")
	if body == "" || strings.HasPrefix(body, ".") || strings.HasSuffix(body, ".") || strings.Count(body, ".") > 1 {
		return Decimal{}, false
	}
	scale := 0
	if i := strings.IndexByte(body, '.'); i >= 0 {
		scale = len(body) - i - 1
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, false
	}
	scale -= exp
	if scale < 0 {
		scale = 0
	}
	return Decimal{r: r, scale: scale}, true
}

func decFromInt(i int64) Decimal { return Decimal{r: new(big.Rat).SetInt64(i)} }

func decFromRat(r *big.Rat, scale int) Decimal { return Decimal{r: r, scale: scale} }

// decFromFloat converts a float result (sqrt, ln, ...) keeping 15
// significant digits, so 2.0000000000000004 becomes 2.
func decFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	s := strconv.FormatFloat(f, 'g', 15, 64)
	d, ok := ParseDecimal(s)
	if !ok {
		return Decimal{}, false
	}
	d.scale = exactScale(d.r, 15)
	return d, true
}

func (d Decimal) rat() *big.Rat {
	if d.r == nil {
		return ratZero
	}
	return d.r
}

// String prints the decimal with its scale ("1.50").
func (d Decimal) String() string {
	if d.neg0 && d.rat().Sign() == 0 {
		return "-" + d.rat().FloatString(d.scale)
	}
	return d.rat().FloatString(d.scale)
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 { f, _ := d.rat().Float64(); return f }

// Rat returns a copy of the exact value.
func (d Decimal) Rat() *big.Rat { return new(big.Rat).Set(d.rat()) }

// Scale returns the number of digits after the decimal point.
func (d Decimal) Scale() int { return d.scale }

func (d Decimal) Cmp(o Decimal) int { return d.rat().Cmp(o.rat()) }

func (d Decimal) isInt() bool { return d.rat().IsInt() }

// exactScale is the number of decimal places needed to write r exactly,
// capped at max (for non-terminating expansions).
func exactScale(r *big.Rat, max int) int {
	if r.IsInt() {
		return 0
	}
	den := new(big.Int).Set(r.Denom())
	two, five := big.NewInt(2), big.NewInt(5)
	n2, n5 := 0, 0
	m := new(big.Int)
	for {
		q, rem := new(big.Int).QuoRem(den, two, m)
		if rem.Sign() != 0 {
			break
		}
		den, n2 = q, n2+1
		if n2 > max {
			return max
		}
	}
	for {
		q, rem := new(big.Int).QuoRem(den, five, m)
		if rem.Sign() != 0 {
			break
		}
		den, n5 = q, n5+1
		if n5 > max {
			return max
		}
	}
	if den.Cmp(big.NewInt(1)) != 0 {
		return max
	}
	return min(max, maxInt(n2, n5))
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func (d Decimal) add(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Add(d.rat(), o.rat()), scale: maxInt(d.scale, o.scale)}
}

func (d Decimal) sub(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Sub(d.rat(), o.rat()), scale: maxInt(d.scale, o.scale)}
}

func (d Decimal) mul(o Decimal) Decimal {
	s := d.scale + o.scale
	if s > 64 {
		s = 64
	}
	return Decimal{r: new(big.Rat).Mul(d.rat(), o.rat()), scale: s}
}

func (d Decimal) div(o Decimal) (Decimal, bool) {
	if o.rat().Sign() == 0 {
		return Decimal{}, false
	}
	r := new(big.Rat).Quo(d.rat(), o.rat())
	return Decimal{r: r, scale: exactScale(r, maxDivScale)}, true
}

func (d Decimal) neg() Decimal { return Decimal{r: new(big.Rat).Neg(d.rat()), scale: d.scale} }

// truncInt returns the integer part (toward zero).
func (d Decimal) truncInt() *big.Int {
	return new(big.Int).Quo(d.rat().Num(), d.rat().Denom())
}

func (d Decimal) floor() *big.Int {
	q, m := new(big.Int).DivMod(d.rat().Num(), d.rat().Denom(), new(big.Int))
	_ = m
	return q // DivMod is Euclidean; denominators are positive, so this is floor
}

// round to n places, halves away from zero.
func (d Decimal) round(n int) Decimal {
	s := d.rat().FloatString(n)
	r, _ := new(big.Rat).SetString(s)
	return Decimal{r: r, scale: n}
}

// intFromBig returns an int64 if it fits.
func intFromBig(b *big.Int) (int64, bool) {
	if !b.IsInt64() {
		return 0, false
	}
	return b.Int64(), true
}
