package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The search cross-check: counts of searches over both Synthea sets,
// as the server answers them (_summary=count, and for some by paging
// through every match), against counts this file works out from the raw
// bundles with its own reading of R4 search semantics. It runs inside
// TestSyntheaLoads, on the store that test has just loaded, because
// loading takes minutes per backend.
//
// The server gives every POSTed entry a new id, so the expectations are
// worked out in terms of the bundles' fullUrls (references to urn:uuid
// entries are resolved within their own bundle, as the transaction does),
// and the one Patient a query names is found on the server by its Synthea
// identifier.

// syntheaIDSystem is the identifier system whose value is a Synthea
// Patient's own stable id.
const syntheaIDSystem = "https://github.com/synthetichealth/synthea"

// synRes is what the checks and the benchmark need of one raw resource.
// References are kept as sent (urn:uuid:… or a conditional reference).
type synRes struct {
	typ, fullURL string
	bundle       int

	// Patient
	gender, birthDate string
	names             []synName
	syntheaID         string
	// Observation, Condition
	code     synConcept
	category []synConcept
	value    *synQuantity
	// Observation.effectiveDateTime, or Encounter.period
	effective        string
	start, end       string
	hasPeriod        bool
	subject, patient string
	performer        []string
	encounter        string
	serviceProvider  string
	// Organization
	name string
}

type synName struct {
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
	Suffix []string `json:"suffix"`
	Text   string   `json:"text"`
}

type synCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type synConcept struct {
	Coding []synCoding `json:"coding"`
}

type synQuantity struct {
	Value  json.Number `json:"value"`
	System string      `json:"system"`
	Code   string      `json:"code"`
}

type synRef struct {
	Reference string `json:"reference"`
}

// synWire decodes any resource; the members whose shape differs between
// resource types stay raw and are decoded by type.
type synWire struct {
	ResourceType      string          `json:"resourceType"`
	Gender            string          `json:"gender"`
	BirthDate         string          `json:"birthDate"`
	Name              json.RawMessage `json:"name"`
	Identifier        json.RawMessage `json:"identifier"`
	Code              json.RawMessage `json:"code"`
	Category          json.RawMessage `json:"category"`
	Performer         json.RawMessage `json:"performer"`
	Period            json.RawMessage `json:"period"`
	ValueQuantity     *synQuantity    `json:"valueQuantity"`
	EffectiveDateTime string          `json:"effectiveDateTime"`
	Subject           *synRef         `json:"subject"`
	Patient           *synRef         `json:"patient"`
	Encounter         *synRef         `json:"encounter"`
	ServiceProvider   *synRef         `json:"serviceProvider"`
}

// synFacts is the raw content of both sets, as far as the checks need it.
type synFacts struct {
	res     []synRes
	bundles []map[string]int // per bundle, fullUrl -> index in res
	byType  map[string][]int
}

// syntheaFacts reads both sets once per test binary; the cross-check of
// each backend and the benchmark share it.
var syntheaFacts = sync.OnceValues(func() (*synFacts, error) {
	return readSyntheaFacts(context.Background())
})

