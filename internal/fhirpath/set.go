package fhirpath

import "math/big"

// valueSet finds equal values fast: System-like values by a key, other
// values (complex nodes, quantities, dates) by a linear scan whose cost is
// charged to the evaluator's step budget.
type valueSet struct {
	e        *evaluator
	identity bool // complex nodes are the same only if they are the same node
	keys     map[string]struct{}
	ids      map[uintptr]struct{}
	others   []Value
}

// newValueSet returns an empty set; its maps are made on first use, as
// most unions of search expressions join an empty side.
func newValueSet(e *evaluator, identity bool) *valueSet {
	return &valueSet{e: e, identity: identity}
}

func valueKey(v Value) (string, bool) {
	s, ok := v.toSystem()
	if !ok {
		return "", false
	}
	switch x := s.raw.(type) {
	case bool:
		if x {
			return "b:t", true
		}
		return "b:f", true
	case string:
		return "s:" + x, true
	case int64:
		return "n:" + new(big.Rat).SetInt64(x).RatString(), true
	case Decimal:
		return "n:" + x.rat().RatString(), true
	}
	return "", false
}

// has reports whether an equal value was added.
func (s *valueSet) has(v Value) bool {
	if k, ok := valueKey(v); ok {
		_, found := s.keys[k]
		return found
	}
	if m, ok := v.raw.(map[string]any); ok && !v.sys && s.identity {
		_, found := s.ids[mapID(m)]
		return found
	}
	if s.e != nil {
		s.e.step(len(s.others))
	}
	for _, x := range s.others {
		if eq, ok := equalItem(x, v); ok && eq {
			return true
		}
	}
	return false
}

func (s *valueSet) add(v Value) {
	if k, ok := valueKey(v); ok {
		if s.keys == nil {
			s.keys = map[string]struct{}{}
		}
		s.keys[k] = struct{}{}
		return
	}
	if m, ok := v.raw.(map[string]any); ok && !v.sys && s.identity {
		if s.ids == nil {
			s.ids = map[uintptr]struct{}{}
		}
		s.ids[mapID(m)] = struct{}{}
		return
	}
	s.others = append(s.others, v)
}

// addNew adds v and reports whether it was not there yet.
func (s *valueSet) addNew(v Value) bool {
	if s.has(v) {
		return false
	}
	s.add(v)
	return true
}

func setOf(e *evaluator, list []Value) *valueSet {
	s := newValueSet(e, false)
	for _, v := range list {
		s.add(v)
	}
	return s
}
