package fhir

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"not json", "{"},
		{"array", "[]"},
		{"no resourceType", `{"id":"1"}`},
		{"resourceType not string", `{"resourceType":1}`},
		{"trailing", `{"resourceType":"Patient"}x`},
		{"invalid utf8", "{\"resourceType\":\"Patient\",\"x\":\"\xc3\x28\"}"},
		{"deep", `{"resourceType":"Patient","a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResource([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if KindOf(err) != Invalid {
				t.Fatalf("kind %v, want invalid: %v", KindOf(err), err)
			}
		})
	}
}

func TestPrepareRenderKeepsEverything(t *testing.T) {
	in := `{"resourceType":"Observation","id":"old","meta":{"versionId":"9","lastUpdated":"2000-01-01T00:00:00Z","profile":["http://x"],"tag":[{"code":"t"}]},
	  "valueQuantity":{"value":1.50},"_status":{"extension":[{"url":"u","valueString":"<b>&</b>"}]},"unknownThing":{"a":[1,2.0,3e2]}}`
	m, err := DecodeResource([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(m, "new-id")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC)
	out := p.Render(7, ts)
	if !strings.HasPrefix(string(out), `{"resourceType":"Observation","id":"new-id","meta":{"versionId":"7","lastUpdated":"2026-11-22T10:00:00.123456Z"`) {
		t.Fatalf("head: %s", out)
	}
	for _, want := range []string{`"value":1.50`, `3e2`, `2.0`, `<b>&</b>`, `"profile":["http://x"]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lost %s: %s", want, out)
		}
	}
	got, err := DecodeResource(out)
	if err != nil {
		t.Fatal(err)
	}
	m["id"] = "new-id"
	m["meta"].(map[string]any)["versionId"] = "7"
	m["meta"].(map[string]any)["lastUpdated"] = "2026-11-22T10:00:00.123456Z"
	if d := cmp.Diff(m, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		kind   Kind
		status int
		code   string
	}{
		{Invalid, 400, "invalid"}, {Unprocessable, 422, "processing"}, {NotFound, 404, "not-found"},
		{Gone, 410, "not-found"}, {Conflict, 409, "conflict"}, {PreconditionFail, 412, "conflict"},
		{MultipleMatches, 412, "multiple-matches"}, {Forbidden, 403, "forbidden"}, {TooLarge, 413, "too-costly"},
		{Internal, 500, "exception"}, {UnsupportedMedia, 415, "not-supported"}, {NotAcceptable, 406, "not-supported"},
	}
	for _, tc := range tests {
		if tc.kind.Status() != tc.status || tc.kind.IssueCode() != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.kind, tc.kind.Status(), tc.kind.IssueCode(), tc.status, tc.code)
		}
	}
	oo := Outcome(Wrap(Internal, errString("db password is hunter2"), "boom"))
	if b, _ := json.Marshal(oo); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "boom") {
		t.Errorf("internal details leaked to the client: %s", b)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// FuzzDecodeResource: no input makes the decoder or the writer panic, and
// whatever decodes is written back as JSON that decodes to the same thing.
func FuzzDecodeResource(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","birthDate":"1970","_birthDate":{"id":"x"}}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.50}}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`,
		`{"resourceType":"X","meta":[]}`, `[]`, `{"resourceType":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeResource(data)
		if err != nil {
			if KindOf(err) != Invalid {
				t.Fatalf("kind %v", KindOf(err))
			}
			return
		}
		p, err := Prepare(m, "id")
		if err != nil {
			return
		}
		out := p.Render(1, time.Unix(0, 0))
		if _, err := DecodeResource(out); err != nil {
			t.Fatalf("rendered resource does not decode: %v\n%s", err, out)
		}
		if _, err := MarshalResource(m); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeAgreesWithStdlib: the fast decoder must accept exactly what
// encoding/json accepts and produce the same values, numbers included.
func FuzzDecodeAgreesWithStdlib(f *testing.F) {
	for _, s := range []string{`{"a":1.50,"b":[true,null,"x\u00e9"]}`, `{"a":1e400}`, `[1,2`, `"\ud800"`, `{"a":1,"a":2}`, `-0`, `{"resourceType":"P","_x":[null]}`, "\"\\u0000\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		var want any
		werr := dec.Decode(&want)
		if werr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				werr = errString("trailing data")
			}
		}
		if werr == nil && (!utf8Valid(data) || depth(data) > MaxDepth || hasNUL(data)) {
			werr = errString("checked before decoding")
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("fast decoder err=%v, encoding/json err=%v for %q", err, werr, data)
		}
		if err == nil {
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("values differ for %q:\n%s", data, d)
			}
		}
	})
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// TestNULRefused: a string holding U+0000 is refused (PostgreSQL's jsonb
// cannot store it), and only that: an escaped backslash followed by the
// text u0000 is an ordinary string.
func TestNULRefused(t *testing.T) {
	for _, tc := range []struct {
		json string
		ok   bool
	}{
		{`{"resourceType":"Patient","name":[{"text":"a\u0000b"}]}`, false},
		{`{"resourceType":"Patient","name":[{"text":"a\\\u0000b"}]}`, false}, // \\ then \u0000
		{`{"resourceType":"Patient","name":[{"text":"a\\u0000b"}]}`, true},   // \\ then the text u0000
		{`{"resourceType":"Patient","name":[{"text":"a\u0001b"}]}`, true},
	} {
		_, err := DecodeResource([]byte(tc.json))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.json, err, tc.ok)
		}
		if err != nil && KindOf(err) != Invalid {
			t.Errorf("%s: kind %v, want Invalid (400)", tc.json, KindOf(err))
		}
	}
}
