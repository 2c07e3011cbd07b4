package jsonpatch

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// FuzzApply decodes arbitrary document and patch bytes; whatever they are,
// Parse and Apply must not panic, must not change the document, must fail
// only with Invalid or Unprocessable, and must produce a document that
// encodes and decodes back to itself.
func FuzzApply(f *testing.F) {
	for _, c := range loadConformance(f) {
		f.Add([]byte(c.Doc), []byte(c.Patch))
	}
	for _, c := range applyCases {
		f.Add([]byte(c.doc), []byte(c.patch))
	}
	f.Fuzz(func(t *testing.T, docData, patchData []byte) {
		doc, err := fhir.Decode(docData)
		if err != nil {
			return
		}
		p, err := Parse(patchData)
		if err != nil {
			if !fhir.Is(err, fhir.Invalid) {
				t.Fatalf("Parse error of kind %v: %v", fhir.KindOf(err), err)
			}
			return
		}
		before := mustMarshal(t, doc)
		got, err := p.Apply(doc)
		if after := mustMarshal(t, doc); after != before {
			t.Fatalf("Apply changed its input:\nbefore %s\nafter  %s", before, after)
		}
		if err != nil {
			if k := fhir.KindOf(err); k != fhir.Unprocessable && k != fhir.Invalid {
				t.Fatalf("Apply error of kind %v: %v", k, err)
			}
			if got != nil {
				t.Fatalf("Apply returned a document with its error")
			}
			return
		}
		out := mustMarshal(t, got)
		back, err := fhir.Decode([]byte(out))
		if err != nil {
			t.Fatalf("result %s does not decode: %v", out, err)
		}
		if !Equal(back, got) {
			t.Fatalf("result %s does not round-trip", out)
		}
		// An empty patch is the identity.
		if len(p) == 0 && out != before {
			t.Fatalf("empty patch changed %s into %s", before, out)
		}
	})
}
