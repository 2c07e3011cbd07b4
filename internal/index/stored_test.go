package index

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// sorted orders every kind of row, so two indexes compare by content.
func sorted(ix store.Index) store.Index {
	key := func(v any) string { return fmt.Sprintf("%+v", v) }
	sortBy := func(s any) {
		switch s := s.(type) {
		case []store.Token:
			slices.SortFunc(s, func(a, b store.Token) int { return cmp.Compare(key(a), key(b)) })
		case []store.String:
			slices.SortFunc(s, func(a, b store.String) int { return cmp.Compare(key(a), key(b)) })
		case []store.Date:
			slices.SortFunc(s, func(a, b store.Date) int { return cmp.Compare(key(a), key(b)) })
		case []store.Reference:
			slices.SortFunc(s, func(a, b store.Reference) int { return cmp.Compare(key(a), key(b)) })
		case []store.Quantity:
			slices.SortFunc(s, func(a, b store.Quantity) int { return cmp.Compare(key(a), key(b)) })
		case []store.Composite:
			slices.SortFunc(s, func(a, b store.Composite) int { return cmp.Compare(key(a), key(b)) })
		}
	}
	for _, s := range []any{ix.Tokens, ix.Strings, ix.Dates, ix.References, ix.Quantities, ix.Composites} {
		sortBy(s)
	}
	return ix
}

// TestComputeStored checks that the rows a write computes (before the
// version and time are known, from the client's body) are those a rebuild
// computes from the stored body.
func TestComputeStored(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 123456000, time.UTC)
	tests := []struct {
		name, id, body string
	}{
		{"observation", "o1", observation},
		{"create: no id in the body", "new1", `{"resourceType":"Patient","name":[{"family":"Smith"}],"meta":{"tag":[{"system":"s","code":"t"}]}}`},
		{"create: a client id, ignored", "new2", `{"resourceType":"Patient","id":"client","active":true}`},
		{"patch: an earlier version's meta", "p3", `{"resourceType":"Patient","id":"p3","meta":{"versionId":"4","lastUpdated":"2020-01-01T00:00:00.000000Z","profile":["http://x/p"]},"gender":"female"}`},
		{"meta with only server fields", "b1", `{"resourceType":"Basic","id":"b1","meta":{"versionId":"1"},"code":{"text":"x"}}`},
	}
	for _, scope := range []Scope{Conditional, All} {
		for _, tc := range tests {
			t.Run(scopeName(scope)+"/"+tc.name, func(t *testing.T) {
				obj := decode(t, tc.body)
				before := fmt.Sprint(obj)
				ix, pk := ComputeStored(obj, tc.id, scope)
				if fmt.Sprint(obj) != before {
					t.Errorf("ComputeStored modified its argument")
				}
				p, err := fhir.Prepare(obj, tc.id)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := fhir.DecodeResource(p.Render(7, at))
				if err != nil {
					t.Fatal(err)
				}
				want, wantPK := Compute(stored, tc.id, scope)
				if pk != wantPK {
					t.Errorf("patient key %q, from the stored body %q", pk, wantPK)
				}
				if d := gocmp.Diff(sorted(want), sorted(ix), cmpopts.EquateEmpty()); d != "" {
					t.Errorf("rows differ from the stored body's (-stored +written):\n%s", d)
				}
			})
		}
	}
}
