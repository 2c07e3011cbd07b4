package jsonpatch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

func decode(tb testing.TB, s string) any {
	tb.Helper()
	v, err := fhir.Decode([]byte(s))
	if err != nil {
		tb.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestParseInvalid(t *testing.T) {
	for _, patch := range []string{
		``,
		`not json`,
		`[] []`,
		`{}`,
		`{"op":"add","path":"/a","value":1}`,
		`null`,
		`"add"`,
		`[1]`,
		`[null]`,
		`[[]]`,
		`[{"path":"/a","value":1}]`,
		`[{"op":null,"path":"/a","value":1}]`,
		`[{"op":1,"path":"/a","value":1}]`,
		`[{"op":"spam","path":"/a","value":1}]`,
		`[{"op":"ADD","path":"/a","value":1}]`,
		`[{"op":"add","value":1}]`,
		`[{"op":"remove"}]`,
		`[{"op":"add","path":null,"value":1}]`,
		`[{"op":"add","path":1,"value":1}]`,
		`[{"op":"add","path":["a"],"value":1}]`,
		`[{"op":"add","path":"a","value":1}]`,
		`[{"op":"add","path":"a/b","value":1}]`,
		`[{"op":"add","path":"/a~2","value":1}]`,
		`[{"op":"add","path":"/a~","value":1}]`,
		`[{"op":"remove","path":"/~/a"}]`,
		`[{"op":"move","path":"/a"}]`,
		`[{"op":"copy","path":"/a"}]`,
		`[{"op":"move","from":1,"path":"/a"}]`,
		`[{"op":"copy","from":null,"path":"/a"}]`,
		`[{"op":"copy","from":"b","path":"/a"}]`,
		`[{"op":"move","from":"/b~3","path":"/a"}]`,
		`[{"op":"add","path":"/a"}]`,
		`[{"op":"replace","path":"/a"}]`,
		`[{"op":"test","path":"/a"}]`,
		`[{"op":"add","path":"/a","value":1},{"op":"test","path":"/a"}]`,
		"[{\"op\":\"add\",\"path\":\"/a\",\"value\":\"\xff\"}]",
	} {
		p, err := Parse([]byte(patch))
		if err == nil {
			t.Errorf("Parse(%s) = %v, want an error", patch, p)
			continue
		}
		if !fhir.Is(err, fhir.Invalid) {
			t.Errorf("Parse(%s): kind %v, want invalid: %v", patch, fhir.KindOf(err), err)
		}
	}
}

func TestParse(t *testing.T) {
	p, err := Parse([]byte(`[
		{"op":"add","path":"/a~1b","value":{"x":1.50},"from":5,"comment":"ignored"},
		{"op":"remove","path":"/a","value":"ignored"},
		{"op":"replace","path":"","value":null},
		{"op":"move","from":"/x","path":"/y","value":1},
		{"op":"copy","from":"","path":"/z"},
		{"op":"test","path":"/","value":[]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := Patch{
		{Op: OpAdd, Path: "/a~1b", Value: map[string]any{"x": json.Number("1.50")}},
		{Op: OpRemove, Path: "/a"},
		{Op: OpReplace, Path: "", Value: nil},
		{Op: OpMove, From: "/x", Path: "/y"},
		{Op: OpCopy, From: "", Path: "/z"},
		{Op: OpTest, Path: "/", Value: []any{}},
	}
	if len(p) != len(want) {
		t.Fatalf("got %d operations, want %d", len(p), len(want))
	}
	for i := range want {
		g, w := p[i], want[i]
		if g.Op != w.Op || g.Path != w.Path || g.From != w.From || !Equal(g.Value, w.Value) {
			t.Errorf("operation %d: got %#v, want %#v", i, g, w)
		}
	}
	if p, err := Parse([]byte(`[]`)); err != nil || len(p) != 0 {
		t.Errorf("Parse([]) = %v, %v", p, err)
	}
}

// applyCase is a document, a patch and either the exact result (compared as
// fhir.Marshal writes it, so number text must match) or a failure.
type applyCase struct {
	name  string
	doc   string
	patch string
	want  string // when fail is false
	fail  bool
}

var applyCases = []applyCase{
	// Decimals keep their text.
	{name: "replace keeps other decimals", doc: `{"valueQuantity":{"value":1.50,"unit":"mg"},"x":1}`,
		patch: `[{"op":"replace","path":"/x","value":2.10}]`,
		want:  `{"valueQuantity":{"unit":"mg","value":1.50},"x":2.10}`},
	{name: "decimal precision through move and copy", doc: `{"a":[0.10,1e-7,12345678901234567890.123456789000],"b":-0.0}`,
		patch: `[{"op":"copy","from":"/a","path":"/c"},{"op":"move","from":"/b","path":"/a/0"},{"op":"test","path":"/c/2","value":12345678901234567890.123456789}]`,
		want:  `{"a":[-0.0,0.10,1e-7,12345678901234567890.123456789000],"c":[0.10,1e-7,12345678901234567890.123456789000]}`},

	// Test compares numbers by value, never through float64.
	{name: "test 1 equals 1.0", doc: `{"a":1}`, patch: `[{"op":"test","path":"/a","value":1.0}]`, want: `{"a":1}`},
	{name: "test 1.50 equals 1.5", doc: `{"a":1.50}`, patch: `[{"op":"test","path":"/a","value":1.5}]`, want: `{"a":1.50}`},
	{name: "test exponent forms", doc: `[100,0.001,-25,0]`,
		patch: `[{"op":"test","path":"/0","value":1e2},{"op":"test","path":"/0","value":1.00E+2},{"op":"test","path":"/1","value":10e-4},{"op":"test","path":"/2","value":-2.5e1},{"op":"test","path":"/3","value":-0.000e9}]`,
		want:  `[100,0.001,-25,0]`},
	{name: "test beyond float64 precision", doc: `{"a":1}`, patch: `[{"op":"test","path":"/a","value":1.0000000000000000000001}]`, fail: true},
	{name: "test beyond float64 range", doc: `{"a":1e400}`, patch: `[{"op":"test","path":"/a","value":1e401}]`, fail: true},
	{name: "test huge exponents", doc: `{"a":1e99999999999999999999}`, patch: `[{"op":"test","path":"/a","value":0.1e100000000000000000000}]`, want: `{"a":1e99999999999999999999}`},
	{name: "test negative differs", doc: `{"a":1}`, patch: `[{"op":"test","path":"/a","value":-1}]`, fail: true},
	{name: "test number is not string", doc: `{"a":1}`, patch: `[{"op":"test","path":"/a","value":"1"}]`, fail: true},
	{name: "test true is not 1", doc: `{"a":true}`, patch: `[{"op":"test","path":"/a","value":1}]`, fail: true},
	{name: "test null", doc: `{"a":null}`, patch: `[{"op":"test","path":"/a","value":null}]`, want: `{"a":null}`},
	{name: "test null is not missing", doc: `{}`, patch: `[{"op":"test","path":"/a","value":null}]`, fail: true},
	{name: "test objects ignore key order", doc: `{"a":{"x":1,"y":[1,{"p":"q","r":2.0}]}}`,
		patch: `[{"op":"test","path":"/a","value":{"y":[1.0,{"r":2,"p":"q"}],"x":1}}]`,
		want:  `{"a":{"x":1,"y":[1,{"p":"q","r":2.0}]}}`},
	{name: "test object with extra member", doc: `{"a":{"x":1}}`, patch: `[{"op":"test","path":"/a","value":{"x":1,"y":2}}]`, fail: true},
	{name: "test arrays keep order", doc: `{"a":[1,2]}`, patch: `[{"op":"test","path":"/a","value":[2,1]}]`, fail: true},
	{name: "test whole document", doc: `{"a":[1]}`, patch: `[{"op":"test","path":"","value":{"a":[1]}}]`, want: `{"a":[1]}`},

	// Escapes.
	{name: "escaped slash", doc: `{"a/b":1}`, patch: `[{"op":"replace","path":"/a~1b","value":2}]`, want: `{"a/b":2}`},
	{name: "escaped tilde", doc: `{"m~n":1}`, patch: `[{"op":"remove","path":"/m~0n"}]`, want: `{}`},
	{name: "~01 is ~1 not /", doc: `{"~1":1,"/":2}`, patch: `[{"op":"test","path":"/~01","value":1},{"op":"remove","path":"/~01"}]`, want: `{"/":2}`},
	{name: "~10 is /0", doc: `{"/0":1}`, patch: `[{"op":"add","path":"/~10","value":3}]`, want: `{"/0":3}`},
	{name: "empty key", doc: `{"":1}`, patch: `[{"op":"test","path":"/","value":1},{"op":"add","path":"/ ","value":2}]`, want: `{"":1," ":2}`},
	{name: "nested empty keys", doc: `{"":{"":0}}`, patch: `[{"op":"replace","path":"//","value":9}]`, want: `{"":{"":9}}`},
	{name: "keys are case sensitive", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/FOO","value":"BAR"}]`, want: `{"FOO":"BAR","foo":"bar"}`},

	// "-" appends to arrays and is an ordinary key in objects.
	{name: "append with -", doc: `{"a":[1,2]}`, patch: `[{"op":"add","path":"/a/-","value":3}]`, want: `{"a":[1,2,3]}`},
	{name: "append to empty", doc: `{"a":[]}`, patch: `[{"op":"add","path":"/a/-","value":{"b":[]}}]`, want: `{"a":[{"b":[]}]}`},
	{name: "append to root array", doc: `[1]`, patch: `[{"op":"add","path":"/-","value":[2]}]`, want: `[1,[2]]`},
	{name: "- key on object", doc: `{"a":{}}`, patch: `[{"op":"add","path":"/a/-","value":1},{"op":"test","path":"/a/-","value":1}]`, want: `{"a":{"-":1}}`},
	{name: "remove -", doc: `{"a":[1]}`, patch: `[{"op":"remove","path":"/a/-"}]`, fail: true},
	{name: "replace -", doc: `{"a":[1]}`, patch: `[{"op":"replace","path":"/a/-","value":2}]`, fail: true},
	{name: "test -", doc: `{"a":[1]}`, patch: `[{"op":"test","path":"/a/-","value":1}]`, fail: true},
	{name: "- in the middle of a path", doc: `{"a":[{"b":1}]}`, patch: `[{"op":"add","path":"/a/-/b","value":2}]`, fail: true},
	{name: "move to -", doc: `{"a":[1,2,3]}`, patch: `[{"op":"move","from":"/a/0","path":"/a/-"}]`, want: `{"a":[2,3,1]}`},
	{name: "copy from -", doc: `{"a":[1]}`, patch: `[{"op":"copy","from":"/a/-","path":"/b"}]`, fail: true},

	// Array indexes.
	{name: "insert at index", doc: `[1,3]`, patch: `[{"op":"add","path":"/1","value":2}]`, want: `[1,2,3]`},
	{name: "insert at 0", doc: `[1]`, patch: `[{"op":"add","path":"/0","value":0}]`, want: `[0,1]`},
	{name: "insert at length", doc: `[1,2]`, patch: `[{"op":"add","path":"/2","value":3}]`, want: `[1,2,3]`},
	{name: "insert past length", doc: `[1,2]`, patch: `[{"op":"add","path":"/3","value":3}]`, fail: true},
	{name: "remove at length", doc: `[1,2]`, patch: `[{"op":"remove","path":"/2"}]`, fail: true},
	{name: "replace out of range", doc: `[1,2]`, patch: `[{"op":"replace","path":"/5","value":0}]`, fail: true},
	{name: "test out of range", doc: `[]`, patch: `[{"op":"test","path":"/0","value":null}]`, fail: true},
	{name: "remove from empty", doc: `{"a":[]}`, patch: `[{"op":"remove","path":"/a/0"}]`, fail: true},
	{name: "huge index", doc: `[1]`, patch: `[{"op":"add","path":"/99999999999999999999999999","value":0}]`, fail: true},
	{name: "max int index", doc: `[1]`, patch: `[{"op":"replace","path":"/9223372036854775807","value":0}]`, fail: true},
	{name: "negative index", doc: `[1,2]`, patch: `[{"op":"remove","path":"/-1"}]`, fail: true},
	{name: "plus index", doc: `[1,2]`, patch: `[{"op":"remove","path":"/+1"}]`, fail: true},
	{name: "exponent index", doc: `[1,2]`, patch: `[{"op":"add","path":"/1e0","value":0}]`, fail: true},
	{name: "space index", doc: `[1,2]`, patch: `[{"op":"test","path":"/ 1","value":2}]`, fail: true},
	{name: "empty index", doc: `[1,2]`, patch: `[{"op":"test","path":"/","value":1}]`, fail: true},
	{name: "leading zero index", doc: `{"a":[1,2]}`, patch: `[{"op":"test","path":"/a/01","value":2}]`, fail: true},
	{name: "leading zero add", doc: `{"a":[1,2]}`, patch: `[{"op":"add","path":"/a/00","value":2}]`, fail: true},
	{name: "leading zero in the middle", doc: `{"a":[{"b":1}]}`, patch: `[{"op":"replace","path":"/a/00/b","value":2}]`, fail: true},
	{name: "zero index", doc: `{"a":[1,2]}`, patch: `[{"op":"test","path":"/a/0","value":1}]`, want: `{"a":[1,2]}`},
	{name: "leading zero is fine as an object key", doc: `{"01":1}`, patch: `[{"op":"replace","path":"/01","value":2}]`, want: `{"01":2}`},
	{name: "remove from middle", doc: `[1,2,3]`, patch: `[{"op":"remove","path":"/1"}]`, want: `[1,3]`},
	{name: "remove last", doc: `[1,2,3]`, patch: `[{"op":"remove","path":"/2"},{"op":"remove","path":"/0"}]`, want: `[2]`},

	// Missing paths.
	{name: "add with missing parent", doc: `{}`, patch: `[{"op":"add","path":"/a/b","value":1}]`, fail: true},
	{name: "add with deep missing parent", doc: `{"a":{}}`, patch: `[{"op":"add","path":"/a/b/c","value":1}]`, fail: true},
	{name: "add through a scalar", doc: `{"a":"s"}`, patch: `[{"op":"add","path":"/a/b","value":1}]`, fail: true},
	{name: "add under a scalar root", doc: `5`, patch: `[{"op":"add","path":"/a","value":1}]`, fail: true},
	{name: "replace missing", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/b","value":1}]`, fail: true},
	{name: "remove missing", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/b"}]`, fail: true},
	{name: "remove deep missing", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/b/c/d"}]`, fail: true},
	{name: "move from missing", doc: `{"a":1}`, patch: `[{"op":"move","from":"/b","path":"/c"}]`, fail: true},
	{name: "copy from missing", doc: `{"a":1}`, patch: `[{"op":"copy","from":"/b","path":"/c"}]`, fail: true},
	{name: "move to missing parent", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/b/c"}]`, fail: true},
	{name: "add replaces existing member", doc: `{"a":1}`, patch: `[{"op":"add","path":"/a","value":[2]}]`, want: `{"a":[2]}`},

	// Null values.
	{name: "add null", doc: `{}`, patch: `[{"op":"add","path":"/a","value":null}]`, want: `{"a":null}`},
	{name: "replace with null", doc: `{"a":{"b":1}}`, patch: `[{"op":"replace","path":"/a","value":null}]`, want: `{"a":null}`},
	{name: "replace null", doc: `{"a":null}`, patch: `[{"op":"replace","path":"/a","value":true}]`, want: `{"a":true}`},

	// Move.
	{name: "move into own child", doc: `{"a":{"b":{}}}`, patch: `[{"op":"move","from":"/a","path":"/a/b/c"}]`, fail: true},
	{name: "move into own direct child", doc: `{"a":{}}`, patch: `[{"op":"move","from":"/a","path":"/a/x"}]`, fail: true},
	{name: "move root into child", doc: `{"a":{}}`, patch: `[{"op":"move","from":"","path":"/a/x"}]`, fail: true},
	{name: "move to sibling with common prefix", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/ab"}]`, want: `{"ab":1}`},
	{name: "move to same place", doc: `{"a":{"b":[1,2]}}`, patch: `[{"op":"move","from":"/a/b","path":"/a/b"},{"op":"move","from":"/a/b/1","path":"/a/b/1"}]`, want: `{"a":{"b":[1,2]}}`},
	{name: "move root to root", doc: `{"a":1}`, patch: `[{"op":"move","from":"","path":""}]`, want: `{"a":1}`},
	{name: "move child to root", doc: `{"a":{"b":1.50}}`, patch: `[{"op":"move","from":"/a","path":""}]`, want: `{"b":1.50}`},
	{name: "move to parent", doc: `{"a":{"b":{"c":1}}}`, patch: `[{"op":"move","from":"/a/b/c","path":"/a"}]`, want: `{"a":1}`},
	{name: "move array element forward", doc: `{"a":[1,2,3,4]}`, patch: `[{"op":"move","from":"/a/1","path":"/a/3"}]`, want: `{"a":[1,3,4,2]}`},
	{name: "move array element back", doc: `{"a":[1,2,3,4]}`, patch: `[{"op":"move","from":"/a/3","path":"/a/0"}]`, want: `{"a":[4,1,2,3]}`},
	{name: "move index evaluated after remove", doc: `{"a":[1,2]}`, patch: `[{"op":"move","from":"/a/0","path":"/a/2"}]`, fail: true},
	{name: "move between arrays", doc: `{"a":[1,2],"b":[]}`, patch: `[{"op":"move","from":"/a/0","path":"/b/0"}]`, want: `{"a":[2],"b":[1]}`},

	// Copy.
	{name: "copy is deep", doc: `{"a":{"x":[1],"y":1.50}}`,
		patch: `[{"op":"copy","from":"/a","path":"/b"},{"op":"replace","path":"/b/y","value":2},{"op":"add","path":"/b/x/-","value":2},{"op":"test","path":"/a","value":{"x":[1],"y":1.5}}]`,
		want:  `{"a":{"x":[1],"y":1.50},"b":{"x":[1,2],"y":2}}`},
	{name: "copy root into child", doc: `{"a":1}`, patch: `[{"op":"copy","from":"","path":"/b"},{"op":"add","path":"/b/c","value":2}]`, want: `{"a":1,"b":{"a":1,"c":2}}`},
	{name: "copy into own child", doc: `{"a":{"b":1}}`, patch: `[{"op":"copy","from":"/a","path":"/a/c"},{"op":"remove","path":"/a/c/b"}]`, want: `{"a":{"b":1,"c":{}}}`},
	{name: "copy array element", doc: `[{"a":1}]`, patch: `[{"op":"copy","from":"/0","path":"/0"},{"op":"replace","path":"/0/a","value":2}]`, want: `[{"a":2},{"a":1}]`},

	// The root.
	{name: "replace root", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":{"b":[1.50]}}]`, want: `{"b":[1.50]}`},
	{name: "replace root with scalar", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":2.0}]`, want: `2.0`},
	{name: "replace root with array", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":[]},{"op":"add","path":"/-","value":1}]`, want: `[1]`},
	{name: "add root", doc: `[1]`, patch: `[{"op":"add","path":"","value":{"x":null}}]`, want: `{"x":null}`},
	{name: "remove root", doc: `{"a":1}`, patch: `[{"op":"remove","path":""}]`, fail: true},
	{name: "empty patch", doc: `{"a":1.50}`, patch: `[]`, want: `{"a":1.50}`},
	{name: "scalar document", doc: `"foo"`, patch: `[{"op":"test","path":"","value":"foo"}]`, want: `"foo"`},

	// Atomicity: a failure anywhere leaves no result (the input is checked
	// unchanged for every case).
	{name: "later failure", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/-","value":2},{"op":"remove","path":"/a/0"},{"op":"test","path":"/b","value":1}]`, fail: true},

	// The FHIR use: patch a resource.
	{name: "fhir resource", doc: `{"resourceType":"Observation","id":"o1","status":"preliminary","valueQuantity":{"value":7.20,"unit":"mmol/L"},"note":[{"text":"a"}]}`,
		patch: `[{"op":"test","path":"/status","value":"preliminary"},{"op":"replace","path":"/status","value":"final"},{"op":"add","path":"/note/-","value":{"text":"b"}},{"op":"remove","path":"/note/0"}]`,
		want:  `{"id":"o1","note":[{"text":"b"}],"resourceType":"Observation","status":"final","valueQuantity":{"unit":"mmol/L","value":7.20}}`},
}

func TestApply(t *testing.T) {
	for _, c := range applyCases {
		t.Run(c.name, func(t *testing.T) {
			doc := decode(t, c.doc)
			before := mustMarshal(t, doc)
			p, err := Parse([]byte(c.patch))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := p.Apply(doc)
			if after := mustMarshal(t, doc); after != before {
				t.Errorf("Apply changed its input:\nbefore %s\nafter  %s", before, after)
			}
			if c.fail {
				if err == nil {
					t.Fatalf("Apply = %s, want an error", mustMarshal(t, got))
				}
				if !fhir.Is(err, fhir.Unprocessable) {
					t.Errorf("kind %v, want unprocessable: %v", fhir.KindOf(err), err)
				}
				if got != nil {
					t.Errorf("Apply returned a document with its error: %s", mustMarshal(t, got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if g, w := mustMarshal(t, got), mustMarshal(t, decode(t, c.want)); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// TestApplyNoSharing checks that the result shares nothing with the patch:
// changing it must not change what the patch inserts next time.
func TestApplyNoSharing(t *testing.T) {
	p, err := Parse([]byte(`[{"op":"add","path":"/a","value":{"list":[1]}},{"op":"replace","path":"/b","value":[{"c":1}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, `{"b":0}`)
	first, err := p.Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	m := first.(map[string]any)
	m["a"].(map[string]any)["list"] = append(m["a"].(map[string]any)["list"].([]any), 2)
	m["b"].([]any)[0].(map[string]any)["c"] = 2
	second, err := p.Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := mustMarshal(t, second), `{"a":{"list":[1]},"b":[{"c":1}]}`; g != w {
		t.Errorf("second Apply = %s, want %s", g, w)
	}
	// And nothing with the input document.
	in := decode(t, `{"a":{"b":[1]}}`)
	out, err := Patch(nil).Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	out.(map[string]any)["a"].(map[string]any)["b"].([]any)[0] = 9
	if g := mustMarshal(t, in); g != `{"a":{"b":[1]}}` {
		t.Errorf("changing the result changed the input: %s", g)
	}
}

// TestApplyInvalidPatch covers a Patch built by hand, not by Parse.
func TestApplyInvalidPatch(t *testing.T) {
	for _, p := range []Patch{
		{{Op: "spam", Path: "/a"}},
		{{Op: OpAdd, Path: "a", Value: 1}},
		{{Op: OpTest, Path: "/~2", Value: 1}},
		{{Op: OpMove, From: "x", Path: "/a"}},
	} {
		_, err := p.Apply(map[string]any{"a": json.Number("1")})
		if !fhir.Is(err, fhir.Invalid) {
			t.Errorf("%v.Apply: %v (kind %v), want invalid", p, err, fhir.KindOf(err))
		}
	}
}

// nested returns an object nesting n levels deep ({"a":{"a":...{}}}) and the
// pointer to its innermost object.
func nested(n int) (string, string) {
	return strings.Repeat(`{"a":`, n-1) + `{}` + strings.Repeat(`}`, n-1), strings.Repeat("/a", n-1)
}

func TestApplyDepthLimit(t *testing.T) {
	doc, inner := nested(fhir.MaxDepth - 4) // 60 levels
	for _, c := range []struct {
		value string
		ok    bool
	}{
		{`1`, true},
		{`[[[[]]]]`, true},    // 60 + 4 = MaxDepth
		{`[[[[[]]]]]`, false}, // 65
		{`{"x":[1,{"y":[[{}]]}]}`, false},
	} {
		patch := fmt.Sprintf(`[{"op":"add","path":"%s/x","value":%s}]`, inner, c.value)
		got, err := mustParse(t, patch).Apply(decode(t, doc))
		if c.ok {
			if err != nil {
				t.Errorf("add %s: %v", c.value, err)
				continue
			}
			if _, err := fhir.Decode([]byte(mustMarshal(t, got))); err != nil {
				t.Errorf("add %s: result does not decode: %v", c.value, err)
			}
		} else if !fhir.Is(err, fhir.Unprocessable) {
			t.Errorf("add %s: %v, want unprocessable", c.value, err)
		}
	}
	// Copying the document into itself deepens it by one each time.
	small, _ := nested(2)
	var ops []string
	for range fhir.MaxDepth {
		ops = append(ops, `{"op":"copy","from":"","path":"/a"}`)
	}
	if _, err := mustParse(t, "["+strings.Join(ops, ",")+"]").Apply(decode(t, small)); !fhir.Is(err, fhir.Unprocessable) {
		t.Errorf("repeated self copy: %v, want unprocessable", err)
	}
	// So does moving a value deeper.
	deep := `{"x":[[[[[1]]]]],"b":` + doc + `}`
	if _, err := mustParse(t, fmt.Sprintf(`[{"op":"move","from":"/x","path":"/b%s/x"}]`, inner)).Apply(decode(t, deep)); !fhir.Is(err, fhir.Unprocessable) {
		t.Errorf("deep move: %v, want unprocessable", err)
	}
}

func TestApplyCopyLimit(t *testing.T) {
	// Copying an array into itself doubles it each time.
	var ops []string
	for range 40 {
		ops = append(ops, `{"op":"copy","from":"/a","path":"/a/-"}`)
	}
	_, err := mustParse(t, "["+strings.Join(ops, ",")+"]").Apply(decode(t, `{"a":[1]}`))
	if !fhir.Is(err, fhir.Unprocessable) || !strings.Contains(err.Error(), "copies more than") {
		t.Errorf("doubling copies: %v, want unprocessable copy limit", err)
	}
	// A modest copy is fine.
	got, err := mustParse(t, "["+strings.Join(ops[:5], ",")+"]").Apply(decode(t, `{"a":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := mustMarshal(t, got); len(s) < 32 {
		t.Errorf("5 doublings: %s", s)
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := mustParse(t, `[{"op":"test","path":"/a","value":1},{"op":"add","path":"/b~1c/d","value":1}]`).Apply(decode(t, `{"a":1}`))
	if err == nil || !strings.Contains(err.Error(), `patch operation 1 (add "/b~1c/d")`) || !strings.Contains(err.Error(), "/b~1c does not exist") {
		t.Errorf("error = %v", err)
	}
	_, err = Parse([]byte(`[{"op":"add","path":"/a","value":1},{"op":"move","path":"/a"}]`))
	if err == nil || !strings.Contains(err.Error(), `patch operation 1: "from" is required`) {
		t.Errorf("error = %v", err)
	}
}

func mustParse(tb testing.TB, patch string) Patch {
	tb.Helper()
	p, err := Parse([]byte(patch))
	if err != nil {
		tb.Fatalf("Parse(%s): %v", patch, err)
	}
	return p
}

func TestEqualNumbers(t *testing.T) {
	for _, c := range []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), json.Number("1.0"), true},
		{json.Number("1.50"), json.Number("1.5"), true},
		{json.Number("0"), json.Number("-0.0e7"), true},
		{json.Number("10"), json.Number("1e1"), true},
		{json.Number("10"), json.Number("1E+1"), true},
		{json.Number("0.01"), json.Number("1e-2"), true},
		{json.Number("123.456"), json.Number("123456e-3"), true},
		{json.Number("100"), json.Number("0.00100e5"), true},
		{json.Number("-2.5"), json.Number("-25e-1"), true},
		{json.Number("2.5"), json.Number("-2.5"), false},
		{json.Number("1"), json.Number("10"), false},
		{json.Number("1"), json.Number("0.1"), false},
		{json.Number("9007199254740993"), json.Number("9007199254740992"), false}, // equal as float64
		{json.Number("1e99999999999999999999"), json.Number("1e99999999999999999998"), false},
		{json.Number("1e-99999999999999999999"), json.Number("0.1e-99999999999999999998"), true},
		{json.Number("1"), "1", false},
		{"1", json.Number("1"), false},
		{json.Number("1"), true, false},
		{json.Number("0"), nil, false},
		{json.Number("abc"), json.Number("abc"), true}, // not a number: same text only
		{json.Number("abc"), json.Number("abd"), false},
		{json.Number("01"), json.Number("1"), false},
		{json.Number("1"), float64(1), true},
		{json.Number("0.5"), float64(0.5), true},
		{json.Number("3"), 3, true},
		{int64(3), json.Number("3.000"), true},
	} {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := Equal(c.b, c.a); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}

func TestPointer(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"/", []string{""}},
		{"//", []string{"", ""}},
		{"/a/b", []string{"a", "b"}},
		{"/a~1b", []string{"a/b"}},
		{"/m~0n", []string{"m~n"}},
		{"/~01", []string{"~1"}},
		{"/~10", []string{"/0"}},
		{"/~0~1~0", []string{"~/~"}},
		{"/ a /-/0", []string{" a ", "-", "0"}},
	} {
		p, err := parsePointer(c.in)
		if err != nil {
			t.Errorf("parsePointer(%q): %v", c.in, err)
			continue
		}
		if fmt.Sprint([]string(p)) != fmt.Sprint(c.want) || len(p) != len(c.want) {
			t.Errorf("parsePointer(%q) = %q, want %q", c.in, []string(p), c.want)
		}
		if c.in != "" && p.String() != c.in {
			t.Errorf("pointer %q String() = %q", c.in, p.String())
		}
	}
	for _, in := range []string{"a", "a/b", "~", "/~", "/~2", "/a~", "/~a"} {
		if _, err := parsePointer(in); err == nil {
			t.Errorf("parsePointer(%q) succeeded, want an error", in)
		}
	}
}
