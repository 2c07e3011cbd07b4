package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

type funcSpec struct {
	min, max int
	typeArg  bool // the first argument is a type name (is, as, ofType)
	fn       func(c *call) ([]Value, error)
}

type call struct {
	e  *evaluator
	f  *frame
	in []Value
	n  *funcNode
}

// arg evaluates argument i in the caller's context.
func (c *call) arg(i int) ([]Value, error) {
	if i >= len(c.n.args) {
		return nil, nil
	}
	return c.n.args[i].eval(c.e, c.f)
}

// argFor evaluates argument i with $this = item.
func (c *call) argFor(i int, item Value, idx int) ([]Value, error) {
	return c.n.args[i].eval(c.e, &frame{this: one(item), index: idx, total: c.f.total, hasTotal: c.f.hasTotal})
}

func (n *funcNode) eval(e *evaluator, f *frame) ([]Value, error) {
	e.enter()
	defer e.leave()
	in := f.this
	if e.opts.Strict && orderedFuncs[n.name] {
		if t, ok := n.target.(*funcNode); ok && (t.name == "children" || t.name == "descendants") {
			return nil, &Error{Kind: "semantic", Msg: n.name + "() on the unordered result of " + t.name + "()"}
		}
	}
	if n.target != nil {
		var err error
		if in, err = n.target.eval(e, f); err != nil {
			return nil, err
		}
	}
	out, err := n.spec.fn(&call{e: e, f: f, in: in, n: n})
	if len(out) > maxCollection {
		return nil, execErr("collection too large")
	}
	e.step(len(out))
	return out, err
}

var functions map[string]*funcSpec

