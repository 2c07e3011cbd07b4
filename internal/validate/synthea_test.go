package validate

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// syntheaDir is the Synthea sample data: the repository is X/main and the
// shared data X/shared, so from this package it is ../../../shared/...
const syntheaDir = "../../../shared/conformance/synthea"

// knownInvalid lists findings in the Synthea data that are genuinely invalid
// R4, by "file|expression|diagnostics". Empty: none found.
var knownInvalid = map[string]bool{}

// forEachBundle calls fn for the first limit (all when < 0) JSON bundles of a
// Synthea .tar.gz.
func forEachBundle(t testing.TB, archive string, limit int, fn func(name string, data []byte)) {
	f, err := os.Open(archive)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no Synthea data at %s", archive)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	n := 0
	for limit < 0 || n < limit {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		n++
		fn(h.Name, data)
	}
	if n == 0 {
		t.Fatalf("%s: no bundles", archive)
	}
}

func TestSynthea(t *testing.T) {
	for _, tc := range []struct {
		file  string
		limit int
	}{
		{"hiv-r4.tar.gz", -1},
		{"gsd-r4.tar.gz", 100},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if testing.Short() && tc.limit < 0 {
				tc.limit = 20
			}
			bundles, resources, bad := 0, 0, 0
			forEachBundle(t, filepath.Join(syntheaDir, tc.file), tc.limit, func(name string, data []byte) {
				bundles++
				b, err := fhir.DecodeResource(data)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				entries, _ := b["entry"].([]any)
				for i, e := range entries {
					r, _ := e.(map[string]any)["resource"].(map[string]any)
					if r == nil {
						t.Errorf("%s: entry %d has no resource", name, i)
						continue
					}
					resources++
					for _, is := range Resource(r) {
						key := fmt.Sprintf("%s|%s|%s", filepath.Base(name), firstExpr(is), is.Diagnostics)
						if knownInvalid[key] {
							continue
						}
						bad++
						if bad <= 20 {
							t.Errorf("%s entry %d (%s): %s %v: %s", name, i, r["resourceType"], is.Code, is.Expression, is.Diagnostics)
						}
					}
				}
				// The bundle itself is valid too.
				if is := Resource(b); len(is) > 0 && bad < 20 {
					bad++
					t.Errorf("%s bundle: %v", name, is)
				}
			})
			t.Logf("%s: %d bundles, %d resources, %d issues", tc.file, bundles, resources, bad)
		})
	}
}
