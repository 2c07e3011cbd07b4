package rest_test

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sharedcare/sharedcare/internal/store/sqlbuild"
)

// loadFixture stores testdata/search_fixture.json: three Patients, their
// Observations, an Encounter, a Condition, Organizations, a List and
// ValueSets with fixed ids, chosen so each parameter type, prefix and
// modifier below has matches and near misses.
func loadFixture(t *testing.T, c *client) {
	t.Helper()
	b, err := os.ReadFile("testdata/search_fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusOK, "POST", "", string(b))
}

// matches returns "Type/id" of the entries of a searchset with the given
// search mode, in Bundle order.
func entries(r *response, mode string) []string {
	var out []string
	es, _ := get(r.Body, "entry").([]any)
	for _, e := range es {
		if str(e, "search", "mode") == mode {
			out = append(out, str(e, "resource", "resourceType")+"/"+str(e, "resource", "id"))
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Every search runs under each plan the planner could choose: the
// walk of the resource table, and each condition as the driver.
var searchPlans = []struct {
	name     string
	override func(cands []int, chosen sqlbuild.Plan) sqlbuild.Plan
}{
	{"chosen", nil},
	{"scan", func([]int, sqlbuild.Plan) sqlbuild.Plan { return sqlbuild.Plan{Driver: sqlbuild.DriveScan} }},
	{"first", func(cands []int, p sqlbuild.Plan) sqlbuild.Plan {
		if len(cands) > 0 {
			p.Driver = cands[0]
		}
		return p
	}},
	{"last", func(cands []int, p sqlbuild.Plan) sqlbuild.Plan {
		if len(cands) > 0 {
			p.Driver = cands[len(cands)-1]
		}
		return p
	}},
}

func TestSearchParameters(t *testing.T) {
	tests := []struct {
		query string
		want  []string // matches, in any order
	}{
		// string: starts-with, case- and accent-insensitive; :exact; :contains
		{"Patient?family=smith", []string{"Patient/p1", "Patient/p2"}},
		{"Patient?family=SMI", []string{"Patient/p1", "Patient/p2"}},
		{"Patient?family:exact=Smith", []string{"Patient/p1"}},
		{"Patient?family:exact=smith", nil},
		{"Patient?family:contains=MIT", []string{"Patient/p1", "Patient/p2"}},
		{"Patient?name=jane", []string{"Patient/p2"}},
		{"Patient?address-city=sheff", []string{"Patient/p1"}},
		{"Patient?family=smith&gender=female", []string{"Patient/p2"}},
		{"Patient?family=jones,smith", []string{"Patient/p1", "Patient/p2", "Patient/p3"}},
		// token: system|code, code, |code, system|, :not, :text, :of-type, booleans
		{"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", []string{"Patient/p1"}},
		{"Patient?identifier=9990000026", []string{"Patient/p2"}},
		{"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|", []string{"Patient/p1", "Patient/p2"}},
		{"Patient?identifier=|9990000026", nil},
		{"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MRN123", []string{"Patient/p2"}},
		{"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|9990000026", nil},
		{"Patient?gender=female", []string{"Patient/p2", "Patient/p3"}},
		{"Patient?gender:not=female", []string{"Patient/p1"}},
		{"Patient?active=true", []string{"Patient/p1"}},
		{"Observation?code=http://loinc.org|8480-6", []string{"Observation/ob1", "Observation/ob2"}},
		{"Observation?code=http://snomed.info/sct|8480-6", nil},
		{"Observation?code=8480-6,29463-7", []string{"Observation/ob1", "Observation/ob2", "Observation/ob3", "Observation/ob4"}},
		{"Observation?code:in=http://example.org/fhir/ValueSet/bp", []string{"Observation/ob1", "Observation/ob2"}},
		{"Observation?code:not-in=http://example.org/fhir/ValueSet/bp", []string{"Observation/ob3", "Observation/ob4", "Observation/ob5"}},
		{"Observation?code:text=systolic", []string{"Observation/ob5"}},
		{"Observation?code:text=blood%20pres", []string{"Observation/ob5"}},
		{"Observation?status=final&code=29463-7", []string{"Observation/ob3", "Observation/ob4"}},
		{"Observation?status:not=final", []string{"Observation/ob2", "Observation/ob5"}},
		{"Observation?category=vital-signs", []string{"Observation/ob1"}},
		{"Patient?_tag=http://example.org/tag|vip", []string{"Patient/p3"}},
		{"Patient?_profile=http://example.org/profile/Patient", []string{"Patient/p3"}},
		{"Patient?_security=R", []string{"Patient/p3"}},
		{"Patient?_source=http://example.org/source", []string{"Patient/p3"}},
		// :missing
		{"Organization?address:missing=true", []string{"Organization/o2"}},
		{"Organization?address:missing=false", []string{"Organization/o1"}},
		{"Observation?value-quantity:missing=true", []string{"Observation/ob5"}},
		{"Observation?date:missing=true", []string{"Observation/ob5"}},
		// date prefixes against year, day and second precision, and periods
		{"Patient?birthdate=1940", []string{"Patient/p1"}},
		{"Patient?birthdate=lt1950", []string{"Patient/p1"}},
		{"Patient?birthdate=ge1955", []string{"Patient/p2", "Patient/p3"}},
		{"Patient?birthdate=gt1955", []string{"Patient/p2"}},
		{"Patient?birthdate=le1955", []string{"Patient/p1", "Patient/p3"}},
		{"Patient?birthdate=ne1940", []string{"Patient/p2", "Patient/p3"}},
		{"Patient?birthdate=sa1950", []string{"Patient/p2", "Patient/p3"}},
		{"Patient?birthdate=eb1950", []string{"Patient/p1"}},
		{"Patient?birthdate=1955-06", nil},
		{"Patient?birthdate=ap1975-12-20", []string{"Patient/p2"}},
		{"Patient?birthdate=ge1950&birthdate=lt1960", []string{"Patient/p3"}},
		{"Observation?date=2024", []string{"Observation/ob1", "Observation/ob2", "Observation/ob4"}},
		{"Observation?date=ge2024-03-01", []string{"Observation/ob2", "Observation/ob4"}},
		{"Observation?date=lt2024-01-10T10:00:00Z", []string{"Observation/ob3"}},
		{"Observation?date=2024-01-10T10:00:00Z", []string{"Observation/ob1"}},
		{"Observation?date=2024-01-10T11:00:00%2B01:00", []string{"Observation/ob1"}},
		{"Encounter?date=2024-01-11", nil},
		{"Encounter?date=ge2024-01-11", []string{"Encounter/e1"}},
		{"Encounter?date=lt2024-01-11", []string{"Encounter/e1"}},
		{"Encounter?date=2024-01", []string{"Encounter/e1"}},
		{"Encounter?date=sa2024-01-12", nil},
		{"Encounter?date=sa2024-01-09", []string{"Encounter/e1"}},
		{"Patient?_lastUpdated=gt2000-01-01", []string{"Patient/p1", "Patient/p2", "Patient/p3"}},
		{"Patient?_lastUpdated=lt2000-01-01", nil},
		// number
		{"RiskAssessment?probability=0.25", []string{"RiskAssessment/ra1"}},
		{"RiskAssessment?probability=0.2", nil},
		{"RiskAssessment?probability=gt0.3", nil},
		{"RiskAssessment?probability=lt0.3", []string{"RiskAssessment/ra1"}},
		{"RiskAssessment?probability=ap0.24", []string{"RiskAssessment/ra1"}},
		{"RiskAssessment?probability=ne0.25", nil},
		{"RiskAssessment?probability=ge0.25", []string{"RiskAssessment/ra1"}},
		{"RiskAssessment?probability=le0.24", nil},
		{"RiskAssessment?probability=sa0.2", []string{"RiskAssessment/ra1"}},
		{"RiskAssessment?probability=eb0.2", nil},
		// quantity, with UCUM conversion between g and kg
		{"Observation?value-quantity=120", []string{"Observation/ob1"}},
		{"Observation?value-quantity=gt130", []string{"Observation/ob2", "Observation/ob4"}},
		{"Observation?value-quantity=gt130|http://unitsofmeasure.org|mm[Hg]", []string{"Observation/ob2"}},
		{"Observation?value-quantity=70|http://unitsofmeasure.org|kg", []string{"Observation/ob3"}},
		{"Observation?value-quantity=70.5|http://unitsofmeasure.org|kg", []string{"Observation/ob4"}},
		{"Observation?value-quantity=70500||g", []string{"Observation/ob4"}},
		{"Observation?value-quantity=le120||mm[Hg]", []string{"Observation/ob1"}},
		{"Observation?value-quantity=ne120||mm[Hg]", []string{"Observation/ob2"}},
		{"Observation?value-quantity=ap140||mm[Hg]", []string{"Observation/ob2"}},
		{"Observation?value-quantity=ge70||kg", []string{"Observation/ob3", "Observation/ob4"}},
		{"Observation?value-quantity=lt71000||g", []string{"Observation/ob3", "Observation/ob4"}},
		{"Observation?value-quantity=eb100,sa149", []string{"Observation/ob2", "Observation/ob3", "Observation/ob4"}},
		// reference: Type/id, id, :Type, :identifier, :missing
		{"Observation?subject=Patient/p1", []string{"Observation/ob1", "Observation/ob2"}},
		{"Observation?subject=p2", []string{"Observation/ob3", "Observation/ob4"}},
		{"Observation?patient=p1", []string{"Observation/ob1", "Observation/ob2"}},
		{"Observation?subject:Patient=p3", []string{"Observation/ob5"}},
		{"Observation?subject:Group=p3", nil},
		{"Observation?performer:identifier=https://fhir.nhs.uk/Id/sds-user-id|123456", []string{"Observation/ob1"}},
		{"Observation?encounter:missing=false", []string{"Observation/ob1"}},
		{"Patient?organization=Organization/o1", []string{"Patient/p1"}},
		// uri: exact, :below, :above
		{"ValueSet?url=http://example.org/fhir/ValueSet/abc", []string{"ValueSet/vs1"}},
		{"ValueSet?url:below=http://example.org/fhir/ValueSet/abc", []string{"ValueSet/vs1", "ValueSet/vs2"}},
		{"ValueSet?url:above=http://example.org/fhir/ValueSet/abc/def/ghi", []string{"ValueSet/vs1", "ValueSet/vs2"}},
		// composite
		{"Observation?code-value-quantity=http://loinc.org|8480-6$gt130", []string{"Observation/ob2"}},
		{"Observation?code-value-quantity=8480-6$120", []string{"Observation/ob1"}},
		{"Observation?code-value-quantity=8480-6$70", nil},
		// chains, one and two levels, typed and untyped
		{"Observation?subject:Patient.family=smith", []string{"Observation/ob1", "Observation/ob2", "Observation/ob3", "Observation/ob4"}},
		{"Observation?subject.family=jones", []string{"Observation/ob5"}},
		{"Observation?patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", []string{"Observation/ob1", "Observation/ob2"}},
		{"Observation?subject:Patient.organization.name=leeds", []string{"Observation/ob1", "Observation/ob2"}},
		{"Patient?organization.partof.name=leeds", []string{"Patient/p2"}},
		{"Observation?encounter.service-provider.identifier=RR8", []string{"Observation/ob1"}},
		// reverse chains, nested
		{"Patient?_has:Observation:patient:code=29463-7", []string{"Patient/p2"}},
		{"Patient?_has:Observation:subject:status=preliminary", []string{"Patient/p3"}},
		{"Patient?_has:Observation:patient:_has:List:item:_id=l1", []string{"Patient/p1", "Patient/p2"}},
		{"Organization?_has:Patient:organization:gender=male", []string{"Organization/o1"}},
		// _id, _list
		{"Patient?_id=p1,p3", []string{"Patient/p1", "Patient/p3"}},
		{"Observation?_list=l1", []string{"Observation/ob1", "Observation/ob3"}},
		// compartment and system searches
		{"Patient/p1/Observation", []string{"Observation/ob1", "Observation/ob2"}},
		{"Patient/p1/Observation?code=8480-6&value-quantity=gt130", []string{"Observation/ob2"}},
		{"Patient/p1/*", []string{"Condition/c1", "Encounter/e1", "Observation/ob1", "Observation/ob2", "Patient/p1", "RiskAssessment/ra1"}},
		{"Patient/p3/Condition", nil},
		{"?_type=Patient,Organization&_id=p1,o1", []string{"Organization/o1", "Patient/p1"}},
		{"?_type=Observation,Condition&patient=p1", []string{"Condition/c1", "Observation/ob1", "Observation/ob2"}},
		{"?_id=p2", []string{"Patient/p2"}},
		// free text
		{"Patient?_text=complex", []string{"Patient/p3"}},
		{"Patient?_content=sheffield", []string{"Patient/p1"}},
	}
	t.Cleanup(func() { sqlbuild.PlanOverride = nil })
	forEachBackend(t, func(t *testing.T, c *client) {
		loadFixture(t, c)
		for _, tc := range tests {
			t.Run(tc.query, func(t *testing.T) {
				c := c.with(t)
				for _, p := range searchPlans[1:] {
					sqlbuild.PlanOverride = p.override
					r := c.must(http.StatusOK, "GET", "/"+tc.query, "")
					if got := sorted(entries(r, "match")); !slices.Equal(got, sorted(tc.want)) {
						t.Errorf("plan %s: GET %s: matches %v, want %v", p.name, tc.query, got, tc.want)
					}
				}
				sqlbuild.PlanOverride = nil
				r := c.must(http.StatusOK, "GET", "/"+tc.query, "")
				if got := sorted(entries(r, "match")); !slices.Equal(got, sorted(tc.want)) {
					t.Errorf("GET %s: matches %v, want %v", tc.query, got, tc.want)
				}
				if n, ok := get(r.Body, "total").(interface{ String() string }); ok && n.String() != strconv.Itoa(len(tc.want)) {
					t.Errorf("total %s, want %d", n, len(tc.want))
				}
				// the same search as POST _search, where there is a type
				if typ, q, ok := strings.Cut(tc.query, "?"); ok && typ != "" && !strings.Contains(typ, "/") {
					r := c.must(http.StatusOK, "POST", "/"+typ+"/_search", q, "Content-Type", "application/x-www-form-urlencoded")
					if got := sorted(entries(r, "match")); !slices.Equal(got, sorted(tc.want)) {
						t.Errorf("POST %s/_search %s: matches %v, want %v", typ, q, got, tc.want)
					}
				}
			})
		}
	})
}

func TestSearchSortAndInclude(t *testing.T) {
	tests := []struct {
		query    string
		matches  []string // in order
		included []string // any order
	}{
		{"Patient?_sort=birthdate", []string{"Patient/p1", "Patient/p3", "Patient/p2"}, nil},
		{"Patient?_sort=-birthdate", []string{"Patient/p2", "Patient/p3", "Patient/p1"}, nil},
		{"Patient?_sort=family,given", []string{"Patient/p3", "Patient/p2", "Patient/p1"}, nil},
		{"Observation?subject=p1&_sort=-date", []string{"Observation/ob2", "Observation/ob1"}, nil},
		{"Observation?_sort=date", []string{"Observation/ob3", "Observation/ob1", "Observation/ob2", "Observation/ob4", "Observation/ob5"}, nil},
		{"Observation?_sort=-date", []string{"Observation/ob4", "Observation/ob2", "Observation/ob1", "Observation/ob3", "Observation/ob5"}, nil},
		{"Observation?code=29463-7,8480-6&_sort=value-quantity", []string{"Observation/ob3", "Observation/ob1", "Observation/ob2", "Observation/ob4"}, nil},
		{"Observation?_sort=status,-date", []string{"Observation/ob2", "Observation/ob4", "Observation/ob1", "Observation/ob3", "Observation/ob5"}, nil},
		{"Patient?_sort=_id", []string{"Patient/p1", "Patient/p2", "Patient/p3"}, nil},
		{"Observation?_id=ob1&_include=Observation:subject", []string{"Observation/ob1"}, []string{"Patient/p1"}},
		{"Observation?_id=ob1&_include=Observation:*", []string{"Observation/ob1"}, []string{"Encounter/e1", "Patient/p1", "Practitioner/pr1"}},
		{"Observation?_id=ob1&_include=Observation:subject:Group", []string{"Observation/ob1"}, nil},
		{"Patient?_id=p1&_revinclude=Observation:subject", []string{"Patient/p1"}, []string{"Observation/ob1", "Observation/ob2"}},
		{"Patient?_id=p2&_include=Patient:organization&_include:iterate=Organization:partof", []string{"Patient/p2"}, []string{"Organization/o1", "Organization/o2"}},
		{"Patient?_id=p2&_include=Patient:organization", []string{"Patient/p2"}, []string{"Organization/o2"}},
		{"Observation?_id=ob1&_include=Observation:subject&_revinclude:iterate=Condition:subject", []string{"Observation/ob1"}, []string{"Condition/c1", "Patient/p1"}},
		{"Encounter?_revinclude=Observation:*", []string{"Encounter/e1"}, []string{"Observation/ob1"}},
		{"Encounter?_revinclude=Observation:encounter&_revinclude=Condition:encounter", []string{"Encounter/e1"}, []string{"Condition/c1", "Observation/ob1"}},
	}
	t.Cleanup(func() { sqlbuild.PlanOverride = nil })
	forEachBackend(t, func(t *testing.T, c *client) {
		loadFixture(t, c)
		for _, tc := range tests {
			t.Run(tc.query, func(t *testing.T) {
				c := c.with(t)
				for _, p := range searchPlans[1:] {
					sqlbuild.PlanOverride = p.override
					r := c.must(http.StatusOK, "GET", "/"+tc.query, "")
					if got := entries(r, "match"); !slices.Equal(got, tc.matches) {
						t.Errorf("plan %s: matches %v, want %v", p.name, got, tc.matches)
					}
					if got := sorted(entries(r, "include")); !slices.Equal(got, sorted(tc.included)) {
						t.Errorf("plan %s: included %v, want %v", p.name, got, tc.included)
					}
				}
				sqlbuild.PlanOverride = nil
				r := c.must(http.StatusOK, "GET", "/"+tc.query, "")
				if got := entries(r, "match"); !slices.Equal(got, tc.matches) {
					t.Errorf("matches %v, want %v", got, tc.matches)
				}
				if got := sorted(entries(r, "include")); !slices.Equal(got, sorted(tc.included)) {
					t.Errorf("included %v, want %v", got, tc.included)
				}
			})
		}
	})
}

// link returns the URL of a Bundle link, relative to the client's base.
func link(c *client, r *response, rel string) string {
	ls, _ := get(r.Body, "link").([]any)
	for _, l := range ls {
		if str(l, "relation") == rel {
			return strings.TrimPrefix(str(l, "url"), c.base)
		}
	}
	return ""
}

func TestSearchPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		loadFixture(t, c)
		// Sorted pages forward, a write that sorts first in between, then
		// back again.
		p1 := c.must(http.StatusOK, "GET", "/Observation?_count=2&_sort=-date", "")
		if got := entries(p1, "match"); !slices.Equal(got, []string{"Observation/ob4", "Observation/ob2"}) {
			t.Fatalf("page 1: %v", got)
		}
		if get(p1.Body, "total") != nil {
			t.Errorf("total on a partial first page without _total: %v", get(p1.Body, "total"))
		}
		if link(c, p1, "previous") != "" {
			t.Errorf("first page has a previous link")
		}
		c.must(http.StatusCreated, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2025-01-01"}`)
		next := link(c, p1, "next")
		p2 := c.must(http.StatusOK, "GET", next, "")
		if got := entries(p2, "match"); !slices.Equal(got, []string{"Observation/ob1", "Observation/ob3"}) {
			t.Fatalf("page 2 after a write: %v", got)
		}
		p3 := c.must(http.StatusOK, "GET", link(c, p2, "next"), "")
		if got := entries(p3, "match"); !slices.Equal(got, []string{"Observation/ob5"}) {
			t.Fatalf("page 3: %v", got)
		}
		if link(c, p3, "next") != "" {
			t.Errorf("last page has a next link")
		}
		back := c.must(http.StatusOK, "GET", link(c, p3, "previous"), "")
		if got := entries(back, "match"); !slices.Equal(got, []string{"Observation/ob1", "Observation/ob3"}) {
			t.Fatalf("previous of page 3: %v", got)
		}
		back = c.must(http.StatusOK, "GET", link(c, back, "previous"), "")
		if got := entries(back, "match"); !slices.Equal(got, []string{"Observation/ob4", "Observation/ob2"}) {
			t.Fatalf("previous of page 2: %v", got)
		}
		// The new Observation is on a new first page going back.
		back = c.must(http.StatusOK, "GET", link(c, back, "previous"), "")
		if got := entries(back, "match"); len(got) != 1 {
			t.Fatalf("previous of page 1: %v", got)
		}

		// Unsorted paging visits every match once.
		var seen []string
		path := "/Observation?_count=2"
		for path != "" {
			r := c.must(http.StatusOK, "GET", path, "")
			seen = append(seen, entries(r, "match")...)
			path = link(c, r, "next")
		}
		if len(seen) != 6 || len(slices.Compact(sorted(seen))) != 6 {
			t.Errorf("unsorted pages: %v", seen)
		}
		// The same with one condition (its ids cut to the page in the
		// index), forward and back.
		seen = nil
		path = "/Observation?status=final,amended,preliminary&_count=2"
		var last *response
		for path != "" {
			last = c.must(http.StatusOK, "GET", path, "")
			seen = append(seen, entries(last, "match")...)
			path = link(c, last, "next")
		}
		if len(seen) != 6 || len(slices.Compact(sorted(seen))) != 6 || !slices.IsSorted(seen) {
			t.Errorf("pages of one condition: %v", seen)
		}
		back = c.must(http.StatusOK, "GET", link(c, last, "previous"), "")
		if got := entries(back, "match"); !slices.Equal(got, seen[2:4]) {
			t.Errorf("previous page of one condition: %v, want %v", got, seen[2:4])
		}

		// Totals.
		r := c.must(http.StatusOK, "GET", "/Observation?_total=accurate&_count=1", "")
		if str(r.Body, "total") != "6" {
			t.Errorf("_total=accurate: %v", get(r.Body, "total"))
		}
		r = c.must(http.StatusOK, "GET", "/Observation?code=8480-6&_summary=count", "")
		if str(r.Body, "total") != "2" || get(r.Body, "entry") != nil {
			t.Errorf("_summary=count: %s", r.Raw)
		}
		r = c.must(http.StatusOK, "GET", "/Observation?_total=none", "")
		if get(r.Body, "total") != nil {
			t.Errorf("_total=none gave a total")
		}
		// A cursor from another search is refused.
		r = c.do("GET", "/Patient?_sort=birthdate&_page="+url.QueryEscape(strings.TrimPrefix(next, "")), "")
		if r.Status != http.StatusBadRequest {
			t.Errorf("foreign cursor: status %d", r.Status)
		}
	})
}

func TestSearchChangesAndShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		loadFixture(t, c)
		// Old values of an updated resource and deleted resources do not match.
		c.must(http.StatusOK, "PUT", "/Patient/p3", `{"resourceType":"Patient","id":"p3","name":[{"family":"Brown"}],"gender":"female"}`)
		if got := entries(c.must(http.StatusOK, "GET", "/Patient?family=jones", ""), "match"); len(got) != 0 {
			t.Errorf("old value still matches: %v", got)
		}
		if got := entries(c.must(http.StatusOK, "GET", "/Patient?family=brown", ""), "match"); !slices.Equal(got, []string{"Patient/p3"}) {
			t.Errorf("new value: %v", got)
		}
		c.must(http.StatusNoContent, "DELETE", "/Observation/ob5", "")
		if got := entries(c.must(http.StatusOK, "GET", "/Observation?status=preliminary", ""), "match"); len(got) != 0 {
			t.Errorf("deleted resource matches: %v", got)
		}
		if got := entries(c.must(http.StatusOK, "GET", "/Observation?status:not=final", ""), "match"); !slices.Equal(got, []string{"Observation/ob2"}) {
			t.Errorf(":not includes a deleted resource: %v", got)
		}
		// _elements and _summary shape the matches.
		r := c.must(http.StatusOK, "GET", "/Patient?_id=p1&_elements=gender", "")
		res := get(r.Body, "entry", 0, "resource")
		if str(res, "gender") != "male" || get(res, "name") != nil || str(res, "meta", "tag", 0, "code") != "SUBSETTED" {
			t.Errorf("_elements: %v", res)
		}
		// Lenient handling drops unknown parameters and says so; strict
		// refuses them.
		r = c.must(http.StatusOK, "GET", "/Patient?foo=bar&gender=male", "")
		if got := entries(r, "match"); !slices.Equal(got, []string{"Patient/p1"}) {
			t.Errorf("lenient: %v", got)
		}
		if self := link(c, r, "self"); strings.Contains(self, "foo") || !strings.Contains(self, "gender=male") {
			t.Errorf("self link %q", self)
		}
		if len(entries(r, "outcome")) != 1 {
			t.Errorf("no outcome entry for the ignored parameter: %s", r.Raw)
		}
		c.outcome(c.do("GET", "/Patient?foo=bar", "", "Prefer", "handling=strict"), http.StatusBadRequest)
		// $everything: the compartment and what it refers to, nobody else's.
		r = c.must(http.StatusOK, "GET", "/Patient/p1/$everything", "")
		if first := entries(r, "match")[0]; first != "Patient/p1" {
			t.Errorf("$everything starts with %s, not the Patient", first)
		}
		if got, want := sorted(entries(r, "match")), []string{"Condition/c1", "Encounter/e1", "Observation/ob1", "Observation/ob2", "Patient/p1", "RiskAssessment/ra1"}; !slices.Equal(got, want) {
			t.Errorf("$everything matches %v, want %v", got, want)
		}
		if got, want := sorted(entries(r, "include")), []string{"Organization/o1", "Practitioner/pr1"}; !slices.Equal(got, want) {
			t.Errorf("$everything included %v, want %v", got, want)
		}
		r = c.must(http.StatusOK, "GET", "/Patient/p1/$everything?_type=Observation", "")
		if got := sorted(entries(r, "match")); !slices.Equal(got, []string{"Observation/ob1", "Observation/ob2"}) {
			t.Errorf("$everything?_type: %v", got)
		}
		r = c.must(http.StatusOK, "GET", "/Patient/p1/$everything?start=2024-01-01&end=2024-02", "")
		if got, want := sorted(entries(r, "match")), []string{"Encounter/e1", "Observation/ob1", "Patient/p1", "RiskAssessment/ra1"}; !slices.Equal(got, want) {
			t.Errorf("$everything start/end: %v, want %v", got, want)
		}
		// Paged one by one, its links repeat the operation's own parameters,
		// so every page is the same operation's.
		for _, q := range []string{"start=2024-01-01&end=2024-02", "_since=2000-01-01T00:00:00Z&_type=Observation,Encounter,Patient"} {
			var all []string
			path := "/Patient/p1/$everything?_count=1&" + q
			for n := 0; path != "" && n < 20; n++ {
				r = c.must(http.StatusOK, "GET", path, "")
				all = append(all, entries(r, "match")...)
				if self := link(c, r, "self"); !strings.Contains(self, "$everything?") || strings.Contains(self, "_lastUpdated") {
					t.Errorf("$everything?%s: self link %q", q, self)
				}
				path = link(c, r, "next")
			}
			want := []string{"Encounter/e1", "Observation/ob1", "Patient/p1", "RiskAssessment/ra1"}
			if strings.HasPrefix(q, "_since") {
				want = []string{"Encounter/e1", "Observation/ob1", "Observation/ob2", "Patient/p1"}
			}
			if got := sorted(all); !slices.Equal(got, want) {
				t.Errorf("$everything?%s paged by one: %v, want %v", q, got, want)
			}
		}
		c.outcome(c.do("GET", "/Patient/nobody/$everything", ""), http.StatusNotFound)
		c.outcome(c.do("GET", "/Patient/p1/$everything?start=yesterday", ""), http.StatusBadRequest)
	})
}