func init() {
	functions = map[string]*funcSpec{
		"empty":    {0, 0, false, func(c *call) ([]Value, error) { return boolC(len(c.in) == 0), nil }},
		"exists":   {0, 1, false, fnExists},
		"all":      {1, 1, false, fnAll},
		"allTrue":  {0, 0, false, boolsFn(func(t, n int) bool { return t == n })},
		"anyTrue":  {0, 0, false, boolsFn(func(t, n int) bool { return t > 0 })},
		"allFalse": {0, 0, false, boolsFn(func(t, n int) bool { return t == 0 })},
		"anyFalse": {0, 0, false, boolsFn(func(t, n int) bool { return t < n })},
		"subsetOf": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			return boolC(subset(c.e, c.in, o)), err
		}},
		"supersetOf": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			return boolC(subset(c.e, o, c.in)), err
		}},
		"count":      {0, 0, false, func(c *call) ([]Value, error) { return one(intV(int64(len(c.in)))), nil }},
		"distinct":   {0, 0, false, func(c *call) ([]Value, error) { return union(c.e, c.in, nil), nil }},
		"isDistinct": {0, 0, false, func(c *call) ([]Value, error) { return boolC(len(union(c.e, c.in, nil)) == len(c.in)), nil }},
		"where":      {1, 1, false, fnWhere},
		"select":     {1, 1, false, fnSelect},
		"repeat":     {1, 1, false, fnRepeat},
		"ofType": {1, 1, true, func(c *call) ([]Value, error) {
			if err := checkTypeSpec(c.n.typ); err != nil {
				return nil, err
			}
			var out []Value
			for _, v := range c.in {
				if asType(v, c.n.typ) {
					out = append(out, v)
				}
			}
			return out, nil
		}},
		"is": {1, 1, true, func(c *call) ([]Value, error) {
			return (&typeOpNode{op: "is", x: &literalNode{vals: c.in}, typ: c.n.typ, fn: true}).eval(c.e, c.f)
		}},
		"as": {1, 1, true, func(c *call) ([]Value, error) {
			return (&typeOpNode{op: "as", x: &literalNode{vals: c.in}, typ: c.n.typ, fn: true}).eval(c.e, c.f)
		}},
		"type": {0, 0, false, fnType},
		"single": {0, 0, false, func(c *call) ([]Value, error) {
			if len(c.in) > 1 {
				return nil, execErr("single(): %d items", len(c.in))
			}
			return c.in, nil
		}},
		"first": {0, 0, false, func(c *call) ([]Value, error) { return take(c.in, 0, 1), nil }},
		"last":  {0, 0, false, func(c *call) ([]Value, error) { return take(c.in, len(c.in)-1, 1), nil }},
		"tail":  {0, 0, false, func(c *call) ([]Value, error) { return take(c.in, 1, len(c.in)), nil }},
		"skip": {1, 1, false, func(c *call) ([]Value, error) {
			n, err := intArg(c, 0)
			if err != nil {
				return nil, err
			}
			return take(c.in, clampInt(n), len(c.in)), nil
		}},
		"take": {1, 1, false, func(c *call) ([]Value, error) {
			n, err := intArg(c, 0)
			if err != nil {
				return nil, err
			}
			return take(c.in, 0, clampInt(n)), nil
		}},
		"intersect": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			var out []Value
			other, seen := setOf(c.e, o), newValueSet(c.e, false)
			for _, v := range c.in {
				if other.has(v) && seen.addNew(v) {
					out = append(out, v)
				}
			}
			return out, err
		}},
		"exclude": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			var out []Value
			other := setOf(c.e, o)
			for _, v := range c.in {
				if !other.has(v) {
					out = append(out, v)
				}
			}
			return out, err
		}},
		"union": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			return union(c.e, c.in, o), err
		}},
		"combine": {1, 1, false, func(c *call) ([]Value, error) {
			o, err := c.arg(0)
			return append(append([]Value(nil), c.in...), o...), err
		}},
		"iif":                {2, 3, false, fnIif},
		"not":                {0, 0, false, fnNot},
		"toBoolean":          conv(toBoolean, false),
		"convertsToBoolean":  conv(toBoolean, true),
		"toInteger":          conv(toInteger, false),
		"convertsToInteger":  conv(toInteger, true),
		"toDecimal":          conv(toDecimal, false),
		"convertsToDecimal":  conv(toDecimal, true),
		"toString":           conv(toStringV, false),
		"convertsToString":   conv(toStringV, true),
		"toDate":             conv(toDate, false),
		"convertsToDate":     conv(toDate, true),
		"toDateTime":         conv(toDateTime, false),
		"convertsToDateTime": conv(toDateTime, true),
		"toTime":             conv(toTime, false),
		"convertsToTime":     conv(toTime, true),
		"toQuantity":         {0, 1, false, fnToQuantity(false)},
		"convertsToQuantity": {0, 1, false, fnToQuantity(true)},
		"indexOf": strFn(1, func(s string, a []string) []Value {
			return one(intV(int64(runeIndex(s, a[0]))))
		}),
		"substring":  {1, 2, false, fnSubstring},
		"startsWith": strFn(1, func(s string, a []string) []Value { return boolC(strings.HasPrefix(s, a[0])) }),
		"endsWith":   strFn(1, func(s string, a []string) []Value { return boolC(strings.HasSuffix(s, a[0])) }),
		"contains":   strFn(1, func(s string, a []string) []Value { return boolC(strings.Contains(s, a[0])) }),
		"upper":      strFn(0, func(s string, a []string) []Value { return one(strV(strings.ToUpper(s))) }),
		"lower":      strFn(0, func(s string, a []string) []Value { return one(strV(strings.ToLower(s))) }),
		"replace": strFn(2, func(s string, a []string) []Value {
			if a[0] == "" && len(s)*(len(a[1])+1) > maxStringLen {
				return nil
			}
			r := strings.ReplaceAll(s, a[0], a[1])
			if len(r) > maxStringLen {
				return nil
			}
			return one(strV(r))
		}),
		"matches":        {1, 1, false, fnMatches(false)},
		"matchesFull":    {1, 1, false, fnMatches(true)},
		"replaceMatches": {2, 2, false, fnReplaceMatches},
		"length":         strFn(0, func(s string, a []string) []Value { return one(intV(int64(utf8.RuneCountInString(s)))) }),
		"toChars": strFn(0, func(s string, a []string) []Value {
			var out []Value
			for _, r := range s {
				out = append(out, strV(string(r)))
			}
			return out
		}),
		"trim": strFn(0, func(s string, a []string) []Value { return one(strV(strings.TrimSpace(s))) }),
		"split": strFn(1, func(s string, a []string) []Value {
			var out []Value
			for _, p := range strings.Split(s, a[0]) {
				out = append(out, strV(p))
			}
			return out
		}),
		"join":     {0, 1, false, fnJoin},
		"encode":   strFn(1, fnEncode),
		"decode":   strFn(1, fnDecode),
		"escape":   strFn(1, fnEscape),
		"unescape": strFn(1, fnUnescape),
		"abs":      {0, 0, false, fnAbs},
		"ceiling":  mathInt(func(d Decimal) *big.Int { return new(big.Int).Neg(d.neg().floor()) }),
		"floor":    mathInt(func(d Decimal) *big.Int { return d.floor() }),
		"truncate": mathInt(func(d Decimal) *big.Int { return d.truncInt() }),
		"exp":      mathFloat(math.Exp),
		"ln":       mathFloat(math.Log),
		"sqrt":     mathFloat(math.Sqrt),
		"log":      {1, 1, false, fnLog},
		"power":    {1, 1, false, fnPower},
		"round":    {0, 1, false, fnRound},
		"children": {0, 0, false, func(c *call) ([]Value, error) {
			var out []Value
			for _, v := range c.in {
				out = children(v, out)
			}
			return out, nil
		}},
		"descendants": {0, 0, false, fnDescendants},
		"trace":       {1, 2, false, fnTrace},
		"now":         {0, 0, false, func(c *call) ([]Value, error) { return one(dtV(c.e.nowDT())), nil }},
		"today": {0, 0, false, func(c *call) ([]Value, error) {
			d := c.e.nowDT()
			return one(dtV(DateTime{Kind: KindDate, Year: d.Year, Month: d.Month, Day: d.Day, Prec: PrecDay})), nil
		}},
		"timeOfDay": {0, 0, false, func(c *call) ([]Value, error) {
			d := c.e.nowDT()
			d.Kind, d.HasTZ = KindTime, false
			return one(dtV(d)), nil
		}},
		"aggregate":    {1, 2, false, fnAggregate},
		"extension":    {1, 1, false, fnExtension},
		"hasValue":     {0, 0, false, fnHasValue},
		"getValue":     {0, 0, false, fnGetValue},
		"resolve":      {0, 0, false, fnResolve},
		"conformsTo":   {1, 1, false, fnConformsTo},
		"memberOf":     {1, 1, false, func(c *call) ([]Value, error) { return nil, execErr("memberOf() needs a terminology service") }},
		"htmlChecks":   {0, 0, false, func(c *call) ([]Value, error) { return boolC(true), nil }},
		"htmlChecks2":  {0, 0, false, func(c *call) ([]Value, error) { return boolC(true), nil }},
		"sort":         {0, 10, false, fnSort},
		"precision":    {0, 0, false, fnPrecision},
		"lowBoundary":  {0, 1, false, fnBoundary(false)},
		"highBoundary": {0, 1, false, fnBoundary(true)},
		"comparable":   {1, 1, false, fnComparable},
	}
}

