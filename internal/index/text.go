package index

import (
	"html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// MaxTextLen bounds the text of a _text or _content row, in bytes: past it
// a narrative or a resource's words are cut at a word boundary. Search
// scans these rows with LIKE, so their size is what a _content search
// costs per resource.
const MaxTextLen = 16 << 10

// maxWordLen is the longest word kept in text rows: longer runs without a
// space (encoded data, long URLs) are not what anyone types into a search
// box, and would eat the MaxTextLen budget.
const maxWordLen = 256

// texts adds the _text and _content rows of resource m of type rt.
func (x *extractor) texts(m map[string]any, rt string) {
	var div, narr string
	if t, ok := m["text"].(map[string]any); ok {
		if div, ok = t["div"].(string); ok {
			narr = narrativeText(div)
			w := words{}
			w.add(narr)
			if s := w.text(); s != "" {
				x.ix.Texts = append(x.ix.Texts, store.Text{Param: "_text", Text: s})
			}
		}
	}
	td := fhirdef.Type(rt)
	if td == nil {
		return
	}
	c := content{words: words{dedupe: true}, div: div, narrative: narr}
	c.object(m, td.Root(), rt)
	if s := c.text(); s != "" {
		x.ix.Texts = append(x.ix.Texts, store.Text{Param: "_content", Text: s})
	}
}

// content collects the words of a resource's textual values, walking the
// resource with its definition so that each value's type is known.
type content struct {
	words
	// div is the resource's narrative, whose text is already extracted
	div, narrative string
}

func (c *content) object(m map[string]any, def *fhirdef.ElementDef, typ string) {
	// Sorted, so the first-seen order of words does not depend on Go's map
	// order and the same resource always gives the same row.
	var buf [24]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if c.full {
			return
		}
		switch {
		case k == "resourceType" || k == "id":
			continue
		case k == "reference" && typ == "Reference", k == "url" && typ == "Extension":
			continue
		case strings.HasPrefix(k, "_"):
			c.primitiveElement(m[k])
			continue
		}
		el, t := def.Child(k)
		if el == nil {
			continue
		}
		c.value(m[k], el, t)
	}
}

// primitiveElement walks the "_name" sibling of a primitive (or an array
// of them): its extensions can hold text.
func (c *content) primitiveElement(v any) {
	switch n := v.(type) {
	case map[string]any:
		c.object(n, fhirdef.Type("Element").Root(), "Element")
	case []any:
		for _, e := range n {
			c.primitiveElement(e)
		}
	}
}

// value adds the words of v, a value of element el of type typ. Only
// string, code, markdown, uri and url values are _content: words a person
// wrote or reads; ids, references (canonical, Reference.reference), dates,
// numbers, booleans and base64Binary are not.
func (c *content) value(v any, el *fhirdef.ElementDef, typ string) {
	switch n := v.(type) {
	case string:
		switch typ {
		case "string", "code", "markdown", "uri", "url":
			c.add(n)
		case "xhtml":
			if n == c.div {
				c.add(c.narrative) // already extracted for _text
			} else {
				c.add(narrativeText(n))
			}
		}
	case []any:
		for _, e := range n {
			c.value(e, el, typ)
		}
	case map[string]any:
		def := el
		if typ == "Resource" {
			// contained, Bundle.entry.resource, Parameters.parameter.resource
			rt, _ := n["resourceType"].(string)
			td := fhirdef.Type(rt)
			if td == nil || td.Kind != fhirdef.KindResource {
				return
			}
			def, typ = td.Root(), rt
		} else if el.Content() == nil {
			// A choice element (value[x]): its chosen type's definition.
			td := fhirdef.Type(typ)
			if td == nil {
				return
			}
			def = td.Root()
		}
		c.object(n, def, typ)
	}
}

// words builds the text of a row: normalised words, each followed by a
// space, after a leading space (" a b c "), so that a search can match a
// whole word with '% word %'.
type words struct {
	b      []byte
	dedupe bool
	// slots is a set of the words so far (open addressing, by FNV-1a):
	// each is its offset in b << 9 | its length, 0 when free (no word
	// starts at 0: b starts with a space). It fills up only for long
	// texts, which then go on with seen.
	slots [nSlots]uint32
	n     int
	seen  map[string]struct{}
	full  bool
}

const nSlots = 256

