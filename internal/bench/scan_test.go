package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanBundle(t *testing.T) {
	tests := []struct {
		in      string
		rt, typ string
		n       int
		err     bool
	}{
		{`{"resourceType":"Bundle","type":"batch","entry":[{},{"a":[1,2,{"b":"]"}]},null]}`, "Bundle", "batch", 3, false},
		{` { "entry" : [ ] , "type" : "transaction" , "resourceType" : "Bundle" } `, "Bundle", "transaction", 0, false},
		{`{"resourceType":"Patient","name":[{"family":"O\"Neil"}]}`, "Patient", "", 0, false},
		{`{"entry":[1,2],"entry":null}`, "", "", 0, false},
		{`{"resourceType":1,"type":{"x":"y"},"entry":{}}`, "", "", 0, false},
		{`{}`, "", "", 0, false},
		{`[]`, "", "", 0, true},
		{`{"entry":[1,2}`, "", "", 0, true},
		{`{"entry":[1,2]`, "", "", 0, true},
		{`{"a":"unterminated}`, "", "", 0, true},
		{`{"a" 1}`, "", "", 0, true},
		{`{"a":1} x`, "", "", 0, true},
		{`{"a":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, "", "", 0, true},
	}
	for _, tc := range tests {
		rt, typ, n, err := scanBundle([]byte(tc.in))
		if (err != nil) != tc.err || (err == nil && (rt != tc.rt || typ != tc.typ || n != tc.n)) {
			t.Errorf("scanBundle(%.60s) = %q %q %d %v", tc.in, rt, typ, n, err)
		}
	}
}

// FuzzScanBundle holds the scanner to encoding/json's reading of every
// valid JSON object.
func FuzzScanBundle(f *testing.F) {
	f.Add(`{"resourceType":"Bundle","type":"batch","entry":[{},{"a":[1,2,{"b":"]"}]},null]}`)
	f.Add(`{"entry":[1,2],"entry":null}`)
	f.Add(`{"resourceType":"Bund\u006ce","entry":[[],[[]],"\\"]}`)
	f.Fuzz(func(t *testing.T, in string) {
		rt, typ, n, err := scanBundle([]byte(in))
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(in), &m) != nil || m == nil {
			return // not an object: the scanner may answer anything but must not panic
		}
		if err != nil {
			if strings.Contains(err.Error(), "nested too deeply") {
				return
			}
			t.Fatalf("valid JSON refused: %v", err)
		}
		// Strings are compared as written when they hold no escapes and
		// are UTF-8 (encoding/json replaces bad bytes).
		str := func(raw json.RawMessage) string {
			var s string
			if json.Unmarshal(raw, &s) != nil || strings.Contains(string(raw), `\`) || !utf8.Valid(raw) {
				return ""
			}
			return s
		}
		var entries []json.RawMessage
		json.Unmarshal(m["entry"], &entries)
		if want := str(m["resourceType"]); want != "" && rt != want {
			t.Errorf("resourceType %q, want %q", rt, want)
		}
		if want := str(m["type"]); want != "" && typ != want {
			t.Errorf("type %q, want %q", typ, want)
		}
		if n != len(entries) {
			t.Errorf("%d entries, want %d", n, len(entries))
		}
	})
}