func clampInt(n int64) int {
	if n < 0 {
		return 0
	}
	if n > 1<<30 {
		return 1 << 30
	}
	return int(n)
}

func take(in []Value, from, n int) []Value {
	if from < 0 || from >= len(in) || n <= 0 {
		return nil
	}
	end := from + n
	if end > len(in) || end < from {
		end = len(in)
	}
	return in[from:end:end]
}

func intArg(c *call, i int) (int64, error) {
	a, err := c.arg(i)
	if err != nil {
		return 0, err
	}
	n, ok, err := singleInt(a)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	return n, nil
}

func subset(e *evaluator, a, b []Value) bool {
	set := setOf(e, b)
	for _, v := range a {
		if !set.has(v) {
			return false
		}
	}
	return true
}

func fnExists(c *call) ([]Value, error) {
	if len(c.n.args) == 0 {
		return boolC(len(c.in) > 0), nil
	}
	w, err := fnWhere(c)
	return boolC(len(w) > 0), err
}

func fnWhere(c *call) ([]Value, error) {
	var out []Value
	for i, v := range c.in {
		r, err := c.argFor(0, v, i)
		if err != nil {
			return nil, err
		}
		b, err := toBool3(r)
		if err != nil {
			return nil, err
		}
		if b == 2 {
			out = append(out, v)
		}
	}
	return out, nil
}

func fnAll(c *call) ([]Value, error) {
	for i, v := range c.in {
		r, err := c.argFor(0, v, i)
		if err != nil {
			return nil, err
		}
		b, err := toBool3(r)
		if err != nil {
			return nil, err
		}
		if b != 2 {
			return boolC(false), nil
		}
	}
	return boolC(true), nil
}

func boolsFn(test func(trues, n int) bool) func(c *call) ([]Value, error) {
	return func(c *call) ([]Value, error) {
		t := 0
		for _, v := range c.in {
			b, ok := v.Bool()
			if !ok {
				return nil, execErr("expected booleans, found %s", v.typ)
			}
			if b {
				t++
			}
		}
		return boolC(test(t, len(c.in))), nil
	}
}

func fnSelect(c *call) ([]Value, error) {
	var out []Value
	for i, v := range c.in {
		r, err := c.argFor(0, v, i)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
		if len(out) > maxCollection {
			return nil, execErr("collection too large")
		}
	}
	return out, nil
}

func fnRepeat(c *call) ([]Value, error) {
	var out []Value
	seen := newValueSet(c.e, true)
	queue := c.in
	for len(queue) > 0 {
		var next []Value
		for i, v := range queue {
			r, err := c.argFor(0, v, i)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if seen.addNew(x) {
					out = append(out, x)
					next = append(next, x)
				}
			}
			c.e.step(len(r) + 1)
			if len(out) > maxCollection {
				return nil, execErr("repeat(): collection too large")
			}
		}
		queue = next
	}
	return out, nil
}

func fnDescendants(c *call) ([]Value, error) {
	var out []Value
	queue := c.in
	for depth := 0; len(queue) > 0; depth++ {
		if depth > 100 {
			return nil, execErr("descendants(): too deep")
		}
		var next []Value
		for _, v := range queue {
			next = children(v, next)
		}
		out = append(out, next...)
		c.e.step(len(next) + 1)
		if len(out) > maxCollection {
			return nil, execErr("descendants(): collection too large")
		}
		queue = next
	}
	return out, nil
}

func fnIif(c *call) ([]Value, error) {
	if len(c.in) > 1 {
		return nil, execErr("iif() on a collection of %d items", len(c.in))
	}
	f := c.f
	if c.n.target != nil {
		f = &frame{this: c.in, index: -1, total: c.f.total, hasTotal: c.f.hasTotal}
	}
	cond, err := c.n.args[0].eval(c.e, f)
	if err != nil {
		return nil, err
	}
	if c.e.opts.Strict && len(cond) == 1 {
		if _, ok := cond[0].Bool(); !ok {
			return nil, &Error{Kind: "semantic", Msg: "iif() criterion is not a boolean"}
		}
	}
	b, err := toBool3(cond)
	if err != nil {
		return nil, err
	}
	if b == 2 {
		return c.n.args[1].eval(c.e, f)
	}
	if len(c.n.args) > 2 {
		return c.n.args[2].eval(c.e, f)
	}
	return nil, nil
}

func fnNot(c *call) ([]Value, error) {
	b, err := toBool3(c.in)
	if err != nil || b == 0 {
		return nil, err
	}
	return boolC(b == 1), nil
}

