package record

import (
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// ParseCriteria turns the query of a conditional interaction
// ("identifier=http://x|123&_id=abc") into store criteria for typ.
//
// The conditional interactions need only a few parameters: _id and the
// identifier token (with system|code, code, |code, and comma for OR).
// Anything else is refused clearly rather than ignored, because ignoring a
// criterion would make a conditional update hit the wrong resource.
func ParseCriteria(typ, query string) (store.Criteria, error) {
	c := store.Criteria{Type: typ}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return c, fhir.E(fhir.Invalid, "conditional criteria %q are not a valid query: %v", query, err)
	}
	if len(vals) == 0 {
		return c, fhir.E(fhir.Invalid, "conditional criteria are empty")
	}
	for name, vs := range vals {
		for _, v := range vs {
			switch name {
			case "_id":
				c.IDs = append(c.IDs, splitOr(v)...)
			case "identifier":
				tc := store.TokenClause{Param: "identifier"}
				for _, part := range splitOr(v) {
					tc.Values = append(tc.Values, parseToken(part))
				}
				c.Tokens = append(c.Tokens, tc)
			case "_format", "_pretty":
			default:
				return c, fhir.E(fhir.Invalid, "search parameter %q is not supported here yet (supported: _id, identifier)", name)
			}
		}
	}
	if len(c.IDs) > 0 {
		// Several _id clauses AND together; the store ORs one list.
		if n := len(vals["_id"]); n > 1 {
			return c, fhir.E(fhir.Invalid, "_id may be given once in conditional criteria")
		}
	}
	return c, nil
}

// splitOr splits a search value on commas that are not escaped with "\".
func splitOr(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case v[i] == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(v[i])
		}
	}
	return append(out, b.String())
}

// parseToken reads [system]|[code] or code.
func parseToken(s string) store.TokenMatch {
	// An escaped "\|" has already been turned into "|" by splitOr only
	// for commas; pipes are split on the first unescaped one here.
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return store.TokenMatch{System: s[:i], Code: s[i+1:]}
	}
	return store.TokenMatch{Code: s, AnySystem: true}
}
