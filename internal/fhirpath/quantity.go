package fhirpath

import (
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Quantity is a FHIRPath System.Quantity: a decimal value and a unit, which
// is a UCUM code or a calendar duration keyword ("week", "days").
type Quantity struct {
	Value Decimal
	Unit  string
}

var calendarUnits = map[string]string{
	"year": "a", "years": "a", "month": "mo", "months": "mo",
	"week": "wk", "weeks": "wk", "day": "d", "days": "d",
	"hour": "h", "hours": "h", "minute": "min", "minutes": "min",
	"second": "s", "seconds": "s", "millisecond": "ms", "milliseconds": "ms",
}

func isCalendarUnit(u string) bool { _, ok := calendarUnits[u]; return ok }

// String gives the FHIRPath form: 1 'wk', 1 week.
func (q Quantity) String() string {
	if isCalendarUnit(q.Unit) {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// unit is a unit reduced to base units: value in base = value * factor.
type unit struct {
	factor *big.Rat
	dims   map[string]int
}

func (u unit) key() string {
	keys := make([]string, 0, len(u.dims))
	for k, v := range u.dims {
		if v != 0 {
			keys = append(keys, k+strconv.Itoa(v))
		}
	}
	sort.Strings(keys)
	return strings.Join(keys, ".")
}

type atom struct {
	factor string // decimal text
	dims   string // "g.m-1.s-2"
	metric bool
}

var atoms = map[string]atom{
	"m": {"1", "m", true}, "g": {"1", "g", true}, "s": {"1", "s", true},
	"L": {"0.001", "m3", true}, "l": {"0.001", "m3", true},
	"mol": {"1", "mol", true}, "K": {"1", "K", true}, "A": {"1", "A", true}, "cd": {"1", "cd", true},
	"rad": {"1", "rad", true}, "t": {"1000000", "g", true},
	"Pa": {"1000", "g.m-1.s-2", true}, "bar": {"100000000", "g.m-1.s-2", true},
	"N": {"1000", "g.m.s-2", true}, "J": {"1000", "g.m2.s-2", true}, "W": {"1000", "g.m2.s-3", true},
	"cal": {"4184", "g.m2.s-2", true}, "Hz": {"1", "s-1", true}, "eq": {"1", "mol", true},
	"U": {"1", "U", true}, "[iU]": {"1", "[iU]", true}, "[IU]": {"1", "[iU]", true}, "kat": {"1", "mol.s-1", true},
	"1": {"1", "", false}, "%": {"0.01", "", false},
	"min": {"60", "s", false}, "h": {"3600", "s", false}, "d": {"86400", "s", false},
	"wk": {"604800", "s", false}, "mo": {"2629800", "s", false}, "a": {"31557600", "s", false},
	"[lb_av]": {"453.59237", "g", false}, "[oz_av]": {"28.349523125", "g", false},
	"[in_i]": {"0.0254", "m", false}, "[ft_i]": {"0.3048", "m", false}, "[yd_i]": {"0.9144", "m", false},
	"[mi_i]": {"1609.344", "m", false}, "mm[Hg]": {"133322.387415", "g.m-1.s-2", false},
	"[pi]":  {"3.1415926535897932384626433832795028841971693993751058209749445923", "", false},
	"[ppm]": {"0.000001", "", false}, "[ppth]": {"0.001", "", false},
	"[drp]": {"0.00000005", "m3", false}, "[gal_us]": {"0.003785411784", "m3", false},
	"[car_m]": {"0.2", "g", false}, "[stone_av]": {"6350.29318", "g", false},
}

var prefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9", "M": "1e6",
	"k": "1e3", "h": "1e2", "da": "1e1", "d": "1e-1", "c": "1e-2", "m": "1e-3", "u": "1e-6",
	"n": "1e-9", "p": "1e-12", "f": "1e-15", "a": "1e-18",
}

func ratOf(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }

var reAnnotation = regexp.MustCompile(`\{[^}]*\}`)

// parseUnit reduces a UCUM unit (or calendar keyword) to base units. Calendar
// years and months reduce to a unit of their own: they are comparable with
// each other but not with UCUM 'a' and 'mo'.
func parseUnit(s string) (unit, bool) {
	u := unit{factor: big.NewRat(1, 1), dims: map[string]int{}}
	switch s {
	case "year", "years":
		u.factor = big.NewRat(12, 1)
		u.dims["calmonth"] = 1
		return u, true
	case "month", "months":
		u.dims["calmonth"] = 1
		return u, true
	}
	if c, ok := calendarUnits[s]; ok {
		s = c
	}
	if len(s) > 200 {
		return u, false
	}
	s = reAnnotation.ReplaceAllString(s, "1")
	if s == "" {
		return u, true
	}
	i, sign := 0, 1
	if s[0] == '/' {
		sign, i = -1, 1
	}
	for i <= len(s) {
		j := i
		depth := 0
		for j < len(s) {
			c := s[j]
			if c == '[' {
				depth++
			} else if c == ']' {
				depth--
			} else if depth == 0 && (c == '.' || c == '/') {
				break
			}
			j++
		}
		comp := s[i:j]
		if !u.apply(comp, sign) {
			return u, false
		}
		if j >= len(s) {
			break
		}
		if s[j] == '/' {
			sign = -1
		} else {
			sign = 1
		}
		i = j + 1
	}
	return u, true
}

func (u *unit) apply(comp string, sign int) bool {
	if comp == "" {
		return false
	}
	if strings.HasPrefix(comp, "10*") || strings.HasPrefix(comp, "10^") {
		e, err := strconv.Atoi(comp[3:])
		if err != nil || e > 30 || e < -30 {
			return false
		}
		f := new(big.Rat).SetFrac(big.NewInt(1), big.NewInt(1))
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(e))), nil)
		if e*sign >= 0 {
			f.SetInt(p)
		} else {
			f.SetFrac(big.NewInt(1), p)
		}
		u.factor.Mul(u.factor, f)
		return true
	}
	// split a trailing exponent
	k := len(comp)
	for k > 0 && comp[k-1] >= '0' && comp[k-1] <= '9' {
		k--
	}
	if k > 0 && (comp[k-1] == '-' || comp[k-1] == '+') && k < len(comp) {
		k--
	}
	exp := 1
	name := comp
	if k < len(comp) && k > 0 {
		if _, _, ok := lookupAtom(comp); !ok {
			e, err := strconv.Atoi(comp[k:])
			if err != nil || e > 10 || e < -10 {
				return false
			}
			exp, name = e, comp[:k]
		}
	}
	f, dims, ok := lookupAtom(name)
	if !ok {
		// pure number like "1" or "1000"
		if n, err := strconv.Atoi(name); err == nil && exp == 1 && n > 0 {
			f, dims, ok = big.NewRat(int64(n), 1), "", true
		}
		if !ok {
			return false
		}
	}
	exp *= sign
	for i := 0; i < abs(exp); i++ {
		if exp > 0 {
			u.factor.Mul(u.factor, f)
		} else {
			u.factor.Quo(u.factor, f)
		}
	}
	if dims != "" {
		for _, d := range strings.Split(dims, ".") {
			k := len(d)
			for k > 0 && (d[k-1] >= '0' && d[k-1] <= '9' || d[k-1] == '-') {
				k--
			}
			n := 1
			if k < len(d) {
				n, _ = strconv.Atoi(d[k:])
			}
			u.dims[d[:k]] += n * exp
		}
	}
	return true
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func lookupAtom(name string) (*big.Rat, string, bool) {
	if a, ok := atoms[name]; ok {
		return ratOf(a.factor), a.dims, true
	}
	for p, pf := range prefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			if a, ok := atoms[rest]; ok && a.metric {
				f := ratOf(pf)
				return f.Mul(f, ratOf(a.factor)), a.dims, true
			}
		}
	}
	return nil, "", false
}