// conv builds toX / convertsToX from a converter of one System value.
func conv(f func(Value) (Value, bool), test bool) *funcSpec {
	return &funcSpec{0, 0, false, func(c *call) ([]Value, error) {
		if len(c.in) == 0 {
			return nil, nil
		}
		if len(c.in) > 1 {
			return nil, execErr("conversion of a collection of %d items", len(c.in))
		}
		s, ok := c.in[0].toSystem()
		var r Value
		if ok {
			r, ok = f(s)
		}
		if test {
			return boolC(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return one(r), nil
	}}
}

var (
	reInteger = regexp.MustCompile(`^[+-]?\d+$`)
	reDecimal = regexp.MustCompile(`^[+-]?\d+(\.\d+)?$`)
)

func toBoolean(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case bool:
		return v, true
	case int64:
		if x == 0 || x == 1 {
			return boolV(x == 1), true
		}
	case Decimal:
		if x.Cmp(decFromInt(0)) == 0 {
			return boolV(false), true
		}
		if x.Cmp(decFromInt(1)) == 0 {
			return boolV(true), true
		}
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "1.0":
			return boolV(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return boolV(false), true
		}
	}
	return Value{}, false
}

func toInteger(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case int64:
		return v, true
	case bool:
		if x {
			return intV(1), true
		}
		return intV(0), true
	case string:
		if reInteger.MatchString(x) {
			d, _ := ParseDecimal(x)
			if i, ok := intFromBig(d.truncInt()); ok {
				return intV(i), true
			}
		}
	}
	return Value{}, false
}

func toDecimal(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case int64:
		return decV(decFromInt(x)), true
	case Decimal:
		return v, true
	case bool:
		if x {
			return decV(Decimal{r: big.NewRat(1, 1), scale: 1}), true
		}
		return decV(Decimal{r: big.NewRat(0, 1), scale: 1}), true
	case string:
		if reDecimal.MatchString(x) {
			if d, ok := ParseDecimal(x); ok {
				return decV(d), true
			}
		}
	}
	return Value{}, false
}

func toStringV(v Value) (Value, bool) {
	s, ok := systemString(v)
	if !ok {
		return Value{}, false
	}
	return strV(s), true
}

func toDate(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case string:
		if d, ok := parseDateTime(x, KindDate); ok {
			return dtV(d), true
		}
		if d, ok := parseDateTime(x, KindDateTime); ok {
			return dtV(dateOf(d)), true
		}
	case DateTime:
		if x.Kind != KindTime {
			return dtV(dateOf(x)), true
		}
	}
	return Value{}, false
}

func dateOf(d DateTime) DateTime {
	return DateTime{Kind: KindDate, Year: d.Year, Month: d.Month, Day: d.Day, Prec: min(d.Prec, PrecDay)}
}

func toDateTime(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case string:
		if d, ok := parseDateTime(x, KindDateTime); ok {
			return dtV(d), true
		}
	case DateTime:
		if x.Kind != KindTime {
			x.Kind = KindDateTime
			return dtV(x), true
		}
	}
	return Value{}, false
}

func toTime(v Value) (Value, bool) {
	switch x := v.raw.(type) {
	case string:
		if d, ok := parseDateTime(strings.TrimPrefix(x, "T"), KindTime); ok {
			return dtV(d), true
		}
	case DateTime:
		if x.Kind == KindTime {
			return v, true
		}
	}
	return Value{}, false
}

func toQuantity(v Value) (Quantity, bool) {
	switch x := v.raw.(type) {
	case int64:
		return Quantity{Value: decFromInt(x), Unit: "1"}, true
	case Decimal:
		return Quantity{Value: x, Unit: "1"}, true
	case Quantity:
		return x, true
	case bool:
		d, _ := toDecimal(v)
		return Quantity{Value: d.raw.(Decimal), Unit: "1"}, true
	case string:
		return parseQuantityString(x)
	}
	return Quantity{}, false
}

func fnToQuantity(test bool) func(c *call) ([]Value, error) {
	return func(c *call) ([]Value, error) {
		if len(c.in) == 0 {
			return nil, nil
		}
		if len(c.in) > 1 {
			return nil, execErr("toQuantity() of a collection")
		}
		var q Quantity
		s, ok := c.in[0].toSystem()
		if ok {
			q, ok = toQuantity(s)
		}
		if ok && len(c.n.args) > 0 {
			u, has, err := singleStringArg(c, 0)
			if err != nil {
				return nil, err
			}
			if has {
				q, ok = q.convertTo(u)
			}
		}
		if test {
			return boolC(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return one(qtyV(q)), nil
	}
}

func singleStringArg(c *call, i int) (string, bool, error) {
	a, err := c.arg(i)
	if err != nil {
		return "", false, err
	}
	return singleString(a)
}

// strFn builds a function of a string input and n string arguments; an
// empty input or argument gives empty.
func strFn(n int, f func(s string, args []string) []Value) *funcSpec {
	return &funcSpec{n, n, false, func(c *call) ([]Value, error) {
		s, ok, err := singleString(c.in)
		if err != nil || !ok {
			return nil, err
		}
		args := make([]string, n)
		for i := 0; i < n; i++ {
			a, has, err := singleStringArg(c, i)
			if err != nil || !has {
				return nil, err
			}
			args[i] = a
		}
		return f(s, args), nil
	}}
}

func runeIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:i])
}

