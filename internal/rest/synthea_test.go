package rest_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syntheaDir is the shared conformance material (see
// ../shared/conformance/README.md), relative to this package.
var syntheaDir = filepath.Join("..", "..", "..", "shared", "conformance", "synthea")

const (
	syntheaPostWorkers = 4  // bundles in flight at once: exercises group commit
	syntheaGetWorkers  = 8  // reads in flight while checking
	syntheaMaxErrors   = 10 // stop a set after this many failures
)

// TestSyntheaLoads loads both Synthea sets unchanged through POST [base]:
// hiv-r4 (2 batch bundles of organisations, locations, practitioners and
// roles, then 79 patient transactions with conditional references) and
// gsd-r4 (617 patient transactions with urn:uuid references), into one
// store per backend. Every bundle must answer 200 with every entry 2xx;
// afterwards every entry's response.location must be readable (vread, and
// read of the current version) as the right type, id and version,
// every stored reference must point at a created resource (no urn:uuid or
// conditional reference may survive), sampled references must have been
// rewritten to the right target, and the number of distinct resources
// created per type must match the set's stats file. Then searches on the
// loaded store are checked against counts worked out from the raw bundles
// (checkSyntheaSearches).
func TestSyntheaLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("loads ~240,000 Synthea resources per backend; skipped in -short mode")
	}
	if _, err := os.Stat(syntheaDir); err != nil {
		t.Skipf("Synthea sets not found at %s (see ../shared/conformance/README.md): %v", syntheaDir, err)
	}
	forEachBackend(t, func(t *testing.T, c *client) {
		for _, set := range syntheaSets {
			t.Run(set.name, func(t *testing.T) {
				loadSyntheaSet(t, c.with(t), set.name, set.first)
			})
		}
		// The searches run on the store just loaded: loading takes minutes
		// per backend, so it is done once for both.
		if t.Failed() {
			return
		}
		t.Run("search", func(t *testing.T) {
			checkSyntheaSearches(t, c.with(t))
		})
	})
}

// syntheaSets are the sets in load order; first picks the bundles of a set
// that must be in before the others.
var syntheaSets = []struct {
	name  string
	first func(name string) bool
}{
	{"hiv-r4", func(name string) bool {
		base := path.Base(name)
		return strings.HasPrefix(base, "hospitalInformation") || strings.HasPrefix(base, "practitionerInformation")
	}},
	{"gsd-r4", nil},
}

