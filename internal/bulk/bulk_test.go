package bulk_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/sqlite"
	"github.com/sharedcare/sharedcare/internal/validate"
)

// backend opens a new, empty store of one kind and the record service on
// it, as serve wires them.
type backend struct {
	name string
	open func(t *testing.T) *record.Service
}

func backends() []backend {
	svc := func(t *testing.T, st store.Store) *record.Service {
		t.Cleanup(func() { st.Close() })
		s := record.New(st, validate.Resource, fhirdef.IsResourceType)
		wait, err := s.StartReindex(t.Context(), record.ReindexOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(wait)
		return s
	}
	return []backend{
		{"sqlite", func(t *testing.T) *record.Service {
			st, err := sqlite.Open(t.Context(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return svc(t, st)
		}},
		{"postgres", func(t *testing.T) *record.Service {
			st, err := postgres.Open(t.Context(), postgres.TestURL(t))
			if err != nil {
				t.Fatal(err)
			}
			return svc(t, st)
		}},
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func input(name, typ, data string) bulk.Input {
	return bulk.Input{Name: name, Type: typ, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
}

func mustImport(t *testing.T, svc *record.Service, o bulk.ImportOptions, ins ...bulk.Input) *bulk.ImportResult {
	t.Helper()
	res, err := bulk.Import(t.Context(), svc, ins, o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// comparable decodes a resource and drops what a store sets itself
// (meta.versionId, meta.lastUpdated, and meta when nothing else is left).
func comparable(t *testing.T, b []byte) map[string]any {
	t.Helper()
	m, err := fhir.DecodeResource(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m
}

// attributed is what the record makes of a resource that names its
// organisation in meta.source (as the generator's do): the same, with
// that organisation's ODS meta.tag.
func attributed(m map[string]any) {
	meta, _ := m["meta"].(map[string]any)
	src, _ := meta["source"].(string)
	code, ok := strings.CutPrefix(src, record.ODSSystem+"|")
	if !ok {
		return
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, map[string]any{"system": record.ODSSystem, "code": code})
}

// readNDJSON reads resources from NDJSON into a map by Type/id; each must be
// of type typ, unless it is "".
func readNDJSON(t *testing.T, into map[string]map[string]any, r io.Reader, typ string) int {
	t.Helper()
	rd, err := bulk.NewReader(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		line, _, err := rd.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		m := comparable(t, line)
		if typ != "" && m["resourceType"] != typ {
			t.Errorf("a %s among the %s", m["resourceType"], typ)
		}
		k := m["resourceType"].(string) + "/" + m["id"].(string)
		if _, dup := into[k]; dup {
			t.Errorf("%s twice", k)
		}
		into[k] = m
		n++
	}
}

// readDir reads every NDJSON file of an export, and checks each file holds
// the type its name says.
func readDir(t *testing.T, dir string, res *bulk.ExportResult) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, f := range res.Output {
		fh, err := os.Open(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		n := readNDJSON(t, out, fh, f.Type)
		fh.Close()
		if int64(n) != f.Count {
			t.Errorf("%s: %d lines, the result says %d", f.Name, n, f.Count)
		}
	}
	return out
}

func export(t *testing.T, svc *record.Service, req bulk.ExportRequest, o bulk.ExportOptions) (map[string]map[string]any, *bulk.ExportResult, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := bulk.Export(t.Context(), svc, req, bulk.DirSink(dir), o)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return readDir(t, dir, res), res, dir
}

// TestRoundTrip: the generator's population imported, exported, and the
// export imported into a new store and exported again: the same resources
// each time (their bodies, apart from what the store sets), on each store.
func TestRoundTrip(t *testing.T) {
	pop := population(t, 10)
	want := map[string]map[string]any{}
	readNDJSON(t, want, bytes.NewReader(pop.ndjson), "")
	for _, m := range want {
		attributed(m)
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		first := b.open(t)
		res := mustImport(t, first, bulk.ImportOptions{Batch: 700}, input("population.ndjson", "", string(pop.ndjson)))
		if res.Rejected() != 0 || res.Loaded() != int64(pop.resources) {
			t.Fatalf("loaded %d, rejected %d (%v); want %d loaded", res.Loaded(), res.Rejected(), res.Inputs[0].Rejects, pop.resources)
		}
		// Small files, to see a type split over several.
		got, exp, dir := export(t, first, bulk.ExportRequest{}, bulk.ExportOptions{FileResources: 400})
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("export of the import (-want +got):\n%s", d)
		}
		split := false
		for _, f := range exp.Output {
			if strings.HasSuffix(f.Name, "-2.ndjson") {
				split = true
			}
		}
		if !split || exp.Resources != int64(pop.resources) || len(exp.Errors) != 0 {
			t.Errorf("export: %d resources in %v, errors %v; want %d, some type in several files", exp.Resources, exp.Output, exp.Errors, pop.resources)
		}
		// Import the export's files into a new store.
		second := b.open(t)
		var ins []bulk.Input
		for _, f := range exp.Output {
			path := filepath.Join(dir, f.Name)
			ins = append(ins, bulk.Input{Name: f.Name, Type: f.Type, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }})
		}
		res = mustImport(t, second, bulk.ImportOptions{}, ins...)
		if res.Rejected() != 0 || res.Loaded() != int64(pop.resources) {
			t.Fatalf("re-import: loaded %d, rejected %d", res.Loaded(), res.Rejected())
		}
		again, _, _ := export(t, second, bulk.ExportRequest{}, bulk.ExportOptions{})
		if d := cmp.Diff(want, again); d != "" {
			t.Fatalf("export of the re-import (-want +got):\n%s", d)
		}
		// Imported resources are indexed: search finds them.
		sr, err := second.Search(t.Context(), record.SearchRequest{Type: "Observation", Params: map[string][]string{"_summary": {"count"}}})
		if err != nil {
			t.Fatal(err)
		}
		if n := res.ByType()["Observation"]; sr.Total == nil || *sr.Total != n {
			t.Errorf("Observation count %v, want %d", sr.Total, n)
		}
	})
}

// The lines of TestImportLines: what each is, and what becomes of it.
var importLines = []string{
	/* 1 */ `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/p1"}}`, // refers to a Patient further on
	/* 2 */ `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"height"},"subject":{"reference":"Patient?identifier=https://example.org/mrn|42"}}`, // conditional, to a Patient further on
	/* 3 */ `not json`,
	/* 4 */ ``,
	/* 5 */ `{"resourceType":"Patient","gender":"female"}`, // no id
	/* 6 */ `{"resourceType":"Patient","id":"p1","gender":"female","identifier":[{"system":"https://example.org/mrn","value":"42"}]}`,
	/* 7 */ `{"resourceType":"Patient","id":"p2","gender":"unknown-value"}`, // not in the required value set
	/* 8 */ `{"resourceType":"Patient","id":"p3","colour":"blue"}`, // no such element
	/* 9 */ `{"resourceType":"NoSuchType","id":"x"}`,
	/* 10 */ `{"resourceType":"Patient","id":"p4","active":true}`,
	/* 11 */ `{"resourceType":"Patient","id":"p4","active":false}`, // the same id again: version 2
	/* 12 */ `{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=https://example.org/mrn|999"}}`, // matches nothing
	/* 13 */ `{"resourceType":"Patient","id":"bad id!"}`,
	/* 14 */ `[1,2,3]`,
}

func TestImportLines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		svc := b.open(t)
		var all []bulk.Reject
		res := mustImport(t, svc, bulk.ImportOptions{Batch: 3, Rejected: func(r bulk.Reject) { all = append(all, r) }},
			input("lines.ndjson", "", strings.Join(importLines, "\n")+"\r\n\n"),
			input("patients.ndjson", "Patient", `{"resourceType":"Patient","id":"p5"}`+"\n"+`{"resourceType":"Observation","id":"o9","status":"final","code":{"text":"x"}}`),
			bulk.Input{Name: "missing.ndjson", Open: func(context.Context) (io.ReadCloser, error) { return nil, os.ErrNotExist }},
		)
		if d := cmp.Diff(map[string]int64{"Observation": 2, "Patient": 3}, res.Inputs[0].Loaded); d != "" {
			t.Errorf("loaded from lines (-want +got):\n%s", d)
		}
		type rej struct {
			Input, Line int
			Kind        fhir.Kind
			Says        string
		}
		var got []rej
		for _, r := range all {
			oo, _ := fhir.Marshal(r.Outcome()) // the message and the validator's issues
			got = append(got, rej{r.Input, r.Line, fhir.KindOf(r.Err), string(oo)})
		}
		sort.Slice(got, func(i, j int) bool {
			return got[i].Input < got[j].Input || got[i].Input == got[j].Input && got[i].Line < got[j].Line
		})
		want := []struct {
			input, line int
			kind        fhir.Kind
			says        string
		}{
			{0, 3, fhir.Invalid, "JSON"},
			{0, 5, fhir.Invalid, "id"},
			{0, 7, fhir.Invalid, "gender"},
			{0, 8, fhir.Invalid, "colour"},
			{0, 9, fhir.NotFound, "NoSuchType"},
			{0, 12, fhir.Unprocessable, "matches no resource"},
			{0, 13, fhir.Invalid, "bad id!"},
			{0, 14, fhir.Invalid, ""},
			{1, 2, fhir.Invalid, "a Observation in an input of type Patient"},
			{2, 0, fhir.Invalid, "missing.ndjson could not be read"},
		}
		if len(got) != len(want) {
			t.Fatalf("rejections:\n%v\nwant %d", got, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Input != w.input || g.Line != w.line || g.Kind != w.kind || !strings.Contains(g.Says, w.says) {
				t.Errorf("rejection %d = %+v, want input %d line %d kind %v saying %q", i, g, w.input, w.line, w.kind, w.says)
			}
		}
		if res.Rejected() != int64(len(want)) || res.Inputs[2].Err == nil {
			t.Errorf("rejected %d, input 3 error %v", res.Rejected(), res.Inputs[2].Err)
		}
		// The rejection as an OperationOutcome names its line.
		if oo := res.Inputs[0].Rejects[0].Outcome(); !strings.HasPrefix(oo.Issue[0].Diagnostics, "line 3: ") {
			t.Errorf("outcome of line 3: %+v", oo.Issue)
		}
		// The conditional reference found the Patient that came after it.
		o2, err := svc.Read(t.Context(), "Observation", "o2")
		if err != nil {
			t.Fatal(err)
		}
		if subject(t, o2.Body) != "Patient/p1" {
			t.Errorf("o2 = %s, want its subject resolved to Patient/p1", o2.Body)
		}
		// The same id twice: two versions, the last one current.
		p4, err := svc.Read(t.Context(), "Patient", "p4")
		if err != nil {
			t.Fatal(err)
		}
		if p4.Version != 2 || comparable(t, p4.Body)["active"] != false {
			t.Errorf("p4 = version %d %s, want version 2, inactive", p4.Version, p4.Body)
		}
		// Importing the same again is accepted and changes nothing: an
		// update that changes nothing makes no new version.
		res = mustImport(t, svc, bulk.ImportOptions{}, input("again.ndjson", "", importLines[0]+"\n"+importLines[5]))
		if res.Loaded() != 2 {
			t.Errorf("second import loaded %d", res.Loaded())
		}
		if r, _ := svc.Read(t.Context(), "Patient", "p1"); r == nil || r.Version != 1 {
			t.Errorf("p1 after importing it again unchanged: %+v, want version 1", r)
		}
	})
}

// TestImportLongLine: a line over the limit is rejected, and reading goes
// on after it.
func TestImportLongLine(t *testing.T) {
	svc := backends()[0].open(t)
	long := `{"resourceType":"Patient","id":"big","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("x", 5000) + `</div>"}}`
	res := mustImport(t, svc, bulk.ImportOptions{MaxLine: 1000}, input("long.ndjson", "", long+"\n"+`{"resourceType":"Patient","id":"small"}`))
	if res.Loaded() != 1 || res.Rejected() != 1 || res.Inputs[0].Rejects[0].Line != 1 || !strings.Contains(res.Inputs[0].Rejects[0].Err.Error(), "too long") {
		t.Errorf("loaded %d, rejected %v", res.Loaded(), res.Inputs[0].Rejects)
	}
}

// TestImportBundles: with Bundles, a collection and a transaction of plain
// PUTs are taken apart, a transaction with POSTs runs as it is, and a
// document Bundle is a resource.
func TestImportBundles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		svc := b.open(t)
		collection := `{"resourceType":"Bundle","type":"collection","entry":[
			{"resource":{"resourceType":"Patient","id":"c1"}},
			{"resource":{"resourceType":"Patient","id":"c2","colour":"red"}},
			{"fullUrl":"x"}]}`
		puts := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}}]}`
		posts := `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}},` +
			`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`
		document := `{"resourceType":"Bundle","id":"d1","type":"searchset","total":0}`
		ndjson := strings.Join([]string{puts, posts, document}, "\n") // a searchset is a resource to store
		res := mustImport(t, svc, bulk.ImportOptions{Bundles: true},
			bulk.Input{Name: "collection.json", Format: bulk.JSON, Open: func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(collection)), nil
			}},
			input("bundles.ndjson", "", ndjson))
		if d := cmp.Diff(map[string]int64{"Patient": 1}, res.Inputs[0].Loaded); d != "" {
			t.Errorf("collection loaded (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string]int64{"Patient": 2, "Observation": 1, "Bundle": 1}, res.Inputs[1].Loaded); d != "" {
			t.Errorf("bundles loaded (-want +got):\n%s\nrejected: %v", d, res.Inputs[1].Rejects)
		}
		var where []string
		for _, r := range res.Inputs[0].Rejects {
			where = append(where, r.Where())
		}
		if d := cmp.Diff([]string{"line 1, entry 2", "line 1, entry 3"}, where); d != "" {
			t.Errorf("collection rejections (-want +got):\n%s", d)
		}
		sr, err := svc.Search(t.Context(), record.SearchRequest{Type: "Observation", Params: map[string][]string{}})
		if err != nil || len(sr.Matches) != 1 {
			t.Fatalf("observations: %v %v", sr, err)
		}
		if ref := subject(t, sr.Matches[0].Body); !strings.HasPrefix(ref, "Patient/") || ref == "Patient/" {
			t.Errorf("the transaction's reference was not resolved: %s", sr.Matches[0].Body)
		}
	})
}

// exportFixture loads two patients, p1 and p2, with records, one shared
// Organization, a Group of p1, and an Observation about both (subject p1,
// performer p2). It returns the time between the first load and the
// second (p2's record).
func exportFixture(t *testing.T, svc *record.Service) time.Time {
	first := []string{
		`{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/org"}}`,
		`{"resourceType":"Organization","id":"org","name":"Org"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Observation","id":"both","status":"final","code":{"text":"b"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Patient/p2"}]}`,
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Group","id":"g1","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/gone"}},{"entity":{"reference":"Patient/p2"},"inactive":true}]}`,
	}
	second := []string{
		`{"resourceType":"Patient","id":"p2"}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"c"},"subject":{"reference":"Patient/p2"}}`,
	}
	if r := mustImport(t, svc, bulk.ImportOptions{}, input("first", "", strings.Join(first, "\n"))); r.Rejected() > 0 {
		t.Fatal(r.Inputs[0].Rejects)
	}
	time.Sleep(5 * time.Millisecond)
	since := fhir.Now()
	time.Sleep(5 * time.Millisecond)
	if r := mustImport(t, svc, bulk.ImportOptions{}, input("second", "", strings.Join(second, "\n"))); r.Rejected() > 0 {
		t.Fatal(r.Inputs[0].Rejects)
	}
	return since
}