func fnSubstring(c *call) ([]Value, error) {
	s, ok, err := singleString(c.in)
	if err != nil || !ok {
		return nil, err
	}
	a, err := c.arg(0)
	if err != nil {
		return nil, err
	}
	start, ok, err := singleInt(a)
	if err != nil || !ok {
		return nil, err
	}
	r := []rune(s)
	if start < 0 || start >= int64(len(r)) {
		return nil, nil
	}
	end := int64(len(r))
	if len(c.n.args) > 1 {
		b, err := c.arg(1)
		if err != nil {
			return nil, err
		}
		n, ok, err := singleInt(b)
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 {
				n = 0
			}
			if start+n < end {
				end = start + n
			}
		}
	}
	return one(strV(string(r[start:end]))), nil
}

var regexCache sync.Map

func compileRegex(p string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, execErr("bad regular expression: %v", err)
	}
	regexCache.Store(p, re)
	return re, nil
}

func fnMatches(full bool) func(c *call) ([]Value, error) {
	return func(c *call) ([]Value, error) {
		s, ok, err := singleString(c.in)
		if err != nil || !ok {
			return nil, err
		}
		p, ok, err := singleStringArg(c, 0)
		if err != nil || !ok {
			return nil, err
		}
		if full {
			p = "^(?:" + p + ")$"
		}
		re, err := compileRegex("(?s)" + p)
		if err != nil {
			return nil, err
		}
		return boolC(re.MatchString(s)), nil
	}
}

func fnReplaceMatches(c *call) ([]Value, error) {
	s, ok, err := singleString(c.in)
	if err != nil || !ok {
		return nil, err
	}
	p, ok, err := singleStringArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	r, ok, err := singleStringArg(c, 1)
	if err != nil || !ok {
		return nil, err
	}
	if p == "" {
		return one(strV(s)), nil
	}
	re, err := compileRegex("(?s)" + p)
	if err != nil {
		return nil, err
	}
	out := re.ReplaceAllString(s, r)
	if len(out) > maxStringLen {
		return nil, execErr("string too long")
	}
	return one(strV(out)), nil
}

func fnJoin(c *call) ([]Value, error) {
	sep := ""
	if len(c.n.args) > 0 {
		s, _, err := singleStringArg(c, 0)
		if err != nil {
			return nil, err
		}
		sep = s
	}
	parts := make([]string, 0, len(c.in))
	n := 0
	for _, v := range c.in {
		s, ok := v.toSystem()
		if !ok {
			continue
		}
		str, ok := s.raw.(string)
		if !ok {
			return nil, execErr("join() needs strings")
		}
		n += len(str) + len(sep)
		if n > maxStringLen {
			return nil, execErr("string too long")
		}
		parts = append(parts, str)
	}
	return one(strV(strings.Join(parts, sep))), nil
}

func fnEncode(s string, a []string) []Value {
	switch a[0] {
	case "base64":
		return one(strV(base64.StdEncoding.EncodeToString([]byte(s))))
	case "urlbase64":
		return one(strV(base64.URLEncoding.EncodeToString([]byte(s))))
	case "hex":
		return one(strV(hex.EncodeToString([]byte(s))))
	}
	return nil
}