// synBundle is what the test reads of a source Bundle.
type synBundle struct {
	Type  string `json:"type"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  struct {
			Method      string `json:"method"`
			URL         string `json:"url"`
			IfNoneExist string `json:"ifNoneExist"`
		} `json:"request"`
	} `json:"entry"`
}

// synResponse is what the test reads of a batch- or transaction-response
// (or of an OperationOutcome when the whole Bundle failed).
type synResponse struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Response struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

// refCheck is one reference of a sampled source resource and what the
// stored resource must hold at the same place.
type refCheck struct {
	path string // e.g. "participant[0].individual.reference"
	src  string // the reference as sent
	want string // exact stored value; "" for a conditional reference
}

// refSample is a source resource whose references are compared, path by
// path, with what was stored.
type refSample struct {
	loc    string // Type/id
	checks []refCheck
}

// synSet accumulates one set's results across workers.
type synSet struct {
	mu        sync.Mutex
	locations []string                       // response.location (Type/id/_history/v) of every entry, in no particular order
	sent      map[string]int                 // entries per resource type
	plain     map[string]int                 // plain POST entries per type
	criteria  map[string]map[string]struct{} // distinct ifNoneExist criteria per type
	samples   []refSample
	bundles   int
	errors    atomic.Int32
	cancel    context.CancelFunc
	t         testing.TB
	resources atomic.Int64
	elapsed   time.Duration // time to post every bundle
}

func (s *synSet) fail(format string, args ...any) {
	s.t.Helper()
	if n := s.errors.Add(1); n <= syntheaMaxErrors {
		s.t.Errorf(format, args...)
	}
	if s.errors.Load() >= syntheaMaxErrors {
		s.cancel()
	}
}

// postSyntheaSet posts every bundle of a set to base (the ones first
// picks before the others) and returns what was sent and created. The
// search benchmark loads its database with it too.
func postSyntheaSet(t testing.TB, base, set string, first func(name string) bool) *synSet {
	archive := filepath.Join(syntheaDir, set+".tar.gz")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 10 * time.Minute}
	defer hc.CloseIdleConnections()
	s := &synSet{
		sent: map[string]int{}, plain: map[string]int{}, criteria: map[string]map[string]struct{}{},
		cancel: cancel, t: t,
	}

	start := time.Now()
	if first != nil {
		// The batches of shared resources must be in before any patient
		// transaction refers to them conditionally.
		streamSynthea(ctx, t, s, hc, base, archive, first, 2)
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("%s: loaded the %d batch bundles first (%d resources) in %v", set, s.bundles, s.resources.Load(), time.Since(start).Round(time.Millisecond))
	}
	rest := func(name string) bool { return first == nil || !first(name) }
	streamSynthea(ctx, t, s, hc, base, archive, rest, syntheaPostWorkers)
	s.elapsed = time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	n := s.resources.Load()
	t.Logf("%s: loaded %d bundles, %d resources in %v: %.0f resources/s", set, s.bundles, n, s.elapsed.Round(time.Millisecond), float64(n)/s.elapsed.Seconds())
	return s
}

func loadSyntheaSet(t *testing.T, c *client, set string, first func(name string) bool) {
	want := readSyntheaStats(t, filepath.Join(syntheaDir, set+".stats.txt"))
	s := postSyntheaSet(t, c.base, set, first)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.cancel = cancel
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 10 * time.Minute}
	defer hc.CloseIdleConnections()

	// What was read from the archive matches the stats file.
	for typ, w := range want {
		if s.sent[typ] != w {
			t.Errorf("%s: the archive has %d %s entries, the stats file says %d", set, s.sent[typ], typ, w)
		}
	}
	for typ := range s.sent {
		if _, ok := want[typ]; !ok {
			t.Errorf("%s: the archive has %d %s entries, which the stats file does not list", set, s.sent[typ], typ)
		}
	}

	// Distinct resources created per type. Plain POSTs each create one
	// resource. Conditional creates (ifNoneExist; in hiv-r4 the
	// Organization, Location and Practitioner entries of the two batches,
	// not PractitionerRole) create one resource per distinct criteria
	// and match it afterwards: nothing matched before, as the store holds
	// no resources of those types with those identifiers before this set
	// (gsd-r4 uses no conditional creates). In hiv-r4 every criteria is
	// distinct, so the expectation there equals the stats counts (1191
	// each) too.
	created := map[string]map[string]struct{}{}
	all := make(map[string]string, len(s.locations)) // Type/id -> location
	for _, loc := range s.locations {
		ref := localPart(loc)
		typ, id, _ := strings.Cut(ref, "/")
		if created[typ] == nil {
			created[typ] = map[string]struct{}{}
		}
		created[typ][id] = struct{}{}
		all[ref] = loc
	}
	for typ, w := range want {
		exp := s.plain[typ] + len(s.criteria[typ])
		if len(s.criteria[typ]) == 0 && exp != w {
			t.Errorf("%s: %d plain POSTs of %s, stats say %d", set, exp, typ, w)
		}
		if got := len(created[typ]); got != exp {
			t.Errorf("%s: %d distinct %s created, want %d (%d plain POSTs + %d distinct ifNoneExist criteria; stats: %d)",
				set, got, typ, exp, s.plain[typ], len(s.criteria[typ]), w)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Read every resource back; check each reference it holds points at a
	// resource this set created (or stays contained/absolute), and compare
	// the sampled resources' references with what was sent.
	start := time.Now()
	samples := make(map[string]*refSample, len(s.samples))
	for i := range s.samples {
		samples[s.samples[i].loc] = &s.samples[i]
	}
	var refs atomic.Int64
	var condTargets sync.Map // Type/id -> conditional reference that resolved to it
	var obsSubjects sync.Map // Patient/id -> Observation that refers to it
	locs := make([]string, 0, len(all))
	for _, loc := range all {
		locs = append(locs, loc)
	}
	sort.Strings(locs)
	parallelSynthea(ctx, len(locs), syntheaGetWorkers, func(i int) {
		// The location as returned (a vread), then the current version.
		vloc := locs[i]
		loc := localPart(vloc)
		typ, id, _ := strings.Cut(loc, "/")
		_, vid, _ := strings.Cut(vloc, "/_history/")
		status, body, err := syntheaGet(ctx, hc, c.base+"/"+vloc)
		if err != nil {
			s.fail("GET %s: %v", vloc, err)
			return
		}
		if status != http.StatusOK {
			s.fail("GET %s: status %d\n%s", vloc, status, clip(body))
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			s.fail("GET %s: %v", vloc, err)
			return
		}
		if m["resourceType"] != typ || m["id"] != id || str(m, "meta", "versionId") != vid {
			s.fail("GET %s: read %v/%v version %q", vloc, m["resourceType"], m["id"], str(m, "meta", "versionId"))
			return
		}
		status, cur, err := syntheaGet(ctx, hc, c.base+"/"+loc)
		if err != nil || status != http.StatusOK {
			s.fail("GET %s: status %d %v\n%s", loc, status, err, clip(cur))
			return
		}
		var cm struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Meta         struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(cur, &cm); err != nil || cm.ResourceType != typ || cm.ID != id || cm.Meta.VersionID != vid {
			s.fail("GET %s: read %s/%s version %q (%v), want version %s", loc, cm.ResourceType, cm.ID, cm.Meta.VersionID, err, vid)
			return
		}
		stored := map[string]string{}
		walkRefs(m, "", func(p, ref string) {
			refs.Add(1)
			stored[p] = ref
			switch {
			case strings.HasPrefix(ref, "urn:"):
				s.fail("%s: %s is still %q after the transaction", loc, p, ref)
			case isConditionalRef(ref):
				s.fail("%s: conditional reference %s %q was not resolved", loc, p, ref)
			case isLocalRef(ref):
				if _, ok := all[ref]; !ok {
					s.fail("%s: %s %q points at no resource this set created", loc, p, ref)
				}
			}
		})
		sm := samples[loc]
		if sm == nil {
			return
		}
		for _, rc := range sm.checks {
			got, ok := stored[rc.path]
			switch {
			case !ok:
				s.fail("%s: sent %s %q, stored resource has none", loc, rc.path, rc.src)
			case rc.want != "" && got != rc.want:
				s.fail("%s: sent %s %q, stored %q, want %q", loc, rc.path, rc.src, got, rc.want)
			case rc.want == "":
				ctyp, _, _ := strings.Cut(rc.src, "?")
				if !strings.HasPrefix(got, ctyp+"/") {
					s.fail("%s: conditional %s %q stored as %q, want %s/<id>", loc, rc.path, rc.src, got, ctyp)
				}
				condTargets.LoadOrStore(got, rc.src)
			}
		}
		if typ == "Observation" {
			subj := stored["subject.reference"]
			if !strings.HasPrefix(subj, "Patient/") {
				s.fail("%s: subject.reference %q, want Patient/<id>", loc, subj)
			} else {
				obsSubjects.LoadOrStore(subj, loc)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// Observation subjects resolve: GET each patient referred to.
	var subjects []string
	obsSubjects.Range(func(k, _ any) bool { subjects = append(subjects, k.(string)); return true })
	if len(subjects) == 0 {
		t.Errorf("%s: no Observation with a subject", set)
	}
	parallelSynthea(ctx, len(subjects), syntheaGetWorkers, func(i int) {
		status, body, err := syntheaGet(ctx, hc, c.base+"/"+subjects[i])
		if err != nil || status != http.StatusOK {
			s.fail("GET Observation subject %s: %d %v\n%s", subjects[i], status, err, clip(body))
		}
	})

	// Conditional references resolved to the resource their criteria
	// name: the target carries the identifier.
	type cond struct{ target, ref string }
	var conds []cond
	condTargets.Range(func(k, v any) bool { conds = append(conds, cond{k.(string), v.(string)}); return true })
	if first != nil && len(conds) == 0 {
		t.Errorf("%s: no sampled conditional reference (expected Encounter.serviceProvider, Claim.provider …)", set)
	}
	condTypes := map[string]int{}
	for _, cd := range conds {
		typ, _, _ := strings.Cut(cd.target, "/")
		condTypes[typ]++
	}
	parallelSynthea(ctx, len(conds), syntheaGetWorkers, func(i int) {
		cd := conds[i]
		status, body, err := syntheaGet(ctx, hc, c.base+"/"+cd.target)
		if err != nil || status != http.StatusOK {
			s.fail("GET %s (resolved from %q): %d %v\n%s", cd.target, cd.ref, status, err, clip(body))
			return
		}
		_, q, _ := strings.Cut(cd.ref, "?")
		vals, _ := url.ParseQuery(q)
		sys, code, _ := strings.Cut(vals.Get("identifier"), "|")
		var r struct {
			Identifier []struct{ System, Value string }
		}
		json.Unmarshal(body, &r)
		for _, id := range r.Identifier {
			if id.System == sys && id.Value == code {
				return
			}
		}
		s.fail("%q resolved to %s, whose identifiers %v do not match", cd.ref, cd.target, r.Identifier)
	})
	t.Logf("%s: read back %d resources by vread and read (%d references checked; %d sampled resources compared; %d Observation subjects and %d conditional targets %v resolved) in %v",
		set, len(locs), refs.Load(), len(samples), len(subjects), len(conds), condTypes, time.Since(start).Round(time.Millisecond))
}

// streamSynthea posts the archive's bundles whose names pass pick, with
// workers bundles in flight, reading the archive as a stream.
func streamSynthea(ctx context.Context, t testing.TB, s *synSet, hc *http.Client, base, archive string, pick func(string) bool, workers int) {
	type job struct {
		name string
		body []byte
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					postSynthea(ctx, s, hc, base, j.name, j.body)
				}
			}
		}()
	}
	err := eachSyntheaFile(ctx, archive, pick, func(name string, body []byte) {
		select {
		case jobs <- job{name, body}:
		case <-ctx.Done():
		}
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
}

// eachSyntheaFile calls f with the name and contents of each JSON file of
// a Synthea archive whose name passes pick (nil: all), in archive order,
// reading the archive as a stream; it stops early when ctx ends.
func eachSyntheaFile(ctx context.Context, archive string, pick func(string) bool, f func(name string, body []byte)) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(fh, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %v", archive, err)
	}
	tr := tar.NewReader(zr)
	for ctx.Err() == nil {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %v", archive, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") || (pick != nil && !pick(h.Name)) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%s: %v", archive, err)
		}
		f(h.Name, b)
	}
	return nil
}

// postSynthea sends one bundle unchanged to the base and records what it
// created.
func postSynthea(ctx context.Context, s *synSet, hc *http.Client, base, name string, body []byte) {
	var src synBundle
	if err := json.Unmarshal(body, &src); err != nil {
		s.fail("%s: not a Bundle: %v", name, err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		s.fail("%s: %v", name, err)
		return
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.fail("POST %s: %v", name, err)
		}
		return
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		s.fail("POST %s: reading the response: %v", name, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		s.fail("POST %s (%s, %d entries): status %d\n%s", name, src.Type, len(src.Entry), resp.StatusCode, clip(raw))
		return
	}
	var out synResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.fail("POST %s: response is not JSON: %v\n%s", name, err, clip(raw))
		return
	}
	raw = nil
	if out.ResourceType != "Bundle" || out.Type != src.Type+"-response" || len(out.Entry) != len(src.Entry) {
		s.fail("POST %s: got a %s %s with %d entries, want a %s-response with %d", name, out.ResourceType, out.Type, len(out.Entry), src.Type, len(src.Entry))
		return
	}

	// fullUrl -> Type/id, for what references to entries must become.
	ids := make(map[string]string, len(src.Entry))
	locs := make([]string, len(src.Entry))
	types := make([]string, len(src.Entry))
	ok := true
	for i, e := range src.Entry {
		var hdr struct {
			ResourceType string `json:"resourceType"`
		}
		json.Unmarshal(e.Resource, &hdr)
		types[i] = hdr.ResourceType
		r := out.Entry[i].Response
		code, _ := strconv.Atoi(strings.SplitN(r.Status, " ", 2)[0])
		if code < 200 || code > 299 {
			s.fail("POST %s: entry %d (%s %s) status %q\n%s", name, i, e.Request.Method, e.Request.URL, r.Status, clip(r.Outcome))
			ok = false
			continue
		}
		loc := localPart(r.Location)
		if typ, _, _ := strings.Cut(loc, "/"); typ != hdr.ResourceType || e.Request.Method != "POST" || !strings.Contains(r.Location, "/_history/") {
			s.fail("POST %s: entry %d (%s %s) location %q", name, i, e.Request.Method, hdr.ResourceType, r.Location)
			ok = false
			continue
		}
		if e.Request.IfNoneExist == "" && code != http.StatusCreated {
			s.fail("POST %s: entry %d (plain POST of %s) status %q, want 201", name, i, hdr.ResourceType, r.Status)
			ok = false
		}
		locs[i] = r.Location
		if e.FullURL != "" {
			ids[e.FullURL] = loc
		}
	}
	if !ok {
		return
	}

	// Sample the first resource of each type: remember its references and
	// what each must be stored as.
	var samples []refSample
	seen := map[string]bool{}
	for i, e := range src.Entry {
		if seen[types[i]] {
			continue
		}
		seen[types[i]] = true
		var m any
		if err := json.Unmarshal(e.Resource, &m); err != nil {
			s.fail("%s: entry %d: %v", name, i, err)
			return
		}
		sm := refSample{loc: localPart(locs[i])}
		walkRefs(m, "", func(p, ref string) {
			rc := refCheck{path: p, src: ref, want: ref}
			if to, ok := ids[ref]; ok {
				rc.want = to
			} else if isConditionalRef(ref) {
				rc.want = ""
			}
			sm.checks = append(sm.checks, rc)
		})
		samples = append(samples, sm)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.bundles++
	s.resources.Add(int64(len(src.Entry)))
	s.locations = append(s.locations, locs...)
	s.samples = append(s.samples, samples...)
	for i, e := range src.Entry {
		typ := types[i]
		s.sent[typ]++
		if e.Request.IfNoneExist == "" {
			s.plain[typ]++
			continue
		}
		if s.criteria[typ] == nil {
			s.criteria[typ] = map[string]struct{}{}
		}
		s.criteria[typ][e.Request.IfNoneExist] = struct{}{}
	}
}

// walkRefs calls f for every "reference" string in v, with its path; map
// keys are walked in sorted order so paths are comparable.
func walkRefs(v any, p string, f func(path, ref string)) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kp := k
			if p != "" {
				kp = p + "." + k
			}
			if s, ok := t[k].(string); ok && k == "reference" {
				f(kp, s)
				continue
			}
			walkRefs(t[k], kp, f)
		}
	case []any:
		for i, c := range t {
			walkRefs(c, p+"["+strconv.Itoa(i)+"]", f)
		}
	}
}

// localPart is Type/id of a location Type/id/_history/v.
func localPart(loc string) string {
	if i := strings.Index(loc, "/_history/"); i >= 0 {
		return loc[:i]
	}
	return loc
}

// isConditionalRef reports a search used as a reference: "Type?criteria".
func isConditionalRef(s string) bool {
	i := strings.IndexByte(s, '?')
	return i > 0 && !strings.ContainsAny(s[:i], "/:")
}

// isLocalRef reports a relative literal reference "Type/id".
func isLocalRef(s string) bool {
	typ, id, ok := strings.Cut(s, "/")
	return ok && typ != "" && id != "" && !strings.ContainsAny(s, ":?#") && !strings.Contains(id, "/")
}

func syntheaGet(ctx context.Context, hc *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// parallelSynthea runs f(0..n-1) on workers goroutines, stopping early
// when ctx ends.
func parallelSynthea(ctx context.Context, n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// readSyntheaStats reads the "  Type: count" lines of a stats file.
func readSyntheaStats(t *testing.T, file string) map[string]int {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		typ, n, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("%s: %q", file, line)
		}
		want[typ] = v
	}
	if len(want) == 0 {
		t.Fatalf("%s lists no resource counts", file)
	}
	return want
}

// clip shortens a response body for an error message.
func clip(b []byte) string {
	const max = 4000
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return string(b)
}