// toBase returns the quantity's value in base units and its dimension key.
func (q Quantity) toBase() (*big.Rat, string, bool) {
	u, ok := parseUnit(q.Unit)
	if !ok {
		return nil, "", false
	}
	return new(big.Rat).Mul(q.Value.rat(), u.factor), u.key(), true
}

// convertTo returns q expressed in unit target.
func (q Quantity) convertTo(target string) (Quantity, bool) {
	if q.Unit == target {
		return q, true
	}
	v, k, ok := q.toBase()
	if !ok {
		return q, false
	}
	tu, ok := parseUnit(target)
	if !ok || tu.key() != k {
		return q, false
	}
	r := new(big.Rat).Quo(v, tu.factor)
	return Quantity{Value: Decimal{r: r, scale: exactScale(r, maxInt(q.Value.scale, maxDivScale))}, Unit: target}, true
}

// compareQty compares two quantities; ok is false when the units are not
// comparable.
func compareQty(a, b Quantity) (int, bool) {
	if a.Unit == b.Unit {
		return a.Value.Cmp(b.Value), true
	}
	va, ka, ok1 := a.toBase()
	vb, kb, ok2 := b.toBase()
	if !ok1 || !ok2 || ka != kb {
		return 0, false
	}
	return va.Cmp(vb), true
}

