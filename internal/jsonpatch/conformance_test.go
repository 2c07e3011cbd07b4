package jsonpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// conformanceFile is the official JSON Patch test suite, kept outside the
// repository: the repository is X/main and the shared files are X/shared.
var conformanceFile = filepath.Join("..", "..", "..", "shared", "conformance", "patch", "json-patch-tests.json")

// conformanceCase is one case of the suite: either expected or error is set.
type conformanceCase struct {
	Comment  string          `json:"comment"`
	Doc      json.RawMessage `json:"doc"`
	Patch    json.RawMessage `json:"patch"`
	Expected json.RawMessage `json:"expected"`
	Error    json.RawMessage `json:"error"`
	Disabled bool            `json:"disabled"`
}

// loadConformance reads the suite, or returns nil when the file is absent.
func loadConformance(tb testing.TB) []conformanceCase {
	tb.Helper()
	data, err := os.ReadFile(conformanceFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatalf("reading %s: %v", conformanceFile, err)
	}
	var cases []conformanceCase
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatalf("decoding %s: %v", conformanceFile, err)
	}
	return cases
}

func TestConformance(t *testing.T) {
	cases := loadConformance(t)
	if cases == nil {
		t.Skipf("official JSON Patch tests not found at %s (expected beside the repository, in shared/conformance/patch)", conformanceFile)
	}
	passed, skipped := 0, 0
	for i, c := range cases {
		name := c.Comment
		if name == "" {
			name = fmt.Sprintf("case %d", i)
		}
		if c.Disabled {
			skipped++
			continue
		}
		ok := t.Run(name, func(t *testing.T) {
			doc, err := fhir.Decode(c.Doc)
			if err != nil {
				t.Fatalf("doc: %v", err)
			}
			before := mustMarshal(t, doc)
			wantErr := len(c.Error) > 0
			p, err := Parse(c.Patch)
			if err != nil {
				if wantErr {
					return
				}
				t.Fatalf("Parse(%s): %v", c.Patch, err)
			}
			got, err := p.Apply(doc)
			if after := mustMarshal(t, doc); after != before {
				t.Errorf("Apply changed its input:\nbefore %s\nafter  %s", before, after)
			}
			if wantErr {
				if err == nil {
					t.Fatalf("Apply succeeded with %s, want an error (%s)", mustMarshal(t, got), c.Error)
				}
				if k := fhir.KindOf(err); k != fhir.Unprocessable && k != fhir.Invalid {
					t.Errorf("error kind %v, want unprocessable or invalid: %v", k, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want, err := fhir.Decode(c.Expected)
			if err != nil {
				t.Fatalf("expected: %v", err)
			}
			if !Equal(got, want) {
				t.Errorf("got  %s\nwant %s", mustMarshal(t, got), mustMarshal(t, want))
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("%d passed, %d failed, %d disabled of %d official JSON Patch cases", passed, len(cases)-skipped-passed, skipped, len(cases))
}

func mustMarshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := fhir.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return string(b)
}
