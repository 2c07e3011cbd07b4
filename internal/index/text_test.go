package index

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/search"
)

// textRows returns the _text and _content of a resource, "" when absent.
func textRows(t *testing.T, js string) (text, content string) {
	t.Helper()
	ix, _ := Compute(decode(t, js), "x1", All)
	for _, r := range ix.Texts {
		switch r.Param {
		case "_text":
			text = r.Text
		case "_content":
			content = r.Text
		default:
			t.Errorf("text row with param %q", r.Param)
		}
	}
	return text, content
}

func TestNarrativeText(t *testing.T) {
	tests := []struct {
		name, div, want string
	}{
		{"tags", `<div xmlns="http://www.w3.org/1999/xhtml"><p>Patient is <b>well</b></p><p>Seen</p></div>`, " patient is well seen "},
		{"inline tags join", `<div>Pat<i>ient</i> <span class="x">ok</span></div>`, " patient ok "},
		{"block tags split", `<div><table><tr><td>a</td><td>b</td></tr></table>c<br/>d</div>`, " a b c d "},
		{"entities", `<div>A &amp; B &lt;tag&gt; &#233;t&#xE9;&nbsp;x &quot;q&quot;</div>`, " a & b <tag> ete x \"q\" "},
		{"comments and attributes", `<div><!-- hidden <b>x</b> --><a href="a>b" title='c>d'>link</a></div>`, " link "},
		{"whitespace collapsed", "<div>\n  Mr.\tSMITH \r\n  Élodie  </div>", " mr. smith elodie "},
		{"empty", `<div xmlns="http://www.w3.org/1999/xhtml"> </div>`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := `{"resourceType":"Basic","text":{"status":"generated","div":` + quote(tc.div) + `}}`
			got, _ := textRows(t, js)
			if got != tc.want {
				t.Errorf("_text %q, want %q", got, tc.want)
			}
		})
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestContent(t *testing.T) {
	tests := []struct {
		name string
		res  string
		want string
		// absent are words that must not be in _content.
		absent []string
	}{
		{
			name: "strings codes uris displays text, in key order, each word once",
			res: `{"resourceType":"Observation","id":"obs-id-1","status":"final",
			 "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body Weight"}],"text":"Body weight measured"},
			 "valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},
			 "note":[{"text":"Weighed **after** lunch"}]}`,
			want:   " 29463-7 body weight http://loinc.org measured weighed **after** lunch final kg http://unitsofmeasure.org ",
			absent: []string{"obs-id-1", "72.5"},
		},
		{
			name: "no ids, references, dates, numbers, booleans, base64, canonicals or extension urls",
			res: `{"resourceType":"DocumentReference","id":"d1","meta":{"versionId":"3","lastUpdated":"2024-01-01T00:00:00Z","profile":["http://example.org/StructureDefinition/p"]},
			 "status":"current","date":"2024-01-02T03:04:05Z",
			 "subject":{"reference":"Patient/p1","display":"Peter Chalmers"},
			 "extension":[{"url":"http://example.org/ext","valueString":"Extension Words"},{"url":"http://example.org/flag","valueBoolean":true}],
			 "content":[{"attachment":{"contentType":"text/plain","data":"SGVsbG8=","size":5,"title":"Letter"}}]}`,
			want:   " text/plain letter extension words current peter chalmers ",
			absent: []string{"patient/p1", "p1", "d1", "3", "sgvsbg8=", "5", "true", "2024-01-02t03:04:05z", "http://example.org/ext", "http://example.org/structuredefinition/p"},
		},
		{
			name: "narrative, contained resources and primitive extensions",
			res: `{"resourceType":"Patient","text":{"status":"generated","div":"<div>Jim <b>Chalmers</b></div>"},
			 "contained":[{"resourceType":"Organization","id":"o","name":"Acme Clinic"}],
			 "name":[{"family":"Chalmers","given":["Jim"],"_given":[{"extension":[{"url":"http://example.org/x","valueString":"Jimmy"}]}]}],
			 "birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T10:00:00Z"}]}}`,
			want:   " acme clinic jimmy chalmers jim generated ",
			absent: []string{"1970-01-01", "o"},
		},
		{
			name: "unicode normalised",
			res:  `{"resourceType":"Patient","name":[{"text":"ÉLODIE  Müller"}]}`,
			want: " elodie muller ",
		},
		{
			name: "odd members are skipped, not trusted",
			res:  `{"resourceType":"Patient","":"x","nosuch":"y","gender":"male"}`,
			want: " male ",
		},
		{
			name: "nothing textual",
			res:  `{"resourceType":"Patient","birthDate":"1970","active":true}`,
			want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := textRows(t, tc.res)
			if got != tc.want {
				t.Errorf("_content\n got %q\nwant %q", got, tc.want)
			}
			for _, w := range tc.absent {
				if strings.Contains(got, " "+w+" ") {
					t.Errorf("_content has %q", w)
				}
			}
		})
	}
}

