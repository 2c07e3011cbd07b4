package fhirpath

import (
	"strconv"
)

// maxParseDepth bounds the nesting of an expression.
const maxParseDepth = 200

type node interface {
	eval(e *evaluator, f *frame) ([]Value, error)
}

type (
	literalNode struct{ vals []Value }
	// identNode is an identifier at the start of a path: a type filter on
	// the context (Patient) or a child of $this.
	identNode  struct{ name string }
	memberNode struct {
		target node
		name   string
	}
	funcNode struct {
		target node // nil: applies to $this
		name   string
		args   []node
		spec   *funcSpec
		typ    typeSpec // for is/as/ofType
	}
	indexerNode struct{ target, index node }
	unaryNode   struct {
		op string
		x  node
	}
	binaryNode struct {
		op   string
		l, r node
	}
	typeOpNode struct {
		op  string // is, as
		x   node
		typ typeSpec
		fn  bool // written as a function: is(T), as(T)
	}
	specialNode struct{ name string } // $this, $index, $total
	constNode   struct{ name string } // %name
)

type typeSpec struct {
	ns   string // "FHIR", "System" or "" (either)
	name string
}

func (t typeSpec) String() string {
	if t.ns != "" {
		return t.ns + "." + t.name
	}
	return t.name
}

var binPrec = map[string]int{
	"implies": 1, "or": 2, "xor": 2, "and": 3, "in": 4, "contains": 4,
	"=": 5, "~": 5, "!=": 5, "!~": 5, "<": 6, ">": 6, "<=": 6, ">=": 6,
	"|": 7, "is": 8, "as": 8, "+": 9, "-": 9, "&": 9, "*": 10, "/": 10, "div": 10, "mod": 10,
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *parser) expect(s string) error {
	t := p.next()
	if t.kind != tOp || t.text != s {
		return syntaxErr(t.pos, "expected %q, found %q", s, t.text)
	}
	return nil
}

// binOp returns the binary operator at the current token, if any.
func (p *parser) binOp() (string, int) {
	t := p.peek()
	if t.kind == tOp || t.kind == tIdent {
		if pr, ok := binPrec[t.text]; ok {
			if t.kind == tOp || (t.text != "+" && t.text != "-") {
				return t.text, pr
			}
		}
	}
	return "", 0
}

func (p *parser) parseExpr(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, syntaxErr(p.peek().pos, "expression nests too deeply")
	}
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op, pr := p.binOp()
		if op == "" || pr < minPrec {
			return left, nil
		}
		p.next()
		if op == "is" || op == "as" {
			ts, err := p.parseTypeSpec()
			if err != nil {
				return nil, err
			}
			left = &typeOpNode{op: op, x: left, typ: ts}
			continue
		}
		nextMin := pr + 1
		if op == "implies" {
			nextMin = pr // right associative
		}
		right, err := p.parseExpr(nextMin)
		if err != nil {
			return nil, err
		}
		left = &binaryNode{op: op, l: left, r: right}
	}
}

func (p *parser) parseTypeSpec() (typeSpec, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tQIdent {
		return typeSpec{}, syntaxErr(t.pos, "expected a type name")
	}
	if (t.text == "FHIR" || t.text == "System") && p.isOp(".") {
		p.next()
		n := p.next()
		if n.kind != tIdent && n.kind != tQIdent {
			return typeSpec{}, syntaxErr(n.pos, "expected a type name")
		}
		return typeSpec{ns: t.text, name: n.text}, nil
	}
	return typeSpec{name: t.text}, nil
}

