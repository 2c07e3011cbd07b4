package bench_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/bench"
)

// bundleJSON is a Bundle of type typ with n entries.
func bundleJSON(typ string, n int) string {
	entries := strings.Repeat(`{"resource":{"resourceType":"Basic","code":{"text":"x, \"y\" ]"}},"request":{"method":"POST","url":"Basic"}},`, n)
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.TrimSuffix(entries, ",") + `]}`
}

func tarGz(t *testing.T, name string, files ...[2]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	zw.Close()
	write(t, name, buf.String())
}

func zipFile(t *testing.T, name string, files ...[2]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	zw.Close()
	write(t, name, buf.String())
}

type got struct {
	Name      string
	Resources int
	Phase     int
}

// drain reads a source to its end.
func drain(t *testing.T, src bench.Source) ([]got, error) {
	t.Helper()
	var out []got
	for {
		b, err := src.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(b.JSON) == 0 {
			t.Errorf("%s: no JSON", b.Name)
		}
		out = append(out, got{b.Name, b.Resources, b.Phase})
	}
}

// TestDirSourceOrder: the load-first file alone, then Synthea's shared
// bundles from anywhere (plain files and archives), then everything else
// in sorted path order (archive members in archive order, zip members
// sorted); files that hold no Bundles are skipped and listed.
func TestDirSourceOrder(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	write(t, p("z.ndjson"), bundleJSON("transaction", 1)+"\n\n"+bundleJSON("batch", 2)+"\n")
	write(t, p("a.json"), bundleJSON("transaction", 3))
	write(t, p("hospitalInformation1.json"), bundleJSON("batch", 4))
	write(t, p("sub/practitionerInformation1.json"), bundleJSON("batch", 5))
	write(t, p("reference.json"), bundleJSON("transaction", 6))
	write(t, p("README.md"), "not data")
	write(t, p("set.stats.txt"), "files=2")
	write(t, p("bulk/Patient.000.ndjson"), `{"resourceType":"Patient"}`+"\n"+`{"resourceType":"Patient"}`+"\n")
	write(t, p("collection.json"), `{"resourceType":"Bundle","type":"collection","entry":[]}`)
	tarGz(t, p("set.tar.gz"),
		[2]string{"set/p2.json", bundleJSON("transaction", 7)},
		[2]string{"set/hospitalInformation2.json", bundleJSON("batch", 8)},
		[2]string{"set/p1.json", bundleJSON("transaction", 9)},
		[2]string{"set/notes.txt", "ignored"})
	zipFile(t, p("set.zip"),
		[2]string{"m2.json", bundleJSON("transaction", 10)},
		[2]string{"practitionerInformation3.json", bundleJSON("batch", 11)},
		[2]string{"m1.ndjson", bundleJSON("transaction", 12) + "\n"})

	src, err := bench.OpenDir(bench.DirOptions{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := drain(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{p("reference.json"), 6, bench.PhaseFirst},
		{p("hospitalInformation1.json"), 4, bench.PhaseShared},
		{p("set.tar.gz") + ":set/hospitalInformation2.json", 8, bench.PhaseShared},
		{p("set.zip") + ":practitionerInformation3.json", 11, bench.PhaseShared},
		{p("sub/practitionerInformation1.json"), 5, bench.PhaseShared},
		{p("a.json"), 3, bench.PhaseRecords},
		{p("set.tar.gz") + ":set/p2.json", 7, bench.PhaseRecords},
		{p("set.tar.gz") + ":set/p1.json", 9, bench.PhaseRecords},
		{p("set.zip") + ":m1.ndjson:1", 12, bench.PhaseRecords},
		{p("set.zip") + ":m2.json", 10, bench.PhaseRecords},
		{p("z.ndjson") + ":1", 1, bench.PhaseRecords},
		{p("z.ndjson") + ":3", 2, bench.PhaseRecords},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{p("bulk/Patient.000.ndjson"), p("collection.json")}, src.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}

	// Another load-first name, and one archive given alone.
	src, err = bench.OpenDir(bench.DirOptions{First: []string{"p1.json"}}, p("set.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err = drain(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want = []got{
		{p("set.tar.gz") + ":set/p1.json", 9, bench.PhaseFirst},
		{p("set.tar.gz") + ":set/hospitalInformation2.json", 8, bench.PhaseShared},
		{p("set.tar.gz") + ":set/p2.json", 7, bench.PhaseRecords},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("one archive (-want +got):\n%s", diff)
	}

	// Paths are data sets, each loaded whole before the next: the shared
	// Bundles of the second come after the records of the first.
	src, err = bench.OpenDir(bench.DirOptions{}, p("a.json"), p("sub"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err = drain(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want = []got{
		{p("a.json"), 3, bench.PhaseRecords},
		{p("sub/practitionerInformation1.json"), 5, bench.PhasesPerPath + bench.PhaseShared},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("two paths (-want +got):\n%s", diff)
	}
}

func TestDirSourceErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, data, want string
	}{
		{"broken JSON", "a.json", `{"resourceType":"Bundle","entry":[}`, "a.json: JSON at byte"},
		{"truncated", "a.json", `{"resourceType":"Bundle","entry":[{}`, "unexpected end"},
		{"a resource among Bundles", "a.ndjson", bundleJSON("batch", 1) + "\n" + `{"resourceType":"Patient"}` + "\n", "a.ndjson:2: not a transaction or batch Bundle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			write(t, filepath.Join(d, tc.file), tc.data)
			src, err := bench.OpenDir(bench.DirOptions{}, d)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, err = drain(t, src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := bench.OpenDir(bench.DirOptions{}, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	write(t, filepath.Join(dir, "notes.txt"), "x")
	if _, err := bench.OpenDir(bench.DirOptions{}, filepath.Join(dir, "notes.txt")); err == nil {
		t.Error("a .txt file given by name: no error")
	}
}

// TestSyntheaArchive reads the hiv set's archive, if present, as ingest
// would: its two batch Bundles of shared resources first.
func TestSyntheaArchive(t *testing.T) {
	archive := filepath.Join("..", "..", "..", "shared", "conformance", "synthea", "hiv-r4.tar.gz")
	if _, err := os.Stat(archive); err != nil {
		t.Skipf("Synthea sets not found at %s: %v", archive, err)
	}
	src, err := bench.OpenDir(bench.DirOptions{}, archive)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := drain(t, src)
	if err != nil {
		t.Fatal(err)
	}
	resources := 0
	for i, b := range out {
		if (i < 2) != (b.Phase == bench.PhaseShared) {
			t.Errorf("%d: %s in phase %d", i, b.Name, b.Phase)
		}
		resources += b.Resources
	}
	// As hiv-r4.stats.txt says.
	if len(out) != 81 || resources != 46497 {
		t.Errorf("%d Bundles, %d resources; want 81 and 46497", len(out), resources)
	}
}