// add appends the words of s, normalised (see normalize).
func (w *words) add(s string) {
	if !isASCII(s) {
		s = search.Normalize(s)
	}
	for i := 0; i < len(s) && !w.full; {
		if n := spaceAt(s, i); n > 0 {
			i += n
			continue
		}
		j := i + 1
		for j < len(s) && spaceAt(s, j) == 0 {
			j++
		}
		w.word(s[i:j])
		i = j
	}
}

// spaceAt returns the length of the white space character at s[i], or 0.
func spaceAt(s string, i int) int {
	c := s[i]
	if c < utf8.RuneSelf {
		if c == ' ' || c >= '\t' && c <= '\r' {
			return 1
		}
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if unicode.IsSpace(r) {
		return n
	}
	return 0
}

// word appends s, lowering the case of its ASCII letters (s is otherwise
// normalised already).
func (w *words) word(s string) {
	if len(s) > maxWordLen {
		return
	}
	if w.b == nil {
		w.b = make([]byte, 1, 256)
		w.b[0] = ' '
	}
	if len(w.b)+len(s)+1 > MaxTextLen {
		w.full = true
		return
	}
	start := len(w.b)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		w.b = append(w.b, c)
	}
	w.b = append(w.b, ' ')
	if !w.dedupe {
		return
	}
	word := w.b[start : len(w.b)-1]
	if w.seen != nil {
		if _, dup := w.seen[string(word)]; dup {
			w.b = w.b[:start]
			return
		}
		w.seen[string(word)] = struct{}{}
		return
	}
	h := uint32(2166136261)
	for _, c := range word {
		h = (h ^ uint32(c)) * 16777619
	}
	for i := h % nSlots; ; i = (i + 1) % nSlots {
		slot := w.slots[i]
		if slot == 0 {
			w.slots[i] = uint32(start)<<9 | uint32(len(word))
			w.n++
			break
		}
		off, n := int(slot>>9), int(slot&511)
		if string(w.b[off:off+n]) == string(word) {
			w.b = w.b[:start]
			return
		}
	}
	if w.n > nSlots*3/4 {
		w.seen = make(map[string]struct{}, 2*w.n)
		for _, slot := range w.slots {
			if slot != 0 {
				off, n := int(slot>>9), int(slot&511)
				w.seen[string(w.b[off:off+n])] = struct{}{}
			}
		}
	}
}

// text returns the row's text, "" when there are no words.
func (w *words) text() string {
	if len(w.b) <= 1 {
		return ""
	}
	return string(w.b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalize is search.Normalize, without its cost for the common case of
// ASCII text (where it only lowers the case).
func normalize(s string) string {
	if !isASCII(s) {
		return search.Normalize(s)
	}
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// inlineTags are the XHTML elements that do not separate words: "<b>Pat</b>ient"
// is one word, "<td>a</td><td>b</td>" two.
var inlineTags = map[string]bool{"a": true, "abbr": true, "b": true, "big": true, "cite": true, "code": true,
	"em": true, "font": true, "i": true, "q": true, "s": true, "small": true, "span": true, "strong": true,
	"sub": true, "sup": true, "tt": true, "u": true, "var": true}

// narrativeText is the text of an XHTML narrative: tags and comments
// stripped, character references decoded.
func narrativeText(div string) string {
	var b strings.Builder
	b.Grow(len(div))
	for i := 0; i < len(div); {
		c := div[i]
		if c != '<' {
			j := strings.IndexByte(div[i:], '<')
			if j < 0 {
				j = len(div) - i
			}
			b.WriteString(div[i : i+j])
			i += j
			continue
		}
		if strings.HasPrefix(div[i:], "<!--") {
			end := strings.Index(div[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		// A tag: its end is the first '>' outside a quoted attribute value.
		j, quote := i+1, byte(0)
		for j < len(div) && (quote != 0 || div[j] != '>') {
			switch {
			case quote != 0 && div[j] == quote:
				quote = 0
			case quote == 0 && (div[j] == '"' || div[j] == '\''):
				quote = div[j]
			}
			j++
		}
		name := div[i+1 : j]
		name = strings.TrimPrefix(name, "/")
		if k := strings.IndexFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }); k >= 0 {
			name = name[:k]
		}
		if !inlineTags[strings.ToLower(name)] {
			b.WriteByte(' ')
		}
		i = j + 1
	}
	return html.UnescapeString(b.String())
}