func readSyntheaFacts(ctx context.Context) (*synFacts, error) {
	// Bundles are decoded on every core, then put in archive order.
	type job struct {
		n    int
		name string
		body []byte
	}
	type done struct {
		n   int
		res []synRes
		err error
	}
	jobs := make(chan job)
	results := make(chan done)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res, err := decodeSyntheaBundle(j.body)
				if err != nil {
					err = fmt.Errorf("%s: %v", j.name, err)
				}
				results <- done{j.n, res, err}
			}
		}()
	}
	var readErr error
	go func() {
		n := 0
		for _, set := range syntheaSets {
			archive := filepath.Join(syntheaDir, set.name+".tar.gz")
			if err := eachSyntheaFile(ctx, archive, nil, func(name string, body []byte) {
				jobs <- job{n, name, body}
				n++
			}); err != nil {
				readErr = err
				break
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	var perBundle [][]synRes
	var firstErr error
	for d := range results {
		if d.err != nil && firstErr == nil {
			firstErr = d.err
		}
		for len(perBundle) <= d.n {
			perBundle = append(perBundle, nil)
		}
		perBundle[d.n] = d.res
	}
	if readErr != nil {
		return nil, readErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	f := &synFacts{byType: map[string][]int{}}
	for b, rs := range perBundle {
		local := make(map[string]int, len(rs))
		for _, r := range rs {
			r.bundle = b
			local[r.fullURL] = len(f.res)
			f.byType[r.typ] = append(f.byType[r.typ], len(f.res))
			f.res = append(f.res, r)
		}
		f.bundles = append(f.bundles, local)
	}
	return f, nil
}

func decodeSyntheaBundle(body []byte) ([]synRes, error) {
	// One pass over the bundle: the members of synWire that vary by type
	// stay raw, everything else a check does not need is skipped.
	var b struct {
		Entry []struct {
			FullURL  string  `json:"fullUrl"`
			Resource synWire `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	out := make([]synRes, 0, len(b.Entry))
	for i, e := range b.Entry {
		w := &e.Resource
		r := synRes{typ: w.ResourceType, fullURL: e.FullURL, gender: w.Gender, birthDate: w.BirthDate,
			value: w.ValueQuantity, effective: w.EffectiveDateTime}
		for _, ref := range []struct {
			to   *string
			from *synRef
		}{{&r.subject, w.Subject}, {&r.patient, w.Patient}, {&r.encounter, w.Encounter}, {&r.serviceProvider, w.ServiceProvider}} {
			if ref.from != nil {
				*ref.to = ref.from.Reference
			}
		}
		var err error
		switch w.ResourceType {
		case "Patient":
			var ids []struct{ System, Value string }
			err = unmarshalIf(w.Identifier, &ids)
			for _, id := range ids {
				if id.System == syntheaIDSystem {
					r.syntheaID = id.Value
				}
			}
			if err == nil {
				err = unmarshalIf(w.Name, &r.names)
			}
		case "Observation":
			var perf []synRef
			err = errors.Join(unmarshalIf(w.Code, &r.code), unmarshalIf(w.Category, &r.category), unmarshalIf(w.Performer, &perf))
			for _, p := range perf {
				r.performer = append(r.performer, p.Reference)
			}
		case "Condition":
			err = unmarshalIf(w.Code, &r.code)
		case "Encounter":
			var p struct{ Start, End string }
			err = unmarshalIf(w.Period, &p)
			r.start, r.end, r.hasPeriod = p.Start, p.End, w.Period != nil
		case "Organization":
			err = unmarshalIf(w.Name, &r.name)
		}
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %v", i, w.ResourceType, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func unmarshalIf(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// resolve is the index of the resource a reference of resource i points
// at within i's bundle, or -1 (conditional references to the hiv set's
// shared resources are not followed: no check needs them).
func (f *synFacts) resolve(i int, ref string) int {
	if ref == "" {
		return -1
	}
	if j, ok := f.bundles[f.res[i].bundle][ref]; ok {
		return j
	}
	return -1
}

// count is the number of resources of typ for which pred holds.
func (f *synFacts) count(typ string, pred func(i int, r *synRes) bool) int {
	n := 0
	for _, i := range f.byType[typ] {
		if pred(i, &f.res[i]) {
			n++
		}
	}
	return n
}

// compartmentSizes counts, per Patient, itself and the resources of its
// bundle whose subject, patient or (Observation) performer points at it:
// the Patient compartment's parameters for the types Synthea writes. It
// picks the Patient with the most, for the queries that name one.
func (f *synFacts) compartmentSizes() map[int]int {
	n := map[int]int{}
	for i := range f.res {
		r := &f.res[i]
		if r.typ == "Patient" {
			n[i]++
			continue
		}
		seen := map[int]bool{}
		for _, ref := range append([]string{r.subject, r.patient}, r.performer...) {
			if j := f.resolve(i, ref); j >= 0 && f.res[j].typ == "Patient" && !seen[j] {
				seen[j] = true
				n[j]++
			}
		}
	}
	return n
}

// heaviestPatient is the index of the Patient with the largest
// compartment (ties go to the first in archive order).
func (f *synFacts) heaviestPatient() (int, int) {
	best, most := -1, 0
	sizes := f.compartmentSizes()
	for _, i := range f.byType["Patient"] {
		if sizes[i] > most {
			best, most = i, sizes[i]
		}
	}
	return best, most
}

// topCode is the system|code most of Patient p's Observations have (ties
// go to the smaller), for the queries that name a Patient and a code.
func (f *synFacts) topCode(p int) string {
	n := map[string]int{}
	for _, i := range f.byType["Observation"] {
		if f.resolve(i, f.res[i].subject) == p {
			for _, c := range f.res[i].code.Coding {
				n[c.System+"|"+c.Code]++
			}
		}
	}
	best := ""
	for k, c := range n {
		if c > n[best] || (c == n[best] && k < best) {
			best = k
		}
	}
	return best
}

// hasCoding reports a coding with code (and system, unless system is "").
func hasCoding(cs []synConcept, system, code string) bool {
	for _, c := range cs {
		for _, cd := range c.Coding {
			if cd.Code == code && (system == "" || cd.System == system) {
				return true
			}
		}
	}
	return false
}

// fold is R4 string matching's normal form: case and accents do not
// count (lower case, canonical decomposition, combining marks dropped).
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func startsWith(s, prefix string) bool { return strings.HasPrefix(fold(s), fold(prefix)) }

// fhirRange is the range [lo, hi) a FHIR date, dateTime or instant covers
// at its precision; a value without a zone is read as UTC (as the server
// reads search values without one). Unparseable values give ok false.
func fhirRange(s string) (lo, hi time.Time, ok bool) {
	layouts := []struct {
		layout string
		step   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 && strings.Contains(s, "T") {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac, s = s[i+1:j], s[:i]+s[j:]
	}
	for _, l := range layouts {
		t, err := time.ParseInLocation(l.layout, s, time.UTC)
		if err != nil {
			continue
		}
		if frac == "" {
			return t, l.step(t), true
		}
		if len(frac) > 9 || !strings.Contains(l.layout, "T") {
			return lo, hi, false
		}
		ns, _ := strconv.Atoi((frac + "000000000")[:9])
		step := time.Duration(1)
		for range 9 - len(frac) {
			step *= 10
		}
		t = t.Add(time.Duration(ns))
		return t, t.Add(step), true
	}
	return lo, hi, false
}

// dateMatches applies an R4 date prefix to a target range [tlo, thi)
// and a search value: eq, the search range contains the target; gt, the
// range above the search value (from its end on) meets the target; lt,
// the range below it meets the target; ge, le: gt, lt or eq; sa, eb: the
// target starts after the search range / ends before it.
func dateMatches(prefixed string, tlo, thi time.Time) bool {
	p, v := "eq", prefixed
	if len(prefixed) > 2 && prefixed[0] >= 'a' && prefixed[0] <= 'z' {
		p, v = prefixed[:2], prefixed[2:]
	}
	slo, shi, ok := fhirRange(v)
	if !ok {
		panic("bad search date " + prefixed)
	}
	eq := !tlo.Before(slo) && !thi.After(shi)
	gt := thi.After(shi)
	lt := tlo.Before(slo)
	switch p {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt":
		return gt
	case "lt":
		return lt
	case "ge":
		return gt || eq
	case "le":
		return lt || eq
	case "sa":
		return !tlo.Before(shi)
	case "eb":
		return !thi.After(slo)
	}
	panic("unknown prefix " + p)
}

// Far ends for open periods.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// periodRange is the range of a Period: from its start's low end to its
// end's high end, open where either is missing.
func periodRange(start, end string) (lo, hi time.Time, ok bool) {
	lo, hi = minTime, maxTime
	if start != "" {
		if lo, _, ok = fhirRange(start); !ok {
			return
		}
	}
	if end != "" {
		if _, hi, ok = fhirRange(end); !ok {
			return
		}
	}
	return lo, hi, true
}

// ucumMassConc and ucumSubstConc convert the UCUM units of mass and of
// substance concentration that occur in the sets (and their close kin) to
// mg/dL and mmol/L: R4 lets a server match a quantity in any unit
// commensurable with the one searched, and this one does.
var (
	ucumMassConc = map[string]*big.Rat{
		"mg/dL": big.NewRat(1, 1), "g/dL": big.NewRat(1000, 1), "g/L": big.NewRat(100, 1),
		"mg/L": big.NewRat(1, 10), "ug/L": big.NewRat(1, 10000), "ng/mL": big.NewRat(1, 10000),
		"ug/mL": big.NewRat(1, 10), "pg/mL": big.NewRat(1, 10000000), "ug/dL": big.NewRat(1, 1000),
		"ng/dL": big.NewRat(1, 1000000), "ng/dl": big.NewRat(1, 1000000),
	}
	ucumSubstConc = map[string]*big.Rat{
		"mmol/L": big.NewRat(1, 1), "mol/L": big.NewRat(1000, 1), "umol/L": big.NewRat(1, 1000),
		"nmol/L": big.NewRat(1, 1000000), "pmol/L": big.NewRat(1, 1000000000),
	}
)

// quantityIn is an Observation's UCUM valueQuantity in the unit of table
// (nil when it has none or its unit is not in table), exactly.
func quantityIn(r *synRes, table map[string]*big.Rat) *big.Rat {
	q := r.value
	if q == nil || q.System != "http://unitsofmeasure.org" || table[q.Code] == nil {
		return nil
	}
	v, ok := new(big.Rat).SetString(q.Value.String())
	if !ok {
		return nil
	}
	return v.Mul(v, table[q.Code])
}

// synCheck is one search and how to count its matches in the raw data.
// Queries name the chosen Patient as {patient} and the code most of its
// Observations have as {code}.
type synCheck struct {
	name  string
	query string
	want  func(f *synFacts, patient int) int
	// page: also walk every page of _count=500 and compare the set.
	page bool
}

func ratGt(v *big.Rat, s string) bool {
	w, _ := new(big.Rat).SetString(s)
	return v != nil && v.Cmp(w) > 0
}

func ratGe(v *big.Rat, s string) bool {
	w, _ := new(big.Rat).SetString(s)
	return v != nil && v.Cmp(w) >= 0
}

var syntheaSearchChecks = []synCheck{
	{"token system|code", "Observation?code=http://loinc.org|72514-3", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool { return hasCoding([]synConcept{r.code}, "http://loinc.org", "72514-3") })
	}, true},
	{"token code of another system", "Observation?code=http://snomed.info/sct|72514-3", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool {
			return hasCoding([]synConcept{r.code}, "http://snomed.info/sct", "72514-3")
		})
	}, false},
	{"token code, any system", "Condition?code=444814009", func(f *synFacts, _ int) int {
		return f.count("Condition", func(_ int, r *synRes) bool { return hasCoding([]synConcept{r.code}, "", "444814009") })
	}, false},
	{"token category", "Observation?category=laboratory", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool { return hasCoding(r.category, "", "laboratory") })
	}, false},
	{"token gender", "Patient?gender=female", func(f *synFacts, _ int) int {
		return f.count("Patient", func(_ int, r *synRes) bool { return r.gender == "female" })
	}, false},
	{"string family", "Patient?family=sch", func(f *synFacts, _ int) int {
		return f.count("Patient", func(_ int, r *synRes) bool {
			return slices.ContainsFunc(r.names, func(n synName) bool { return startsWith(n.Family, "sch") })
		})
	}, false},
	{"string name, any part", "Patient?name=MAR", func(f *synFacts, _ int) int {
		return f.count("Patient", func(_ int, r *synRes) bool {
			return slices.ContainsFunc(r.names, func(n synName) bool {
				parts := append(append(append([]string{n.Family, n.Text}, n.Given...), n.Prefix...), n.Suffix...)
				return slices.ContainsFunc(parts, func(p string) bool { return startsWith(p, "MAR") })
			})
		})
	}, false},
	{"date birthdate lt", "Patient?birthdate=lt1950", func(f *synFacts, _ int) int {
		return f.count("Patient", func(_ int, r *synRes) bool {
			lo, hi, ok := fhirRange(r.birthDate)
			return ok && dateMatches("lt1950", lo, hi)
		})
	}, false},
	{"date Observation ge", "Observation?date=ge2019", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool {
			lo, hi, ok := fhirRange(r.effective)
			return ok && dateMatches("ge2019", lo, hi)
		})
	}, false},
	{"date Encounter period eq", "Encounter?date=2019-06", func(f *synFacts, _ int) int {
		return f.count("Encounter", func(_ int, r *synRes) bool {
			lo, hi, ok := periodRange(r.start, r.end)
			return r.hasPeriod && ok && dateMatches("2019-06", lo, hi)
		})
	}, false},
	{"date Encounter period ge and lt", "Encounter?date=ge2019-06-01&date=lt2019-07-01", func(f *synFacts, _ int) int {
		return f.count("Encounter", func(_ int, r *synRes) bool {
			lo, hi, ok := periodRange(r.start, r.end)
			return r.hasPeriod && ok && dateMatches("ge2019-06-01", lo, hi) && dateMatches("lt2019-07-01", lo, hi)
		})
	}, false},
	{"reference", "Observation?subject=Patient/{patient}", func(f *synFacts, p int) int {
		return f.count("Observation", func(i int, r *synRes) bool { return f.resolve(i, r.subject) == p })
	}, false},
	{"quantity UCUM mass concentration", "Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool { return ratGt(quantityIn(r, ucumMassConc), "100") })
	}, true},
	{"quantity UCUM substance concentration", "Observation?value-quantity=ge5.5|http://unitsofmeasure.org|mmol/L", func(f *synFacts, _ int) int {
		return f.count("Observation", func(_ int, r *synRes) bool { return ratGe(quantityIn(r, ucumSubstConc), "5.5") })
	}, false},
	{"chain", "Observation?subject:Patient.gender=female", func(f *synFacts, _ int) int {
		return f.count("Observation", func(i int, r *synRes) bool {
			j := f.resolve(i, r.subject)
			return j >= 0 && f.res[j].typ == "Patient" && f.res[j].gender == "female"
		})
	}, false},
	{"_has", "Patient?_has:Condition:subject:code=444814009", func(f *synFacts, _ int) int {
		with := map[int]bool{}
		f.count("Condition", func(i int, r *synRes) bool {
			if j := f.resolve(i, r.subject); j >= 0 && hasCoding([]synConcept{r.code}, "", "444814009") {
				with[j] = true
			}
			return false
		})
		return f.count("Patient", func(i int, _ *synRes) bool { return with[i] })
	}, false},
	{"compartment", "Patient/{patient}/Observation", func(f *synFacts, p int) int {
		// The Patient compartment's Observation parameters: subject, performer.
		return f.count("Observation", func(i int, r *synRes) bool {
			return f.resolve(i, r.subject) == p || slices.ContainsFunc(r.performer, func(ref string) bool { return f.resolve(i, ref) == p })
		})
	}, false},
	{"compartment and token", "Patient/{patient}/Observation?code={code}", func(f *synFacts, p int) int {
		sys, code, _ := strings.Cut(f.topCode(p), "|")
		return f.count("Observation", func(i int, r *synRes) bool {
			return f.resolve(i, r.subject) == p && hasCoding([]synConcept{r.code}, sys, code)
		})
	}, false},
}

// syntheaPatientID finds the server's id of raw Patient p by its Synthea
// identifier.
func syntheaPatientID(t *testing.T, c *client, f *synFacts, p int) string {
	t.Helper()
	r := c.must(http.StatusOK, "GET", "/Patient?identifier="+syntheaIDSystem+"|"+f.res[p].syntheaID, "")
	ids := entries(r, "match")
	if len(ids) != 1 {
		t.Fatalf("Patient with Synthea id %s: matches %v, want one", f.res[p].syntheaID, ids)
	}
	return strings.TrimPrefix(ids[0], "Patient/")
}

// checkSyntheaSearches runs every check on c, which holds both sets.
func checkSyntheaSearches(t *testing.T, c *client) {
	start := time.Now()
	f, err := syntheaFacts()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d raw resources in %d bundles in %v", len(f.res), len(f.bundles), time.Since(start).Round(time.Millisecond))
	p, members := f.heaviestPatient()
	pid := syntheaPatientID(t, c, f, p)
	t.Logf("the Patient with the largest compartment: %s (%d members), here Patient/%s", f.res[p].fullURL, members, pid)

	for _, ck := range syntheaSearchChecks {
		t.Run(ck.name, func(t *testing.T) {
			c := c.with(t)
			q := strings.NewReplacer("{patient}", pid, "{code}", f.topCode(p)).Replace(ck.query)
			want := ck.want(f, p)
			sep := "?"
			if strings.Contains(q, "?") {
				sep = "&"
			}
			began := time.Now()
			r := c.must(http.StatusOK, "GET", "/"+q+sep+"_summary=count", "")
			got, err := strconv.Atoi(str(r.Body, "total"))
			if err != nil {
				t.Fatalf("GET %s&_summary=count: no total: %s", q, r.Raw)
			}
			took := time.Since(began)
			if got != want {
				t.Errorf("GET %s: count %d, want %d", q, got, want)
			}
			t.Logf("%-40s %-75s count %6d, want %6d (%v)", ck.name, q, got, want, took.Round(time.Millisecond))
			if ck.page {
				checkPages(t, c, "/"+q+sep+"_count=500", got)
			}
		})
	}
	t.Logf("%d searches checked in %v", len(syntheaSearchChecks), time.Since(start).Round(time.Millisecond))
}

// checkPages follows next links from the first page of path, checking
// that every page holds at most 500 matches and that together they are
// count distinct resources.
func checkPages(t *testing.T, c *client, path string, count int) {
	t.Helper()
	seen := map[string]bool{}
	pages, dups, total := 0, 0, 0
	for path != "" {
		r := c.must(http.StatusOK, "GET", path, "")
		m := entries(r, "match")
		if len(m) > 500 {
			t.Fatalf("page %d of %s holds %d matches", pages+1, path, len(m))
		}
		for _, k := range m {
			if seen[k] {
				dups++
			}
			seen[k] = true
		}
		total += len(m)
		pages++
		path = link(c, r, "next")
		if pages > count/500+2 {
			t.Fatalf("more pages than %d matches need: %d", count, pages)
		}
	}
	if dups > 0 || len(seen) != count {
		t.Errorf("paging: %d matches (%d distinct, %d repeated) on %d pages, count %d", total, len(seen), dups, pages, count)
	}
	t.Logf("paged: %d distinct matches on %d pages", len(seen), pages)
}