func (p *parser) parseUnary() (node, error) {
	if p.isOp("+") || p.isOp("-") {
		op := p.next().text
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxParseDepth {
			return nil, syntaxErr(p.peek().pos, "expression nests too deeply")
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		// fold negative literals
		if lit, ok := x.(*literalNode); ok && op == "-" && len(lit.vals) == 1 {
			switch v := lit.vals[0].raw.(type) {
			case int64:
				return &literalNode{vals: one(intV(-v))}, nil
			case Decimal:
				return &literalNode{vals: one(decV(v.neg()))}, nil
			case Quantity:
				return &literalNode{vals: one(qtyV(Quantity{Value: v.Value.neg(), Unit: v.Unit}))}, nil
			}
		}
		return &unaryNode{op: op, x: x}, nil
	}
	t, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	return p.parsePostfix(t)
}

func (p *parser) parsePostfix(t node) (node, error) {
	for {
		switch {
		case p.isOp("."):
			p.next()
			id := p.next()
			if id.kind != tIdent && id.kind != tQIdent {
				return nil, syntaxErr(id.pos, "expected a name after '.'")
			}
			if id.kind == tIdent && p.isOp("(") {
				fn, err := p.parseCall(t, id)
				if err != nil {
					return nil, err
				}
				t = fn
			} else {
				t = &memberNode{target: t, name: id.text}
			}
		case p.isOp("["):
			p.next()
			idx, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			t = &indexerNode{target: t, index: idx}
		default:
			return t, nil
		}
	}
}

func (p *parser) parseCall(target node, id token) (node, error) {
	p.next() // (
	var args []node
	if !p.isOp(")") {
		for {
			a, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	spec := functions[id.text]
	if spec == nil {
		return nil, syntaxErr(id.pos, "unknown function %s()", id.text)
	}
	if len(args) < spec.min || len(args) > spec.max {
		return nil, &Error{Kind: "semantic", Msg: "wrong number of arguments to " + id.text + "()", Pos: id.pos}
	}
	fn := &funcNode{target: target, name: id.text, args: args, spec: spec}
	if spec.typeArg {
		ts, ok := typeSpecOf(args[0])
		if !ok {
			return nil, &Error{Kind: "semantic", Msg: id.text + "() needs a type name", Pos: id.pos}
		}
		fn.typ = ts
	}
	return fn, nil
}

// typeSpecOf reads a type name given as a function argument: Quantity,
// FHIR.Patient, System.`Integer`.
func typeSpecOf(n node) (typeSpec, bool) {
	switch x := n.(type) {
	case *identNode:
		return typeSpec{name: x.name}, true
	case *memberNode:
		if id, ok := x.target.(*identNode); ok && (id.name == "FHIR" || id.name == "System") {
			return typeSpec{ns: id.name, name: x.name}, true
		}
	}
	return typeSpec{}, false
}

func (p *parser) parseTerm() (node, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return &literalNode{vals: one(strV(t.text))}, nil
	case tNumber:
		var num Value
		if d, ok := ParseDecimal(t.text); ok && !containsDot(t.text) {
			i, err := strconv.ParseInt(t.text, 10, 64)
			if err != nil {
				num = decV(d)
			} else {
				num = intV(i)
			}
		} else if ok {
			num = decV(d)
		} else {
			return nil, syntaxErr(t.pos, "bad number %s", t.text)
		}
		// quantity?
		u := p.peek()
		if u.kind == tString || (u.kind == tIdent && isCalendarUnit(u.text)) {
			p.next()
			d, _ := ParseDecimal(t.text)
			return &literalNode{vals: one(qtyV(Quantity{Value: d, Unit: u.text}))}, nil
		}
		return &literalNode{vals: one(num)}, nil
	case tDate:
		kind := byte(KindDate)
		txt := t.text
		if containsByte(txt, 'T') {
			kind = KindDateTime
			if txt[len(txt)-1] == 'T' {
				txt = txt[:len(txt)-1]
			}
		}
		d, ok := parseDateTime(txt, kind)
		if !ok && kind == KindDateTime {
			d, ok = parseDateTime(txt, KindDate)
			d.Kind = KindDateTime
		}
		if !ok {
			return nil, syntaxErr(t.pos, "bad date/time literal @%s", t.text)
		}
		return &literalNode{vals: one(dtV(d))}, nil
	case tTime:
		d, ok := parseDateTime(t.text, KindTime)
		if !ok {
			return nil, syntaxErr(t.pos, "bad time literal @T%s", t.text)
		}
		return &literalNode{vals: one(dtV(d))}, nil
	case tConst:
		return &constNode{name: t.text}, nil
	case tSpecial:
		switch t.text {
		case "$this", "$index", "$total":
			return &specialNode{name: t.text}, nil
		}
		return nil, syntaxErr(t.pos, "unknown %s", t.text)
	case tIdent, tQIdent:
		if t.kind == tIdent {
			switch t.text {
			case "true":
				return &literalNode{vals: boolC(true)}, nil
			case "false":
				return &literalNode{vals: boolC(false)}, nil
			}
			if p.isOp("(") {
				return p.parseCall(nil, t)
			}
		}
		return &identNode{name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		case "{":
			if err := p.expect("}"); err != nil {
				return nil, err
			}
			return &literalNode{}, nil
		}
	}
	if t.kind == tEOF {
		return nil, syntaxErr(t.pos, "unexpected end of expression")
	}
	return nil, syntaxErr(t.pos, "unexpected %q", t.text)
}

func containsDot(s string) bool { return containsByte(s, '.') }
func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func parse(src string) (node, error) {
	if len(src) > 1<<16 {
		return nil, syntaxErr(0, "expression too long")
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, syntaxErr(t.pos, "unexpected %q", t.text)
	}
	return n, nil
}
