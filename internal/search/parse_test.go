package search

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		rt, q string
		opts  Options
		param string // the parameter the error must name; "" for none
		msg   string // a substring of the message
	}{
		{"Patient", "birthdate=lt19x0", Options{}, "birthdate", "not a valid date"},
		{"Patient", "birthdate=2024-13", Options{}, "birthdate", "not a valid date"},
		{"Patient", "birthdate=2023-02-29", Options{}, "birthdate", "not a valid date"},
		{"Patient", "birthdate=0000", Options{}, "birthdate", "not a valid date"},
		{"Observation", "date=2024-01-01T25:00Z", Options{}, "date", "not a valid date"},
		{"Observation", "date=2024-01-01T10:00%2B15:00", Options{}, "date", "not a valid date"},
		{"Observation", "date=2024-01-01Z", Options{}, "date", "not a valid date"},
		{"Patient", "birthdate=xx2024", Options{}, "birthdate", "unknown prefix"},
		{"Patient", "birthdate=gt", Options{}, "birthdate", "not a valid date"},
		{"RiskAssessment", "probability=1.2.3", Options{}, "probability", "not a valid number"},
		{"RiskAssessment", "probability=1e99999", Options{}, "probability", "not a valid number"},
		{"RiskAssessment", "probability=01", Options{}, "probability", "not a valid number"},
		{"Observation", "value-quantity=5|mg", Options{}, "value-quantity", "not a valid quantity"},
		{"Observation", "value-quantity=1x||mg", Options{}, "value-quantity", "not a number"},
		{"Patient", "name:foo=x", Options{}, "name:foo", "unknown modifier :foo"},
		{"Patient", "gender:exact=x", Options{}, "gender:exact", "unknown modifier :exact"},
		{"Patient", "name:not=x", Options{}, "name:not", "unknown modifier"},
		{"Patient", "birthdate:exact=2024", Options{}, "birthdate:exact", "unknown modifier"},
		{"Patient", "_text:exact=x", Options{}, "_text:exact", "unknown modifier"},
		{"Patient", "name:exact:x=x", Options{}, "name:exact:x", "unknown modifier"},
		{"Patient", "gender:of-type=a|b|c", Options{}, "gender:of-type", "identifier parameters only"},
		{"Patient", "identifier:of-type=a|b", Options{}, "identifier:of-type", "system|code|value"},
		{"Patient", "gender:missing=yes", Options{}, "gender:missing", "true or false"},
		// prefixes: where the type takes none the value must be what it is
		{"Patient", "gender:missing=gttrue", Options{}, "gender:missing", "true or false"},
		{"Patient", "_count=gt5", Options{}, "_count", "non-negative integer"},
		{"Patient", "identifier=a|b|c", Options{}, "identifier", "not a valid token"},
		{"Patient", "identifier=|", Options{}, "identifier", "not a valid token"},
		{"Patient", "gender=a,,b", Options{}, "gender", "empty value"},
		{"Patient", "name.family=x", Options{}, "name.family", "not a reference, and cannot be chained"},
		{"Observation", "subject:missing.name=x", Options{}, "subject:missing.name", "resource type modifier"},
		{"Observation", "subject:Medication.code=x", Options{}, "subject:Medication.code", "cannot refer to Medication"},
		{"Observation", "subject:Patient.nope=x", Options{}, "subject:Patient.nope", `Patient has no search parameter "nope"`},
		{"Observation", "subject.nope=x", Options{}, "subject.nope", "no target type of subject"},
		{"Observation", "subject.=x", Options{}, "subject.", "nothing after"},
		{"Observation", "subject:Patient.name:foo=x", Options{}, "subject:Patient.name:foo", "unknown modifier"},
		{"Observation", "subject:Patient.birthdate=x", Options{}, "subject:Patient.birthdate", "not a valid date"},
		{"Observation", "subject:above=Patient/1", Options{}, "subject:above", "not supported"},
		{"Observation", "subject:below=Patient/1", Options{}, "subject:below", "not supported"},
		{"Observation", "subject=Medication/1", Options{}, "subject", "cannot refer to Medication"},
		{"Observation", "subject=Patient/a%20b", Options{}, "subject", "bad id"},
		{"Observation", "subject=Foo/1", Options{}, "subject", "not a resource type"},
		{"Observation", "subject=a/b/c", Options{}, "subject", "not a valid reference"},
		{"Observation", "subject:Patient=Group/1", Options{}, "subject:Patient", "not a reference to Patient"},
		{"Observation", "code-value-quantity=1234", Options{}, "code-value-quantity", "2 values joined by $"},
		{"Observation", "code-value-quantity=1234$x", Options{}, "code-value-quantity", "not a valid quantity"},
		{"Observation", "code-value-quantity=1234$", Options{}, "code-value-quantity", "component 2 is empty"},
		{"Patient", "_has:Observation:code:code=1", Options{}, "_has:Observation:code:code", "not a reference"},
		{"Patient", "_has:Foo:patient:code=1", Options{}, "_has:Foo:patient:code", "not a resource type"},
		{"Patient", "_has:Observation:patient=1", Options{}, "_has:Observation:patient", "_has:Type:reference:parameter"},
		{"Patient", "_has:Observation:nope:code=1", Options{}, "_has:Observation:nope:code", "no search parameter"},
		{"Patient", "_has:Observation:patient:nope=1", Options{}, "_has:Observation:patient:nope", `Observation has no search parameter "nope"`},
		{"Device", "_has:Observation:performer:code=1", Options{}, "_has:Observation:performer:code", "cannot refer to Device"},
		{"Patient", "_has:Observation:patient:code:foo=1", Options{}, "_has:Observation:patient:code:foo", "unknown modifier"},
		{"Patient", "link:Patient.link:Patient.link:Patient.link:Patient.link:Patient.name=x", Options{}, "link:Patient.link:Patient.link:Patient.link:Patient.link:Patient.name", "deep"},
		{"Observation", "focus.focus.focus.focus.name=x", Options{}, "focus.focus.focus.focus.name", "too many resource types"},
		{"Patient", "_count=-1", Options{}, "_count", "non-negative integer"},
		{"Patient", "_count=ten", Options{}, "_count", "non-negative integer"},
		{"Patient", "_count=1&_count=2", Options{}, "_count", "only once"},
		{"Patient", "_summary=maybe", Options{}, "_summary", "not one of"},
		{"Patient", "_total=all", Options{}, "_total", "not one of"},
		{"Patient", "_contained=yes", Options{}, "_contained", "not one of"},
		{"Patient", "_containedType=both", Options{}, "_containedType", "not one of"},
		{"Patient", "_elements=na-me", Options{}, "_elements", "not an element name"},
		{"Patient", "_sort=_text", Options{}, "_sort", "cannot sort"},
		{"Observation", "_sort=code-value-quantity", Options{}, "_sort", "cannot sort"},
		{"Patient", "_sort=name,-name", Options{}, "_sort", "twice"},
		{"Patient", "_sort=,name", Options{}, "_sort", "empty sort key"},
		{"Patient", "_sort=nope", Options{Strict: true}, "_sort", "cannot sort"},
		{"Patient", "_count:x=1", Options{}, "_count:x", "unknown modifier"},
		{"Patient", "_include=Observation:subject", Options{}, "_include", "not searched here"},
		{"Patient", "_include=Patient:name", Options{}, "_include", "not a reference"},
		{"Patient", "_include=Patient:general-practitioner:Medication", Options{}, "_include", "cannot refer to Medication"},
		{"Patient", "_include=Patient", Options{}, "_include", "Type:parameter"},
		{"Patient", "_include=Foo:bar", Options{}, "_include", "not a resource type"},
		{"Patient", "_include:foo=Patient:link", Options{}, "_include:foo", "unknown modifier"},
		{"Patient", "_include=Patient:nope", Options{Strict: true}, "_include", "no search parameter"},
		{"Patient", "_revinclude=Observation:device", Options{}, "_revinclude", "cannot refer to Patient"},
		{"Patient", "_revinclude=*", Options{}, "_revinclude", "not *"},
		{"Patient", "gender=a,b,c", Options{MaxOr: 2}, "gender", "at most 2"},
		{"Patient", "_elements=a,b,c", Options{MaxOr: 2}, "_elements", "at most 2"},
		{"Patient", "gender=a&name=b&family=c", Options{MaxParams: 2}, "", "too many"},
		{"Patient", "foo=1", Options{Strict: true}, "foo", "unknown search parameter"},
		{"Patient", "=1", Options{Strict: true}, "", "no parameter name"},
		{"Patient", "_query=x", Options{Strict: true}, "_query", "not supported"},
		{"Location", "near=1|2|3|km", Options{Strict: true}, "near", "not supported"},
		{"Patient", "_type=Patient", Options{Strict: true}, "_type", "system search only"},
		{"", "_type=Patient,Foo", Options{}, "_type", "not a resource type"},
		{"", "_type=Patient,Observation&name=x", Options{Strict: true}, "name", "unknown search parameter"},
		{"", "name=x", Options{Strict: true}, "name", "unknown search parameter"},
		{"Patient", "name=%FF", Options{}, "name", "UTF-8"},
		{"Patient", "_list=a/b", Options{}, "_list", "not a List id"},
	}
	for _, c := range cases {
		t.Run(c.rt+"?"+c.q, func(t *testing.T) {
			q, err := parseQS(t, c.rt, c.q, c.opts)
			if err == nil {
				t.Fatalf("no error; got %s", q)
			}
			if _, ok := err.(*fhir.Error); !ok {
				t.Errorf("error is a %T, want *fhir.Error", err)
			}
			fe := wantInvalid(t, err, c.param)
			if !strings.Contains(fe.Msg, c.msg) {
				t.Errorf("message %q does not contain %q", fe.Msg, c.msg)
			}
			// it renders as an OperationOutcome naming the parameter
			oo := fhir.Outcome(err)
			if c.param != "" && !slices.ContainsFunc(oo.Issue, func(i fhir.OutcomeIssue) bool { return slices.Contains(i.Expression, c.param) }) {
				t.Errorf("OperationOutcome %+v does not name %q", oo, c.param)
			}
		})
	}
	if _, err := Parse("Foo", nil, Options{}); !fhir.Is(err, fhir.Invalid) {
		t.Errorf("unknown resource type: %v", err)
	}
}

