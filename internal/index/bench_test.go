package index

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// syntheaResources decodes the resources of up to max bundles of a Synthea
// set in ../shared/conformance/synthea, skipping the test without it. The
// bundles refer to their entries by fullUrl (urn:uuid:); those references
// become "Type/id", as the server rewrites them before indexing, so that
// patient and compartment parameters see what they see in production.
func syntheaResources(tb testing.TB, set string, max int) []fhir.Object {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "shared", "conformance", "synthea", set))
	if err != nil {
		tb.Skipf("Synthea data not available (%v)", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []fhir.Object
	for bundles := 0; bundles < max; {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		bundles++
		d := json.NewDecoder(tr)
		d.UseNumber()
		var b struct {
			Entry []struct {
				FullURL  string         `json:"fullUrl"`
				Resource map[string]any `json:"resource"`
			} `json:"entry"`
		}
		if err := d.Decode(&b); err != nil {
			tb.Fatalf("%s: %v", h.Name, err)
		}
		local := map[string]string{}
		for _, e := range b.Entry {
			rt, _ := e.Resource["resourceType"].(string)
			id, _ := e.Resource["id"].(string)
			if e.FullURL != "" && rt != "" && id != "" {
				local[e.FullURL] = rt + "/" + id
			}
		}
		for _, e := range b.Entry {
			rewriteRefs(e.Resource, local)
			out = append(out, e.Resource)
		}
	}
	if len(out) == 0 {
		tb.Skip("no resources")
	}
	return out
}

func rewriteRefs(v any, local map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if s, ok := c.(string); ok && k == "reference" && local[s] != "" {
				t[k] = local[s]
			} else {
				rewriteRefs(c, local)
			}
		}
	case []any:
		for _, c := range t {
			rewriteRefs(c, local)
		}
	}
}

// BenchmarkCompute indexes the resources of the Synthea bundles the record
// benchmarks post, one at a time, on one core.
//
//	go test -run XXX -bench Compute -count 6 ./internal/index/
func BenchmarkCompute(b *testing.B) {
	res := syntheaResources(b, "gsd-r4.tar.gz", 40)
	for _, sc := range []struct {
		name  string
		scope Scope
	}{{"conditional", Conditional}, {"all", All}} {
		b.Run(sc.name, func(b *testing.B) {
			rows := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := res[i%len(res)]
				id, _ := m["id"].(string)
				ix, _ := Compute(m, id, sc.scope)
				rows += ix.Rows()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resources/s")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/resource")
		})
	}
}
