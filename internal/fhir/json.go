package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// MaxDepth bounds the nesting of a request's JSON. Real resources nest a
// dozen levels; a hostile body nesting thousands would only cost stack.
const MaxDepth = 64

// Object is a decoded JSON object. Numbers are json.Number, so decimals keep
// the precision they were written with.
type Object = map[string]any

// Decode parses one JSON value from data with UseNumber, after checking it is
// valid UTF-8, not nested deeper than MaxDepth, and has nothing after it.
func Decode(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, E(Invalid, "request body is not valid UTF-8")
	}
	if d := depth(data); d > MaxDepth {
		return nil, E(Invalid, "JSON nests deeper than %d levels", MaxDepth)
	}
	if hasNUL(data) {
		return nil, E(Invalid, `a JSON string holds the character U+0000 ("\u0000"), which FHIR strings may not`)
	}
	var v any
	if err := decodeFast(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// hasNUL reports whether JSON text escapes U+0000 in a string. FHIR
// strings have no use for it, and PostgreSQL's jsonb cannot hold it: the
// embedded store would keep what the production one refuses.
func hasNUL(data []byte) bool {
	esc := []byte(`\u0000`)
	for i := 0; ; {
		j := bytes.Index(data[i:], esc)
		if j < 0 {
			return false
		}
		j += i
		n := 0 // backslashes in the run that ends here: odd escapes
		for k := j; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 1
	}
}

// decodeFast decodes what encoding/json accepts, about twice as fast: the
// standard scanner (json.Valid, which allocates nothing) decides whether
// the input is JSON, and goccy/go-json, several times faster at building
// the values, decodes it. goccy is laxer than the standard (it takes "00")
// and refuses a few valid numbers such as 1e400, so it never decides
// acceptance alone; FuzzDecodeAgreesWithStdlib holds the two together.
func decodeFast(data []byte, v any) error {
	if !json.Valid(data) {
		return decodeStd(data, v)
	}
	return decodeChecked(data, v)
}

// decodeChecked decodes data already known to be valid JSON.
func decodeChecked(data []byte, v any) error {
	dec := gojson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailing
		}
	}
	if err == nil {
		return nil
	}
	return decodeStd(data, v)
}

func decodeStd(data []byte, v any) error {
	std := json.NewDecoder(bytes.NewReader(data))
	std.UseNumber()
	if err := std.Decode(v); err != nil {
		if err == io.EOF {
			return E(Invalid, "request body is empty")
		}
		return E(Invalid, "request body is not valid JSON of the expected shape: %v", err)
	}
	if _, err := std.Token(); err != io.EOF {
		return E(Invalid, "request body has data after the JSON value")
	}
	return nil
}

var errTrailing = E(Invalid, "request body has data after the JSON value")

// DecodeResource decodes a FHIR resource: a JSON object with a string
// resourceType.
func DecodeResource(data []byte) (Object, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, E(Invalid, "a resource must be a JSON object")
	}
	if _, err := ResourceType(m); err != nil {
		return nil, err
	}
	return m, nil
}

// ResourceType returns m's resourceType, or an Invalid error.
func ResourceType(m Object) (string, error) {
	rt, ok := m["resourceType"].(string)
	if !ok || rt == "" {
		return "", &Error{Kind: Invalid, Msg: "resource has no resourceType", Issues: []Issue{{Diagnostics: "resourceType is required", Expression: []string{"resourceType"}}}}
	}
	return rt, nil
}

// depth returns the deepest nesting of objects and arrays in data, skipping
// strings. It stops counting as soon as the limit is passed.
func depth(data []byte) int {
	d, max, inStr, esc := 0, 0, false, false
	for _, c := range data {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			d++
			if d > max {
				max = d
				if max > MaxDepth {
					return max
				}
			}
		case '}', ']':
			d--
		}
	}
	return max
}

// Marshal writes v as compact JSON without HTML escaping (narrative keeps its
// angle brackets readable). Object keys are sorted.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode appends a newline
}