func TestExportLevels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		svc := b.open(t)
		since := exportFixture(t, svc)
		tests := []struct {
			name  string
			req   bulk.ExportRequest
			want  []string
			files []string
		}{
			{"system", bulk.ExportRequest{}, []string{"Condition/c1", "Group/g1", "Observation/both", "Observation/o1", "Observation/o2", "Organization/org", "Patient/p1", "Patient/p2"},
				[]string{"Condition.ndjson", "Group.ndjson", "Observation.ndjson", "Organization.ndjson", "Patient.ndjson"}},
			{"system _type", bulk.ExportRequest{Types: []string{"Patient", "Organization"}}, []string{"Organization/org", "Patient/p1", "Patient/p2"}, nil},
			{"system _since", bulk.ExportRequest{Since: since}, []string{"Observation/o2", "Patient/p2"}, nil},
			// "both" is in p1's and p2's compartments: it is written once.
			// Group/g1 is in p1's compartment (Group.member).
			{"patient", bulk.ExportRequest{Level: bulk.Patients}, []string{"Condition/c1", "Group/g1", "Observation/both", "Observation/o1", "Observation/o2", "Patient/p1", "Patient/p2"}, nil},
			{"patient _type", bulk.ExportRequest{Level: bulk.Patients, Types: []string{"Observation"}}, []string{"Observation/both", "Observation/o1", "Observation/o2"}, nil},
			{"patient _since", bulk.ExportRequest{Level: bulk.Patients, Since: since}, []string{"Observation/o2", "Patient/p2"}, nil},
			// The inactive p2 is left out; the missing member is an error.
			{"group", bulk.ExportRequest{Level: bulk.Group, GroupID: "g1"}, []string{"Condition/c1", "Group/g1", "Observation/both", "Observation/o1", "Patient/p1"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, res, dir := export(t, svc, tc.req, bulk.ExportOptions{})
				keys := slices.Sorted(mapsKeys(got))
				if d := cmp.Diff(tc.want, keys); d != "" {
					t.Errorf("exported (-want +got):\n%s", d)
				}
				if tc.files != nil {
					var names []string
					for _, f := range res.Output {
						names = append(names, f.Name)
					}
					if d := cmp.Diff(tc.files, names); d != "" {
						t.Errorf("files (-want +got):\n%s", d)
					}
				}
				if tc.req.Level == bulk.Group {
					if len(res.Errors) != 1 || res.Errors[0].Count != 1 {
						t.Fatalf("errors: %+v, want one outcome", res.Errors)
					}
					b, _ := os.ReadFile(filepath.Join(dir, res.Errors[0].Name))
					if !strings.Contains(string(b), "Patient/gone") {
						t.Errorf("errors file: %s", b)
					}
				}
			})
		}
		// Requests the kick-off must refuse.
		for _, tc := range []struct {
			req  bulk.ExportRequest
			kind fhir.Kind
		}{
			{bulk.ExportRequest{Types: []string{"Nonsense"}}, fhir.Invalid},
			{bulk.ExportRequest{Level: bulk.Patients, Types: []string{"Organization"}}, fhir.Invalid},
			{bulk.ExportRequest{Level: bulk.Group, GroupID: "nope"}, fhir.NotFound},
		} {
			if err := bulk.CheckExport(t.Context(), svc, tc.req); fhir.KindOf(err) != tc.kind {
				t.Errorf("CheckExport(%+v) = %v, want %v", tc.req, err, tc.kind)
			}
		}
	})
}

