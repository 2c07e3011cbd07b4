package fhir

import (
	"encoding/json"
	"testing"
)

// FuzzSplitObject: splitting and then checking every member with
// json.Valid accepts exactly the objects json.Valid accepts.
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{`{"resourceType":"Bundle","type":"batch","entry":[{"a":1},{"b":[1,{"c":"}"}]}]}`, `{}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":[1,]}`, `{"\u0061":1}`, ` {"a":"\""} `, `{"a":1}x`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := SplitObject(data)
		ok := err == nil
		if ok {
			for _, raw := range m {
				if !json.Valid(raw) {
					ok = false
				}
			}
			if e, has := m["entry"]; has && len(e) > 0 && e[0] == '[' {
				if _, err := SplitArray(e); err != nil {
					t.Fatalf("valid array %q does not split: %v", e, err)
				}
			}
		}
		var v any
		want := json.Unmarshal(data, &v) == nil && depth(data) <= MaxDepth && utf8Valid(data)
		if want {
			_, isObj := v.(map[string]any)
			want = isObj
		}
		if ok != want {
			t.Fatalf("split+Valid says %v, encoding/json says %v for %q (err %v)", ok, want, data, err)
		}
	})
}
