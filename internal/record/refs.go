package record

import (
	"context"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// rewrite replaces, anywhere in v, a string equal to a key of ids (a
// Bundle entry's fullUrl) with the local reference it now stands for
// ("Patient/1f…"). The spec asks for every such reference to be updated,
// not only Reference.reference: attachments and canonical-like uses too.
func rewrite(v any, ids map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if s, ok := c.(string); ok {
				if r, ok := ids[s]; ok {
					t[k] = r
				}
				continue
			}
			rewrite(c, ids)
		}
	case []any:
		for i, c := range t {
			if s, ok := c.(string); ok {
				if r, ok := ids[s]; ok {
					t[i] = r
				}
				continue
			}
			rewrite(c, ids)
		}
	}
}

// conditionalRef reports whether a Reference.reference is a search
// ("Patient?identifier=x|1") rather than an address.
func conditionalRef(s string) (typ, query string, ok bool) {
	i := strings.IndexByte(s, '?')
	if i <= 0 || strings.Contains(s[:i], "/") || strings.Contains(s[:i], ":") {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// resolveConditionalRefs replaces each conditional reference in m with the
// one resource it matches, inside tx; no match or several is an error.
// cache, if not nil, remembers answers for the rest of the transaction
// (real feeds repeat the same few references hundreds of times).
func (s *Service) resolveConditionalRefs(ctx context.Context, tx store.Tx, m any, cache map[string]string) error {
	var err error
	var walk func(v any)
	walk = func(v any) {
		if err != nil {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if k == "reference" {
					if ref, ok := c.(string); ok {
						if typ, q, ok := conditionalRef(ref); ok {
							if to, ok := cache[ref]; ok {
								t[k] = to
								continue
							}
							var id string
							id, err = s.resolveRef(ctx, tx, typ, q, ref)
							if err != nil {
								return
							}
							t[k] = typ + "/" + id
							if cache != nil {
								cache[ref] = t[k].(string)
							}
							continue
						}
					}
				}
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(m)
	return err
}

func (s *Service) resolveRef(ctx context.Context, tx store.Tx, typ, q, ref string) (string, error) {
	if err := s.guardConditional(ctx); err != nil {
		return "", err
	}
	if err := s.CheckType(typ); err != nil {
		return "", fhir.E(fhir.Invalid, "conditional reference %q: unknown resource type %q", ref, typ)
	}
	c, err := s.ParseCriteria(ctx, typ, q)
	if err != nil {
		return "", err
	}
	ids, err := tx.Find(ctx, c, 2)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", fhir.E(fhir.Unprocessable, "conditional reference %q matches no resource", ref)
	}
	return "", fhir.E(fhir.MultipleMatches, "conditional reference %q matches more than one resource", ref)
}

// unresolved reports whether v still holds something only the write
// transaction can settle: a conditional reference, or a reference to a
// Bundle entry (pending) whose id depends on a search.
func unresolved(v any, pending map[string]bool) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if s, ok := c.(string); ok {
				if pending[s] {
					return true
				}
				if k == "reference" {
					if _, _, ok := conditionalRef(s); ok {
						return true
					}
				}
				continue
			}
			if unresolved(c, pending) {
				return true
			}
		}
	case []any:
		for _, c := range t {
			if s, ok := c.(string); ok {
				if pending[s] {
					return true
				}
				continue
			}
			if unresolved(c, pending) {
				return true
			}
		}
	}
	return false
}