// TestAccess: the one function every resource passes through.
func TestAccess(t *testing.T) {
	svc := backends()[0].open(t)
	noObservations := func(_ context.Context, op bulk.Op, s bulk.Subject) error {
		if s.Type == "Observation" {
			return fhir.E(fhir.Forbidden, "no %s of Observations", op)
		}
		if op == bulk.Write && s.Object == nil || op == bulk.Read && s.Body == nil {
			return fhir.E(fhir.Internal, "subject without its resource")
		}
		return nil
	}
	res := mustImport(t, svc, bulk.ImportOptions{Access: noObservations}, input("a", "", importLines[0]+"\n"+importLines[5]))
	if res.Loaded() != 1 || res.Rejected() != 1 || fhir.KindOf(res.Inputs[0].Rejects[0].Err) != fhir.Forbidden {
		t.Fatalf("import: loaded %d, rejects %v", res.Loaded(), res.Inputs[0].Rejects)
	}
	mustImport(t, svc, bulk.ImportOptions{}, input("a", "", importLines[0]))
	got, ex, _ := export(t, svc, bulk.ExportRequest{}, bulk.ExportOptions{Access: noObservations})
	if len(got) != 1 || len(ex.Errors) != 1 || ex.Errors[0].Count != 1 {
		t.Errorf("export: %v, errors %+v", got, ex.Errors)
	}
}