func TestTextBounds(t *testing.T) {
	var many []string
	for i := range 5000 {
		many = append(many, "word"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
	}
	long := strings.Repeat("y", maxWordLen+1)
	tests := []struct {
		name, res string
		param     string
		cut       bool // longer than MaxTextLen, so cut near it
	}{
		{"narrative", `{"resourceType":"Basic","text":{"status":"generated","div":"<div>` + strings.Join(many, " ") + `</div>"}}`, "_text", true},
		{"content", `{"resourceType":"Basic","code":{"text":"` + strings.Join(many, " ") + `"}}`, "_content", true},
		{"long words dropped", `{"resourceType":"Basic","code":{"text":"a ` + long + ` b"}}`, "_content", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, content := textRows(t, tc.res)
			got := content
			if tc.param == "_text" {
				got = text
			}
			if len(got) > MaxTextLen || tc.cut && len(got) < MaxTextLen-16 {
				t.Errorf("%d bytes, want at most %d (and near it when cut)", len(got), MaxTextLen)
			}
			if !strings.HasPrefix(got, " ") || !strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
				t.Errorf("not space-delimited words: %.40q...%.40q", got, got[max(0, len(got)-40):])
			}
			for _, w := range strings.Fields(got) {
				if len(w) > maxWordLen {
					t.Errorf("word of %d bytes kept", len(w))
				}
				if !strings.HasPrefix(w, "word") && w != "a" && w != "b" {
					t.Errorf("word %q cut or foreign", w)
				}
			}
		})
	}
}

func TestTextOnlyInScopeAll(t *testing.T) {
	m := decode(t, `{"resourceType":"Patient","text":{"status":"generated","div":"<div>x</div>"},"name":[{"family":"Y"}]}`)
	if ix, _ := Compute(m, "p", Conditional); len(ix.Texts) != 0 {
		t.Errorf("Conditional scope gave text rows %+v", ix.Texts)
	}
}

func TestNormalize(t *testing.T) {
	for _, s := range []string{"", "abc", "ABC def", "Élodie", "ÅNGSTRÖM", "ﬁ ligature", "a\u00a0b", "Straße", "İstanbul", "mixed ASCII then é"} {
		if got, want := normalize(s), search.Normalize(s); got != want {
			t.Errorf("normalize(%q) = %q, search.Normalize gives %q", s, got, want)
		}
	}
}

// TestContentOnce: each word once, whether the text is short (searched) or
// long (a map).
func TestContentOnce(t *testing.T) {
	var ws []string
	for i := range 800 {
		ws = append(ws, "w"+strconv.Itoa(i))
	}
	tests := []struct {
		name  string
		words []string
	}{
		{"short", []string{"a", "b", "a", "ab", "b", "a"}},
		{"repeats after the switch to a map", append(append(slices.Clone(ws), "w1", "w799", "W3"), ws...)},
		{"prefixes and suffixes are other words", []string{"ab", "a", "b", "abc", "bc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := textRows(t, `{"resourceType":"Basic","code":{"text":"`+strings.Join(tc.words, " ")+`"}}`)
			var want []string
			for _, w := range tc.words {
				w = strings.ToLower(w)
				if !slices.Contains(want, w) {
					want = append(want, w)
				}
			}
			if w := " " + strings.Join(want, " ") + " "; got != w {
				t.Errorf("_content\n got %.200q\nwant %.200q", got, w)
			}
		})
	}
}