func TestChains(t *testing.T) {
	name := func(rt string) *Clause {
		return &Clause{Name: "name", ResourceType: rt, Param: sp(t, rt, "name"), Values: []Value{{Raw: "x", Str: str("x", "x")}}}
	}
	cases := []struct {
		rt, q string
		want  *Clause
	}{
		{"Observation", "subject:Patient.name=x", &Clause{
			Name: "subject:Patient.name", ResourceType: "Observation", Param: sp(t, "Observation", "subject"), TargetType: "Patient",
			Chain: []*Clause{name("Patient")},
		}},
		// ambiguous: every target type that has the parameter
		{"Observation", "subject.name=x", &Clause{
			Name: "subject.name", ResourceType: "Observation", Param: sp(t, "Observation", "subject"),
			Chain: []*Clause{name("Patient"), name("Location")},
		}},
		{"Observation", "subject:Patient.organization.name=x", &Clause{
			Name: "subject:Patient.organization.name", ResourceType: "Observation", Param: sp(t, "Observation", "subject"), TargetType: "Patient",
			Chain: []*Clause{{
				Name: "organization.name", ResourceType: "Patient", Param: sp(t, "Patient", "organization"),
				Chain: []*Clause{name("Organization")},
			}},
		}},
		{"Observation", "subject:Patient.birthdate=ge2000,lt1950", &Clause{
			Name: "subject:Patient.birthdate", ResourceType: "Observation", Param: sp(t, "Observation", "subject"), TargetType: "Patient",
			Chain: []*Clause{{Name: "birthdate", ResourceType: "Patient", Param: sp(t, "Patient", "birthdate"), Values: []Value{
				{Raw: "ge2000", Prefix: Ge, Date: date(Year, "2000-01-01T00:00:00Z", "2001-01-01T00:00:00Z")},
				{Raw: "lt1950", Prefix: Lt, Date: date(Year, "1950-01-01T00:00:00Z", "1951-01-01T00:00:00Z")},
			}}},
		}},
		{"Observation", "patient.identifier:of-type=http://x|MR|1", &Clause{
			Name: "patient.identifier:of-type", ResourceType: "Observation", Param: sp(t, "Observation", "patient"),
			Chain: []*Clause{{Name: "identifier:of-type", ResourceType: "Patient", Param: sp(t, "Patient", "identifier"), Modifier: ModOfType,
				Values: []Value{{Raw: "http://x|MR|1", Token: &Token{System: "http://x", Code: "MR", HasSystem: true, Value: "1"}}}}},
		}},
		// a chain ending in a reverse chain
		{"Observation", "subject:Patient._has:Condition:patient:code=1", &Clause{
			Name: "subject:Patient._has:Condition:patient:code", ResourceType: "Observation", Param: sp(t, "Observation", "subject"), TargetType: "Patient",
			Chain: []*Clause{{Name: "_has:Condition:patient:code", ResourceType: "Patient", Has: &Has{
				Type: "Condition", Ref: sp(t, "Condition", "patient"),
				Clause: &Clause{Name: "code", ResourceType: "Condition", Param: sp(t, "Condition", "code"), Values: []Value{{Raw: "1", Token: &Token{Code: "1"}}}},
			}}},
		}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q := mustParse(t, c.rt, c.q, Options{Strict: true})
			if diff := cmp.Diff([]*Clause{c.want}, q.Clauses); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHas(t *testing.T) {
	code := func(rt, v string) *Clause {
		return &Clause{Name: "code", ResourceType: rt, Param: sp(t, rt, "code"), Values: []Value{{Raw: v, Token: &Token{Code: v}}}}
	}
	cases := []struct {
		rt, q string
		want  *Clause
	}{
		{"Patient", "_has:Observation:patient:code=1234", &Clause{
			Name: "_has:Observation:patient:code", ResourceType: "Patient",
			Has: &Has{Type: "Observation", Ref: sp(t, "Observation", "patient"), Clause: code("Observation", "1234")},
		}},
		{"Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/1", &Clause{
			Name: "_has:Observation:patient:_has:AuditEvent:entity:agent", ResourceType: "Patient",
			Has: &Has{Type: "Observation", Ref: sp(t, "Observation", "patient"), Clause: &Clause{
				Name: "_has:AuditEvent:entity:agent", ResourceType: "Observation",
				Has: &Has{Type: "AuditEvent", Ref: sp(t, "AuditEvent", "entity"), Clause: &Clause{
					Name: "agent", ResourceType: "AuditEvent", Param: sp(t, "AuditEvent", "agent"),
					Values: []Value{{Raw: "Practitioner/1", Reference: &Reference{Type: "Practitioner", ID: "1"}}},
				}},
			}},
		}},
		{"Patient", "_has:Observation:subject:code:text=glucose", &Clause{
			Name: "_has:Observation:subject:code:text", ResourceType: "Patient",
			Has: &Has{Type: "Observation", Ref: sp(t, "Observation", "subject"), Clause: &Clause{
				Name: "code:text", ResourceType: "Observation", Param: sp(t, "Observation", "code"), Modifier: ModText,
				Values: []Value{{Raw: "glucose", Str: str("glucose", "glucose")}},
			}},
		}},
		// a reverse chain whose inner parameter is chained
		{"Patient", "_has:Observation:patient:performer:Practitioner.name=x", &Clause{
			Name: "_has:Observation:patient:performer:Practitioner.name", ResourceType: "Patient",
			Has: &Has{Type: "Observation", Ref: sp(t, "Observation", "patient"), Clause: &Clause{
				Name: "performer:Practitioner.name", ResourceType: "Observation", Param: sp(t, "Observation", "performer"), TargetType: "Practitioner",
				Chain: []*Clause{{Name: "name", ResourceType: "Practitioner", Param: sp(t, "Practitioner", "name"), Values: []Value{{Raw: "x", Str: str("x", "x")}}}},
			}},
		}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q := mustParse(t, c.rt, c.q, Options{Strict: true})
			if diff := cmp.Diff([]*Clause{c.want}, q.Clauses); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIncludes(t *testing.T) {
	cases := []struct {
		rt, q     string
		inc, rev  []Include
		canonical string
	}{
		{"Observation", "_include=Observation:subject", []Include{{Source: "Observation", Code: "subject", Param: sp(t, "Observation", "subject")}}, nil,
			"_include=Observation:subject"},
		{"Observation", "_include=Observation:subject:Patient&_include=Observation:subject:Patient", []Include{
			{Source: "Observation", Code: "subject", Param: sp(t, "Observation", "subject"), Target: "Patient"}}, nil,
			"_include=Observation:subject:Patient"},
		{"Observation", "_include=*", []Include{{Source: "Observation", Code: "*", Wildcard: true}}, nil, "_include=Observation:*"},
		{"Observation", "_include=Observation:*", []Include{{Source: "Observation", Code: "*", Wildcard: true}}, nil, "_include=Observation:*"},
		{"MedicationRequest", "_include=MedicationRequest:patient&_include:iterate=Patient:general-practitioner", []Include{
			{Source: "MedicationRequest", Code: "patient", Param: sp(t, "MedicationRequest", "patient")},
			{Source: "Patient", Code: "general-practitioner", Param: sp(t, "Patient", "general-practitioner"), Iterate: true}}, nil,
			"_include=MedicationRequest:patient&_include:iterate=Patient:general-practitioner"},
		{"Patient", "_include:recurse=Organization:partof", []Include{
			{Source: "Organization", Code: "partof", Param: sp(t, "Organization", "partof"), Iterate: true}}, nil,
			"_include:iterate=Organization:partof"},
		{"Patient", "_revinclude=Observation:subject&_revinclude=Provenance:target&_revinclude:iterate=Observation:has-member", nil, []Include{
			{Source: "Observation", Code: "subject", Param: sp(t, "Observation", "subject")},
			{Source: "Provenance", Code: "target", Param: sp(t, "Provenance", "target")},
			{Source: "Observation", Code: "has-member", Param: sp(t, "Observation", "has-member"), Iterate: true}},
			"_revinclude=Observation:subject&_revinclude=Provenance:target&_revinclude:iterate=Observation:has-member"},
		{"Patient", "_revinclude=Observation:*", nil, []Include{{Source: "Observation", Code: "*", Wildcard: true}}, "_revinclude=Observation:*"},
		{"", "_type=Patient,Observation&_include=Observation:subject", []Include{
			{Source: "Observation", Code: "subject", Param: sp(t, "Observation", "subject")}}, nil,
			"_include=Observation:subject&_type=Patient,Observation"},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q := mustParse(t, c.rt, c.q, Options{Strict: true})
			if diff := cmp.Diff(c.inc, q.Include); diff != "" {
				t.Errorf("_include (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.rev, q.RevInclude); diff != "" {
				t.Errorf("_revinclude (-want +got):\n%s", diff)
			}
			if got := q.String(); got != c.canonical {
				t.Errorf("String() = %q, want %q", got, c.canonical)
			}
		})
	}
	// lenient: an unknown include parameter is dropped and reported
	q := mustParse(t, "Patient", "_include=Patient:nope", Options{})
	if len(q.Include) != 0 || len(q.Ignored) != 1 || q.Ignored[0].Param != "_include" {
		t.Errorf("got %+v, ignored %+v", q.Include, q.Ignored)
	}
}

func TestSort(t *testing.T) {
	cases := []struct {
		rt, q   string
		opts    Options
		want    []SortKey
		ignored []Ignored
	}{
		{"Patient", "_sort=birthdate", Options{}, []SortKey{{Code: "birthdate", Param: sp(t, "Patient", "birthdate")}}, nil},
		{"Patient", "_sort=-_lastUpdated,family,-_id", Options{}, []SortKey{
			{Code: "_lastUpdated", Param: sp(t, "Patient", "_lastUpdated"), Desc: true},
			{Code: "family", Param: sp(t, "Patient", "family")},
			{Code: "_id", Param: sp(t, "Patient", "_id"), Desc: true},
		}, nil},
		{"Patient", "_sort=nope,-name", Options{}, []SortKey{{Code: "name", Param: sp(t, "Patient", "name"), Desc: true}},
			[]Ignored{{Param: "_sort", Reason: "unknown sort key nope"}}},
		{"", "_sort=-_lastUpdated", Options{}, []SortKey{{Code: "_lastUpdated", Param: sp(t, "Patient", "_lastUpdated"), Desc: true}}, nil},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			q := mustParse(t, c.rt, c.q, c.opts)
			if diff := cmp.Diff(c.want, q.Sort); diff != "" {
				t.Errorf("sort (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.ignored, q.Ignored); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResultParams(t *testing.T) {
	q := mustParse(t, "Patient",
		"_count=20&_total=accurate&_summary=count&_elements=name,birthDate,name&_contained=both&_containedType=contained&_page=abc%2Fdef%3D&_format=json&_pretty=true",
		Options{Strict: true})
	want := &Query{ResourceType: "Patient", Count: ptr(20), Total: "accurate", Summary: "count", Elements: []string{"name", "birthDate"},
		Contained: "both", ContainedType: "contained", Page: "abc/def="}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := mustParse(t, "Patient", "_count=100000", Options{}).Count; *got != defaultMaxCount {
		t.Errorf("_count not capped: %d", *got)
	}
	if got := mustParse(t, "Patient", "_count=50", Options{MaxCount: 10}).Count; *got != 10 {
		t.Errorf("_count not capped at MaxCount: %d", *got)
	}
	if got := mustParse(t, "Patient", "_count=0", Options{}).Count; *got != 0 {
		t.Errorf("_count=0 gave %d", *got)
	}
}

func TestLenient(t *testing.T) {
	q := mustParse(t, "Patient", "foo=1&name=x&_query=abc&_type=Patient&gender=&bar:exact=2", Options{})
	if got, want := q.String(), "name=x"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	want := []Ignored{
		{Param: "_type", Reason: "_type applies to system search only"}, // _type is read first
		{Param: "_query", Reason: `search parameter "_query" is not supported`},
		{Param: "bar:exact", Reason: `unknown search parameter "bar" for Patient`},
		{Param: "foo", Reason: `unknown search parameter "foo" for Patient`},
		{Param: "gender", Reason: "no value"},
	}
	if diff := cmp.Diff(want, q.Ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	// malformed values of known parameters are errors even when lenient
	_, err := parseQS(t, "Patient", "foo=1&birthdate=x", Options{})
	wantInvalid(t, err, "birthdate")
}

func TestSystemSearch(t *testing.T) {
	q := mustParse(t, "", "_type=Patient,Practitioner&name=smith&_id=1", Options{Strict: true})
	if diff := cmp.Diff([]string{"Patient", "Practitioner"}, q.Types); diff != "" {
		t.Errorf("types: %s", diff)
	}
	want := []*Clause{
		{Name: "_id", Param: sp(t, "Patient", "_id"), Values: []Value{{Raw: "1", Token: &Token{Code: "1"}}}},
		{Name: "name", Param: sp(t, "Patient", "name"), Values: []Value{{Raw: "smith", Str: str("smith", "smith")}}},
	}
	if diff := cmp.Diff(want, q.Clauses); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, want := q.String(), "_id=1&_type=Patient,Practitioner&name=smith"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// without _type only the Resource parameters apply
	q = mustParse(t, "", "_lastUpdated=gt2024&_tag=a|b&name=x", Options{})
	if len(q.Clauses) != 2 || len(q.Ignored) != 1 || q.Ignored[0].Param != "name" {
		t.Errorf("clauses %d, ignored %+v", len(q.Clauses), q.Ignored)
	}
	mustParse(t, "", "_type=Patient&_has:Observation:patient:code=1", Options{Strict: true})
	_, err := parseQS(t, "", "_type=Medication&_has:Observation:patient:code=1", Options{Strict: true})
	wantInvalid(t, err, "_has:Observation:patient:code")
}

func TestQueryString(t *testing.T) {
	cases := []struct{ rt, in, want string }{
		{"Patient", "name=b&gender=male&name=a&_count=10&_sort=-birthdate", "_count=10&_sort=-birthdate&gender=male&name=b&name=a"},
		{"Patient", `name=a\,b,c&identifier=x\|y`, `identifier=x%5C|y&name=a%5C,b,c`},
		{"Observation", "date=ge2024-01-01T00:00:00%2B01:00&code=http://loinc.org|1234-5", "code=http://loinc.org|1234-5&date=ge2024-01-01T00:00:00%2B01:00"},
		{"Observation", "subject.name=x%20y&_summary=true&_total=none", "_summary=true&_total=none&subject.name=x%20y"},
		{"Patient", "_has:Observation:patient:code=1&name:exact=%C3%89", "_has:Observation:patient:code=1&name:exact=%C3%89"},
		{"Patient", "name=a%26b%3Dc%2Bd%23", "name=a%26b%3Dc%2Bd%23"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			q := mustParse(t, c.rt, c.in, Options{Strict: true})
			got := q.String()
			if got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
			// the canonical form parses back to the same query
			again := mustParse(t, c.rt, got, Options{Strict: true})
			if diff := cmp.Diff(q, again); diff != "" {
				t.Errorf("reparse differs (-first +again):\n%s", diff)
			}
		})
	}
	var nilQ *Query
	if nilQ.String() != "" {
		t.Error("nil Query")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name=x", "birthdate=lt19x0", "subject:Patient.name=x", "subject.name=x,y",
		"_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/1",
		"value-quantity=gt5.4|http://unitsofmeasure.org|mg", "code-value-quantity=1234$gt5",
		"_include=Observation:subject:Patient&_revinclude:iterate=Provenance:target",
		"_sort=-date,_id&_count=10&_total=accurate&_summary=count&_elements=id",
		`identifier=a\|b,c\,d&name:exact=É`, "probability=1e2", "date=2024-02-29T10:00:00.123%2B02:00",
		"subject:identifier=http://x|1&code:in=http://vs&code:not-in=x&_list=1", "_text=x&_content=y&_id=1",
		"identifier:of-type=a|b|c&gender:missing=true&subject:above=x", "_count=-1&foo=bar&_page=abc",
	} {
		f.Add("Patient", s, false)
		f.Add("Observation", s, true)
	}
	f.Fuzz(func(t *testing.T, rt, qs string, strict bool) {
		if rt != "Observation" {
			rt = "Patient"
		}
		v, err := url.ParseQuery(qs)
		if err != nil {
			return
		}
		q, err := Parse(rt, v, Options{Strict: strict})
		if err != nil {
			if k := fhir.KindOf(err); k != fhir.Invalid && k != fhir.NotSupported {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		// what was applied must parse again, to the same canonical form
		s := q.String()
		v2, err := url.ParseQuery(s)
		if err != nil {
			t.Fatalf("String() %q does not parse as a query: %v", s, err)
		}
		q2, err := Parse(rt, v2, Options{Strict: true})
		if err != nil {
			t.Fatalf("String() %q of %q does not parse again: %v", s, qs, err)
		}
		if s2 := q2.String(); s2 != s {
			t.Fatalf("String() not stable: %q then %q", s, s2)
		}
	})
}