func qtyEquivalent(a, b Quantity) bool {
	bc, ok := b.convertTo(a.Unit)
	if !ok {
		return false
	}
	return decEquivalent(a.Value, bc.Value)
}

func decEquivalent(a, b Decimal) bool {
	s := min(a.scale, b.scale)
	return a.round(s).Cmp(b.round(s)) == 0
}

// unitString writes base-unit dimensions in UCUM syntax.
func unitString(dims map[string]int) string {
	var num, den []string
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := dims[k]
		switch {
		case n == 1:
			num = append(num, k)
		case n > 1:
			num = append(num, k+strconv.Itoa(n))
		case n == -1:
			den = append(den, k)
		case n < -1:
			den = append(den, k+strconv.Itoa(-n))
		}
	}
	s := strings.Join(num, ".")
	if s == "" {
		s = "1"
	}
	for _, d := range den {
		s += "/" + d
	}
	return s
}

// mulQty multiplies (or divides) two quantities, giving base units.
func mulQty(a, b Quantity, divide bool) (Quantity, bool) {
	ua, ok1 := parseUnit(a.Unit)
	ub, ok2 := parseUnit(b.Unit)
	if !ok1 || !ok2 {
		return Quantity{}, false
	}
	va := a.Value.mul(Decimal{r: ua.factor})
	vb := b.Value.mul(Decimal{r: ub.factor})
	dims := map[string]int{}
	for k, v := range ua.dims {
		dims[k] += v
	}
	for k, v := range ub.dims {
		if divide {
			dims[k] -= v
		} else {
			dims[k] += v
		}
	}
	var r Decimal
	if divide {
		var ok bool
		if r, ok = va.div(vb); !ok {
			return Quantity{}, false
		}
	} else {
		r = va.mul(vb)
	}
	r.scale = exactScale(r.rat(), maxInt(r.scale, maxDivScale))
	return Quantity{Value: r, Unit: unitString(dims)}, true
}

var reQtyString = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-zA-Z]+))?$`)

// parseQuantityString parses the string form of toQuantity: "1 day",
// "1.5 'mg'", "4".
func parseQuantityString(s string) (Quantity, bool) {
	m := reQtyString.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Quantity{}, false
	}
	d, ok := ParseDecimal(m[1])
	if !ok {
		return Quantity{}, false
	}
	u := "1"
	switch {
	case m[2] != "":
		u = m[2]
	case m[3] != "":
		if !isCalendarUnit(m[3]) {
			return Quantity{}, false
		}
		u = m[3]
	}
	return Quantity{Value: d, Unit: u}, true
}
