package search

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

func parseQS(t testing.TB, rt, qs string, opts Options) (*Query, error) {
	t.Helper()
	v, err := url.ParseQuery(qs)
	if err != nil {
		t.Fatalf("bad test query %q: %v", qs, err)
	}
	return Parse(rt, v, opts)
}

func mustParse(t testing.TB, rt, qs string, opts Options) *Query {
	t.Helper()
	q, err := parseQS(t, rt, qs, opts)
	if err != nil {
		t.Fatalf("Parse(%s, %q): %v", rt, qs, err)
	}
	return q
}

func sp(t testing.TB, rt, code string) fhirdef.SearchParameter {
	t.Helper()
	p, ok := fhirdef.SearchParam(rt, code)
	if !ok {
		t.Fatalf("no search parameter %s.%s", rt, code)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func date(p Precision, low, high string) *Date {
	return &Date{Precision: p, Low: ts(low), High: ts(high)}
}

func num(v, lo, hi string) *Number { return &Number{Value: v, Low: lo, High: hi} }

func str(text, norm string) *StringValue { return &StringValue{Text: text, Normalized: norm} }

// valueCase is one row of a per-type table: a query with one parameter,
// the modifier it must carry and its values.
type valueCase struct {
	rt, q string
	mod   Modifier
	want  []Value
}

func runValueCases(t *testing.T, cases []valueCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q := mustParse(t, c.rt, c.q, Options{Strict: true})
			if len(q.Clauses) != 1 {
				t.Fatalf("got %d clauses, want 1", len(q.Clauses))
			}
			cl := q.Clauses[0]
			if cl.Modifier != c.mod {
				t.Errorf("modifier %q, want %q", cl.Modifier, c.mod)
			}
			if diff := cmp.Diff(c.want, cl.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

// wantInvalid checks err is a fhir.Invalid error naming param.
func wantInvalid(t testing.TB, err error, param string) *fhir.Error {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want *fhir.Error", err, err)
	}
	if fe.Kind != fhir.Invalid {
		t.Errorf("kind %v, want invalid", fe.Kind)
	}
	if param != "" {
		if len(fe.Issues) == 0 || len(fe.Issues[0].Expression) == 0 || fe.Issues[0].Expression[0] != param {
			t.Errorf("issues %+v do not name %q", fe.Issues, param)
		}
		if len(fe.Msg) < len(param) || fe.Msg[:len(param)] != param {
			t.Errorf("message %q does not start with %q", fe.Msg, param)
		}
	}
	return fe
}

var timeLoadLocation = time.LoadLocation