func fnDecode(s string, a []string) []Value {
	var b []byte
	var err error
	switch a[0] {
	case "base64":
		b, err = base64.StdEncoding.DecodeString(s)
	case "urlbase64":
		b, err = base64.URLEncoding.DecodeString(s)
	case "hex":
		b, err = hex.DecodeString(s)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return one(strV(string(b)))
}

func fnEscape(s string, a []string) []Value {
	switch a[0] {
	case "html":
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
		return one(strV(r.Replace(s)))
	case "json":
		b, _ := json.Marshal(s)
		out := string(b[1 : len(b)-1])
		out = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(out)
		return one(strV(out))
	}
	return nil
}

func fnUnescape(s string, a []string) []Value {
	switch a[0] {
	case "html":
		return one(strV(html.UnescapeString(s)))
	case "json":
		return one(strV(unescapeJSON(s)))
	}
	return nil
}

// numIn reads a single numeric input.
func numIn(c *call) (Value, bool, error) {
	if len(c.in) == 0 {
		return Value{}, false, nil
	}
	if len(c.in) > 1 {
		return Value{}, false, execErr("expected a single number")
	}
	s, ok := c.in[0].toSystem()
	if !ok {
		return Value{}, false, nil
	}
	switch s.raw.(type) {
	case int64, Decimal, Quantity:
		return s, true, nil
	}
	return Value{}, false, execErr("expected a number, found %s", s.typ)
}

func asDec(v Value) Decimal {
	switch x := v.raw.(type) {
	case int64:
		return decFromInt(x)
	case Decimal:
		return x
	case Quantity:
		return x.Value
	}
	return Decimal{}
}

func fnAbs(c *call) ([]Value, error) {
	v, ok, err := numIn(c)
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.raw.(type) {
	case int64:
		if x < 0 {
			x = -x
		}
		return one(intV(x)), nil
	case Decimal:
		if x.rat().Sign() < 0 {
			x = x.neg()
		}
		return one(decV(x)), nil
	case Quantity:
		if x.Value.rat().Sign() < 0 {
			x.Value = x.Value.neg()
		}
		return one(qtyV(x)), nil
	}
	return nil, nil
}

func mathInt(f func(Decimal) *big.Int) *funcSpec {
	return &funcSpec{0, 0, false, func(c *call) ([]Value, error) {
		v, ok, err := numIn(c)
		if err != nil || !ok {
			return nil, err
		}
		if i, ok := v.raw.(int64); ok {
			return one(intV(i)), nil
		}
		i, ok := intFromBig(f(asDec(v)))
		if !ok {
			return nil, nil
		}
		return one(intV(i)), nil
	}}
}

func mathFloat(f func(float64) float64) *funcSpec {
	return &funcSpec{0, 0, false, func(c *call) ([]Value, error) {
		v, ok, err := numIn(c)
		if err != nil || !ok {
			return nil, err
		}
		d, ok := decFromFloat(f(asDec(v).Float64()))
		if !ok {
			return nil, nil
		}
		return one(decV(d)), nil
	}}
}

func numArg(c *call, i int) (Decimal, bool, error) {
	a, err := c.arg(i)
	if err != nil || len(a) == 0 {
		return Decimal{}, false, err
	}
	if len(a) > 1 {
		return Decimal{}, false, execErr("expected a single number")
	}
	s, ok := a[0].toSystem()
	if !ok {
		return Decimal{}, false, nil
	}
	switch s.raw.(type) {
	case int64, Decimal:
		return asDec(s), true, nil
	}
	return Decimal{}, false, execErr("expected a number")
}

func fnLog(c *call) ([]Value, error) {
	v, ok, err := numIn(c)
	if err != nil || !ok {
		return nil, err
	}
	b, ok, err := numArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	d, ok := decFromFloat(math.Log(asDec(v).Float64()) / math.Log(b.Float64()))
	if !ok {
		return nil, nil
	}
	return one(decV(d)), nil
}

func fnPower(c *call) ([]Value, error) {
	v, ok, err := numIn(c)
	if err != nil || !ok {
		return nil, err
	}
	p, ok, err := numArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	if x, isInt := v.raw.(int64); isInt && p.isInt() && p.scale == 0 && p.rat().Sign() >= 0 {
		n, ok := intFromBig(p.truncInt())
		if ok && n < 64 {
			r := new(big.Int).Exp(big.NewInt(x), big.NewInt(n), nil)
			if i, ok := intFromBig(r); ok {
				return one(intV(i)), nil
			}
			return nil, nil
		}
	}
	d, ok := decFromFloat(math.Pow(asDec(v).Float64(), p.Float64()))
	if !ok {
		return nil, nil
	}
	return one(decV(d)), nil
}

func fnRound(c *call) ([]Value, error) {
	v, ok, err := numIn(c)
	if err != nil || !ok {
		return nil, err
	}
	n := int64(0)
	if len(c.n.args) > 0 {
		if n, err = intArg(c, 0); err != nil {
			return nil, err
		}
		if n < 0 || n > 100 {
			return nil, execErr("round(): bad precision")
		}
	}
	return one(decV(asDec(v).round(int(n)))), nil
}

func fnTrace(c *call) ([]Value, error) {
	if c.e.opts.Trace != nil {
		name, _, err := singleStringArg(c, 0)
		if err != nil {
			return nil, err
		}
		vals := c.in
		if len(c.n.args) > 1 {
			vals = nil
			for i, v := range c.in {
				r, err := c.argFor(1, v, i)
				if err != nil {
					return nil, err
				}
				vals = append(vals, r...)
			}
		}
		c.e.opts.Trace(name, vals)
	}
	return c.in, nil
}

func fnAggregate(c *call) ([]Value, error) {
	var total []Value
	if len(c.n.args) > 1 {
		var err error
		if total, err = c.arg(1); err != nil {
			return nil, err
		}
	}
	for i, v := range c.in {
		r, err := c.n.args[0].eval(c.e, &frame{this: one(v), index: i, total: total, hasTotal: true})
		if err != nil {
			return nil, err
		}
		total = r
	}
	return total, nil
}

func fnType(c *call) ([]Value, error) {
	var out []Value
	for _, v := range c.in {
		ns := v.Namespace()
		out = append(out, Value{typ: "SimpleTypeInfo", sys: true, raw: map[string]any{"namespace": ns, "name": v.typ}})
	}
	return out, nil
}

func fnExtension(c *call) ([]Value, error) {
	url, ok, err := singleStringArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	var out []Value
	for _, v := range c.in {
		exts, err := c.e.child(v, "extension", nil)
		if err != nil {
			return nil, err
		}
		for _, x := range exts {
			if m, ok := x.raw.(map[string]any); ok && m["url"] == url {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

func fnHasValue(c *call) ([]Value, error) {
	if len(c.in) != 1 {
		return boolC(false), nil
	}
	v := c.in[0]
	if v.sys {
		return boolC(true), nil
	}
	_, isMap := v.raw.(map[string]any)
	return boolC(v.raw != nil && !isMap), nil
}

func fnGetValue(c *call) ([]Value, error) {
	if len(c.in) != 1 {
		return nil, nil
	}
	if _, isMap := c.in[0].raw.(map[string]any); isMap {
		return nil, nil
	}
	if s, ok := c.in[0].toSystem(); ok {
		return one(s), nil
	}
	return nil, nil
}

func fnResolve(c *call) ([]Value, error) {
	var out []Value
	for _, v := range c.in {
		var ref string
		switch x := v.raw.(type) {
		case map[string]any:
			ref, _ = x["reference"].(string)
		case string:
			ref = x
		}
		if ref == "" {
			continue
		}
		if r := c.e.resolve(ref); r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (e *evaluator) resolve(ref string) *Value {
	if strings.HasPrefix(ref, "#") {
		for _, root := range e.root {
			if m, ok := root.raw.(map[string]any); ok {
				if cs, ok := m["contained"].([]any); ok {
					for _, c := range cs {
						if cm, ok := c.(map[string]any); ok && "#"+str(cm["id"]) == ref {
							v := FromResource(cm)
							return &v
						}
					}
				}
			}
		}
		return nil
	}
	if e.opts.Resolver != nil {
		if r := e.opts.Resolver(ref); r != nil {
			var v Value
			switch x := r.(type) {
			case Value:
				v = x
			default:
				v = FromResource(r)
			}
			return &v
		}
	}
	// Bundle entries by fullUrl
	for _, root := range e.root {
		if m, ok := root.raw.(map[string]any); ok && m["resourceType"] == "Bundle" {
			if entries, ok := m["entry"].([]any); ok {
				for _, en := range entries {
					if em, ok := en.(map[string]any); ok && em["fullUrl"] == ref {
						if r, ok := em["resource"].(map[string]any); ok {
							v := FromResource(r)
							return &v
						}
					}
				}
			}
		}
	}
	typ, id := refTypeID(ref)
	if typ == "" {
		return nil
	}
	v := FromResource(map[string]any{"resourceType": typ, "id": id})
	return &v
}

// refTypeID reads the type and id of a relative or absolute literal
// reference ("Patient/1", "http://x/fhir/Patient/1/_history/2").
func refTypeID(ref string) (string, string) {
	ref, _, _ = strings.Cut(ref, "?")
	parts := strings.Split(ref, "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if fhirdef.IsResourceType(parts[i]) {
			if i+3 < len(parts)+1 && i+2 < len(parts) && parts[i+2] == "_history" || i+2 == len(parts) {
				return parts[i], parts[i+1]
			}
		}
	}
	return "", ""
}

func str(v any) string { s, _ := v.(string); return s }

func fnConformsTo(c *call) ([]Value, error) {
	url, ok, err := singleStringArg(c, 0)
	if err != nil || !ok {
		return nil, err
	}
	name, ok := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/")
	if !ok || fhirdef.Type(name) == nil {
		return nil, execErr("conformsTo(): unknown profile %s", url)
	}
	if len(c.in) == 0 {
		return nil, nil
	}
	if len(c.in) > 1 {
		return nil, execErr("conformsTo() on a collection")
	}
	return boolC(fhirIsA(c.in[0].typ, name)), nil
}

func fnSort(c *call) ([]Value, error) {
	type keyed struct {
		v    Value
		keys []Value
	}
	items := make([]keyed, len(c.in))
	desc := make([]bool, len(c.n.args))
	args := make([]node, len(c.n.args))
	for j, a := range c.n.args {
		args[j] = a
		if u, ok := a.(*unaryNode); ok && u.op == "-" {
			desc[j], args[j] = true, u.x
		}
	}
	for i, v := range c.in {
		items[i].v = v
		if len(args) == 0 {
			s, _ := v.toSystem()
			items[i].keys = []Value{s}
			continue
		}
		for j := range args {
			r, err := args[j].eval(c.e, &frame{this: one(v), index: i})
			if err != nil {
				return nil, err
			}
			var k Value
			if len(r) > 0 {
				k, _ = r[0].toSystem()
			}
			items[i].keys = append(items[i].keys, k)
		}
	}
	if len(desc) == 0 {
		desc = []bool{false}
	}
	var sortErr error
	sort.SliceStable(items, func(a, b int) bool {
		for j := range items[a].keys {
			ka, kb := items[a].keys[j], items[b].keys[j]
			if ka.raw == nil || kb.raw == nil {
				if (ka.raw == nil) != (kb.raw == nil) {
					return ka.raw == nil
				}
				continue
			}
			cmp, ok, err := compare(ka, kb)
			if err != nil {
				sortErr = err
				return false
			}
			if !ok || cmp == 0 {
				continue
			}
			return (cmp < 0) != desc[j]
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make([]Value, len(items))
	for i := range items {
		out[i] = items[i].v
	}
	return out, nil
}

func fnPrecision(c *call) ([]Value, error) {
	if len(c.in) != 1 {
		return nil, nil
	}
	s, ok := c.in[0].toSystem()
	if !ok {
		return nil, nil
	}
	switch x := s.raw.(type) {
	case Decimal:
		return one(intV(int64(x.scale))), nil
	case int64:
		return one(intV(0)), nil
	case DateTime:
		n := map[int]int{PrecYear: 4, PrecMonth: 6, PrecDay: 8, PrecHour: 10, PrecMinute: 12, PrecSecond: 14, PrecMilli: 17}[x.Prec]
		if x.Kind == KindTime {
			n = map[int]int{PrecHour: 2, PrecMinute: 4, PrecSecond: 6, PrecMilli: 9}[x.Prec]
		}
		return one(intV(int64(n))), nil
	}
	return nil, nil
}

func fnComparable(c *call) ([]Value, error) {
	if len(c.in) != 1 {
		return nil, nil
	}
	a, err := c.arg(0)
	if err != nil || len(a) != 1 {
		return nil, err
	}
	x, ok1 := c.in[0].toSystem()
	y, ok2 := a[0].toSystem()
	qx, ok3 := x.raw.(Quantity)
	qy, ok4 := y.raw.(Quantity)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, nil
	}
	_, ok := compareQty(qx, qy)
	return boolC(ok), nil
}

// fnBoundary implements lowBoundary/highBoundary for decimals, quantities
// and dates.
func fnBoundary(high bool) func(c *call) ([]Value, error) {
	return func(c *call) ([]Value, error) {
		if len(c.in) != 1 {
			return nil, nil
		}
		s, ok := c.in[0].toSystem()
		if !ok {
			return nil, nil
		}
		prec := int64(noPrec)
		if len(c.n.args) > 0 {
			p, err := intArg(c, 0)
			if err != nil {
				return nil, err
			}
			prec = p
		}
		switch x := s.raw.(type) {
		case int64:
			return decBoundary(Decimal{r: new(big.Rat).SetInt64(x)}, prec, high)
		case Decimal:
			return decBoundary(x, prec, high)
		case Quantity:
			r, err := decBoundary(x.Value, prec, high)
			if err != nil || len(r) == 0 {
				return nil, err
			}
			return one(qtyV(Quantity{Value: r[0].raw.(Decimal), Unit: x.Unit})), nil
		case DateTime:
			return dtBoundary(x, prec, high), nil
		}
		return nil, nil
	}
}

const noPrec = -1 << 40

func decBoundary(d Decimal, prec int64, high bool) ([]Value, error) {
	if prec == noPrec {
		prec = 8
	}
	if prec < 0 || prec > 28 {
		return nil, nil
	}
	// the uncertainty is half a unit in the last written digit
	half := new(big.Rat).SetFrac(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale)+1), nil))
	r := new(big.Rat)
	if high {
		r.Add(d.rat(), half)
	} else {
		r.Sub(d.rat(), half)
	}
	// truncate toward the boundary's direction at prec digits
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(prec), nil)
	num := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	q := new(big.Int).Quo(num.Num(), num.Denom())
	exact := new(big.Rat).SetInt(q).Cmp(num) == 0
	if !exact {
		if high && num.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		} else if !high && num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		}
	}
	res := new(big.Rat).SetFrac(q, scale)
	neg0 := false
	// digits all beyond the precision: the boundary is zero
	if new(big.Rat).Abs(d.rat()).Cmp(new(big.Rat).SetFrac(big.NewInt(1), scale)) < 0 {
		res = new(big.Rat)
		neg0 = !high && d.rat().Sign() < 0
	}
	return one(decV(Decimal{r: res, scale: int(prec), neg0: neg0})), nil
}

func dtBoundary(d DateTime, prec int64, high bool) []Value {
	if d.Kind == KindDateTime && d.Prec == PrecHour {
		d.Prec, d.Minute = PrecMinute, 0 // T08 is read as 08:00
	}
	out := d
	if prec == noPrec {
		switch d.Kind {
		case KindDate:
			prec = 8
		case KindTime:
			prec = 9
		default:
			prec = 17
		}
	}
	var p int
	if d.Kind == KindTime {
		m := map[int64]int{2: PrecHour, 4: PrecMinute, 6: PrecSecond, 9: PrecMilli}
		var ok bool
		if p, ok = m[prec]; !ok {
			return nil
		}
	} else {
		m := map[int64]int{4: PrecYear, 6: PrecMonth, 8: PrecDay, 10: PrecHour, 12: PrecMinute, 14: PrecSecond, 17: PrecMilli}
		var ok bool
		if p, ok = m[prec]; !ok {
			return nil
		}
		if d.Kind == KindDate && p > PrecDay {
			return nil
		}
	}
	fill := func(prec int) {
		if prec > out.Prec {
			for f := out.Prec + 1; f <= prec; f++ {
				switch f {
				case PrecMonth:
					out.Month = map[bool]int{true: 12, false: 1}[high]
				case PrecDay:
					out.Day = 1
					if high {
						out.Day = daysIn(out.Year, out.Month)
					}
				case PrecHour:
					out.Hour = map[bool]int{true: 23, false: 0}[high]
				case PrecMinute, PrecSecond:
					v := map[bool]int{true: 59, false: 0}[high]
					if f == PrecMinute {
						out.Minute = v
					} else {
						out.Second = v
					}
				case PrecMilli:
					out.Milli = map[bool]int{true: 999, false: 0}[high]
				}
			}
		}
		out.Prec = prec
	}
	fill(p)
	if d.Kind == KindDateTime && p >= PrecHour && !d.HasTZ {
		out.HasTZ = true
		out.TZMin = 14 * 60
		if high {
			out.TZMin = -12 * 60
		}
	}
	return one(dtV(out))
}

// unescapeJSON undoes JSON string escapes, leaving other text as it is.
func unescapeJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				var r rune
				if _, err := fmt.Sscanf(s[i+1:i+5], "%04x", &r); err == nil {
					b.WriteRune(r)
					i += 4
					continue
				}
			}
			b.WriteString("\\u")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