func TestSearchBadInput(t *testing.T) {
	long := strings.Repeat("x,", 10000) + "x"
	tests := []struct {
		query string
		param string // named in the OperationOutcome
	}{
		{"Patient?birthdate=notadate", "birthdate"},
		{"Patient?birthdate=xx2020", "birthdate"},
		{"Patient?_count=-1", "_count"},
		{"Observation?code:foo=x", "code:foo"},
		{"Patient?gender.name=x", "gender.name"},
		{"Patient?family=" + long, "family"},
		{"Observation?code:in=http://example.org/vs", "code:in"},
		{"Observation?code:below=http://snomed.info/sct|123", "code:below"},
		{"Observation?value-quantity=abc", "value-quantity"},
		{"Patient?_sort=_text", "_sort"},
		{"Patient?_page=bogus", "_page"},
		{"Patient?_include=Observation", "_include"},
		{"Patient/p1/Organization", "Organization"},
	}
	forEachBackend(t, func(t *testing.T, c *client) {
		for _, tc := range tests {
			name := tc.query
			if len(name) > 60 {
				name = name[:60]
			}
			t.Run(name, func(t *testing.T) {
				c := c.with(t)
				r := c.do("GET", "/"+tc.query, "")
				c.outcome(r, http.StatusBadRequest)
				if !strings.Contains(string(r.Raw), tc.param) {
					t.Errorf("outcome does not name %q: %s", tc.param, r.Raw)
				}
			})
		}
	})
}