// subject is the subject reference of a stored resource.
func subject(t *testing.T, body []byte) string {
	s, _ := comparable(t, body)["subject"].(map[string]any)
	ref, _ := s["reference"].(string)
	return ref
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestImportStoreRefusal: a resource with a string PostgreSQL's jsonb
// cannot hold (\u0000) is refused alone, on both stores alike (it used to
// be kept by SQLite and refused by PostgreSQL at write time), and the rest
// of its batch loads.
func TestImportStoreRefusal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		svc := b.open(t)
		lines := `{"resourceType":"Patient","id":"a"}` + "\n" + `{"resourceType":"Patient","id":"z","name":[{"family":"a\u0000b"}]}` + "\n" + `{"resourceType":"Patient","id":"c"}`
		res := mustImport(t, svc, bulk.ImportOptions{}, input("x", "", lines))
		if res.Rejected() != 1 || res.Inputs[0].Rejects[0].Line != 2 || fhir.KindOf(res.Inputs[0].Rejects[0].Err) != fhir.Invalid {
			t.Errorf("rejects: %v", res.Inputs[0].Rejects)
		}
		if res.Loaded() != 2 {
			t.Errorf("loaded %d, want 2 (rejects %v)", res.Loaded(), res.Inputs[0].Rejects)
		}
	})
}

// TestImportOverDeleted: a resource deleted since is brought back as its
// next version; one deleted and imported in the same run too.
func TestImportOverDeleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		svc := b.open(t)
		mustImport(t, svc, bulk.ImportOptions{}, input("a", "", `{"resourceType":"Patient","id":"d1"}`))
		if _, err := svc.Delete(t.Context(), "Patient", "d1", ""); err != nil {
			t.Fatal(err)
		}
		res := mustImport(t, svc, bulk.ImportOptions{}, input("b", "", `{"resourceType":"Patient","id":"d1","active":true}`+"\n"+`{"resourceType":"Patient","id":"n1"}`))
		if res.Loaded() != 2 || res.Rejected() != 0 {
			t.Fatalf("loaded %d, rejects %v", res.Loaded(), res.Inputs[0].Rejects)
		}
		r, err := svc.Read(t.Context(), "Patient", "d1")
		if err != nil || r.Version != 3 || comparable(t, r.Body)["active"] != true {
			t.Fatalf("d1 after import: %+v, %v; want version 3, active", r, err)
		}
	})
}