// Prepared is a resource serialised except for meta.versionId and
// meta.lastUpdated, which are known only inside the write transaction.
// Render completes it without touching the rest again.
type Prepared struct {
	Type, ID string
	head     []byte // {"resourceType":"T","id":"I","meta":{"versionId":"
	metaRest []byte // the other members of meta, without braces
	rest     []byte // the other members of the resource, without braces
}

// Prepare serialises m for storage under id: resourceType, id and meta come
// first, then the other members in sorted order. Whatever the client put in
// meta (profile, tag, security, source) is kept; versionId and lastUpdated are
// replaced at Render.
func Prepare(m Object, id string) (Prepared, error) {
	rt, err := ResourceType(m)
	if err != nil {
		return Prepared{}, err
	}
	p := Prepared{Type: rt, ID: id}
	var meta map[string]any
	switch mv := m["meta"].(type) {
	case nil:
	case map[string]any:
		meta = mv
	default:
		return Prepared{}, &Error{Kind: Invalid, Msg: "meta must be an object", Issues: []Issue{{Diagnostics: "meta must be an object", Expression: []string{rt + ".meta"}}}}
	}
	if len(meta) > 0 {
		rest := make(map[string]any, len(meta))
		for k, v := range meta {
			if k != "versionId" && k != "lastUpdated" {
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			b, err := Marshal(rest)
			if err != nil {
				return Prepared{}, Wrap(Invalid, err, "cannot encode meta")
			}
			p.metaRest = b[1 : len(b)-1]
		}
	}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		if k != "resourceType" && k != "id" && k != "meta" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		b, err := Marshal(rest)
		if err != nil {
			return Prepared{}, Wrap(Invalid, err, "cannot encode resource")
		}
		p.rest = b[1 : len(b)-1]
	}
	h := make([]byte, 0, 64+len(rt)+len(id))
	h = append(h, `{"resourceType":`...)
	rtb, _ := Marshal(rt)
	idb, _ := Marshal(id)
	h = append(h, rtb...)
	h = append(h, `,"id":`...)
	h = append(h, idb...)
	h = append(h, `,"meta":{"versionId":"`...)
	p.head = h
	return p, nil
}

// Render returns the stored form of the resource at version v, updated at t.
func (p Prepared) Render(v int64, t time.Time) []byte {
	b := make([]byte, 0, len(p.head)+len(p.metaRest)+len(p.rest)+64)
	b = append(b, p.head...)
	b = strconv.AppendInt(b, v, 10)
	b = append(b, `","lastUpdated":"`...)
	b = append(b, FormatInstant(t)...)
	b = append(b, '"')
	if len(p.metaRest) > 0 {
		b = append(b, ',')
		b = append(b, p.metaRest...)
	}
	b = append(b, '}')
	if len(p.rest) > 0 {
		b = append(b, ',')
		b = append(b, p.rest...)
	}
	return append(b, '}')
}

// FormatInstant renders t as a FHIR instant with microseconds, in UTC.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// Now is the server's clock for lastUpdated: UTC, microsecond precision,
// the precision both databases keep.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// MarshalResource writes a resource with resourceType, id and meta first,
// as FHIR JSON is conventionally read, and the other members sorted.
func MarshalResource(m Object) ([]byte, error) {
	b := []byte{'{'}
	first := true
	add := func(k string, v any) error {
		vb, err := Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		kb, _ := Marshal(k)
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, vb...)
		return nil
	}
	for _, k := range []string{"resourceType", "id", "meta"} {
		if v, ok := m[k]; ok {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
	}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		if k != "resourceType" && k != "id" && k != "meta" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		rb, err := Marshal(rest)
		if err != nil {
			return nil, err
		}
		if !first {
			b = append(b, ',')
		}
		b = append(b, rb[1:len(rb)-1]...)
	}
	return append(b, '}'), nil
}
