package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SearchParams are the values of the search mix that depend on the data.
// Discover fills in those left empty; the report records them, so that a
// run against another server can be given the same ones.
type SearchParams struct {
	// Patient is the server's id of the Patient the per-patient queries
	// are about: the one with the most Observations among a sample.
	Patient string `json:"patient,omitempty"`
	// PatientIdentifier (system|value) names that Patient on any server,
	// where ids differ: when it is given, Discover finds Patient by it.
	PatientIdentifier string `json:"patient_identifier,omitempty"`
	// PatientCode (system|code) is the commonest code of that Patient's
	// Observations.
	PatientCode string `json:"patient_code,omitempty"`
	// Organization is the name of the Organization most Encounters (of a
	// sample) name as serviceProvider.
	Organization string `json:"organization,omitempty"`
	// Code (system|code) is a common Observation code; Category a common
	// Observation category.
	Code     string `json:"code,omitempty"`
	Category string `json:"category,omitempty"`
	// Family is the start of many Patients' family names; Birthdate a
	// birthdate search value (with its prefix) many Patients match.
	Family    string `json:"family,omitempty"`
	Birthdate string `json:"birthdate,omitempty"`
	// ConditionCode is a Condition code many Patients have.
	ConditionCode string `json:"condition_code,omitempty"`
}

// DefaultSearchParams are the search issue's values for the parameters
// that are not about one patient, chosen on the Synthea sets: the largest
// Observation code, the laboratory category, a prefix that starts 35
// family names, and so on. Discover keeps each one when it matches
// something on the server, and finds another when it does not.
var DefaultSearchParams = SearchParams{
	Code:          "http://loinc.org|72514-3",
	Category:      "laboratory",
	Family:        "sch",
	Birthdate:     "lt1950",
	ConditionCode: "444814009",
}

// Query is one request of the search mix.
type Query struct {
	Name string
	// Path is the request relative to the FHIR base, query string
	// included: "Observation?category=laboratory&_count=50".
	Path string
}

// SearchMix is the fixed mix of the search issue: the searches a shared
// care record answers most, at the page size clients use. It is a table
// so that the in-process Go benchmark and this client run the same
// requests.
func SearchMix(p SearchParams) []Query {
	return []Query{
		// A common code and a very common category: first page only.
		{"token-code", "Observation?code=" + url.QueryEscape(p.Code) + "&_count=50"},
		{"token-category", "Observation?category=" + url.QueryEscape(p.Category) + "&_count=50"},
		// One person's record, filtered and sorted.
		{"patient+code", "Observation?patient=" + url.QueryEscape(p.Patient) + "&code=" + url.QueryEscape(p.PatientCode) + "&_count=50"},
		{"patient+sort", "Observation?patient=" + url.QueryEscape(p.Patient) + "&_sort=-date&_count=50"},
		// Finding a person.
		{"string-family", "Patient?family=" + escapeString(p.Family) + "&_count=50"},
		{"date-birthdate", "Patient?birthdate=" + url.QueryEscape(p.Birthdate) + "&_count=50"},
		// Observation → Encounter → Organization: Synthea Patients name no
		// organisation, Encounters do.
		{"chain-2", "Observation?encounter.service-provider.name=" + escapeString(p.Organization) + "&_count=50"},
		{"revinclude", "Patient?_id=" + url.QueryEscape(p.Patient) + "&_revinclude=Encounter:subject"},
		{"has", "Patient?_has:Condition:subject:code=" + url.QueryEscape(p.ConditionCode) + "&_count=50"},
		{"count-observations", "Observation?_summary=count"},
		{"everything", "Patient/" + url.PathEscape(p.Patient) + "/$everything"},
	}
}

// discoverySample bounds the resources discovery reads for a tally;
// patientSample is the number of Patients whose Observations it counts.
const (
	discoverySample = 3000
	patientSample   = 100
)

// Discover returns p with its empty fields found through the API: the
// Patient with the most Observations among 100 spread over the first
// 1,000 Patients, the
// commonest code of its Observations, the Organization name most of the
// first 3,000 Encounters name as serviceProvider, and for the other
// fields the default when it matches something, else the commonest value
// of a sample. Fields given are kept (Patient is re-found from a given
// PatientIdentifier, since ids differ between servers).
func Discover(ctx context.Context, c *Client, p SearchParams) (SearchParams, error) {
	if err := discoverPatient(ctx, c, &p); err != nil {
		return p, err
	}
	if p.PatientCode == "" {
		var t tally
		var o struct{ Code codeableConcept }
		err := c.search(ctx, "Observation?patient="+url.QueryEscape(p.Patient)+"&_count=1000&_elements=code", 5, func(raw json.RawMessage) bool {
			o.Code = codeableConcept{}
			if json.Unmarshal(raw, &o) == nil {
				t.add(o.Code.token(), 1)
			}
			return true
		})
		if err != nil {
			return p, fmt.Errorf("bench: discovering the patient's commonest code: %w", err)
		}
		if p.PatientCode = t.top(); p.PatientCode == "" {
			return p, fmt.Errorf("bench: Patient/%s has no coded Observations", p.Patient)
		}
	}
	if p.Organization == "" {
		org, err := discoverOrganization(ctx, c)
		if err != nil {
			return p, err
		}
		p.Organization = org
	}
	if err := discoverDefaults(ctx, c, &p); err != nil {
		return p, err
	}
	return p, nil
}

// discoverPatient finds the Patient of the per-patient queries.
func discoverPatient(ctx context.Context, c *Client, p *SearchParams) error {
	type patient struct {
		ID         string `json:"id"`
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	identifier := func(pt patient) string {
		for _, id := range pt.Identifier {
			if id.System != "" && id.Value != "" {
				return id.System + "|" + id.Value
			}
		}
		return ""
	}
	if p.PatientIdentifier != "" {
		var found []string
		err := c.search(ctx, "Patient?identifier="+url.QueryEscape(p.PatientIdentifier)+"&_elements=id", 1, func(raw json.RawMessage) bool {
			var pt patient
			if json.Unmarshal(raw, &pt) == nil {
				found = append(found, pt.ID)
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("bench: finding the Patient %s: %w", p.PatientIdentifier, err)
		}
		if len(found) != 1 {
			return fmt.Errorf("bench: %d Patients have the identifier %s, not one", len(found), p.PatientIdentifier)
		}
		p.Patient = found[0]
		return nil
	}
	if p.Patient != "" {
		return nil
	}
	// 100 Patients spread over the first 1,000 in the server's order: a
	// server that keeps them in load order would otherwise offer only the
	// first data set's.
	var listed []patient
	err := c.search(ctx, "Patient?_count=1000&_elements=id,identifier", 1, func(raw json.RawMessage) bool {
		var pt patient
		if json.Unmarshal(raw, &pt) == nil && pt.ID != "" {
			listed = append(listed, pt)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("bench: sampling Patients: %w", err)
	}
	if len(listed) == 0 {
		return errors.New("bench: the server has no Patients to search")
	}
	var sample []patient
	for i := range min(len(listed), patientSample) {
		sample = append(sample, listed[i*len(listed)/min(len(listed), patientSample)])
	}
	best, most := -1, int64(-1)
	for i, pt := range sample {
		n, err := c.count(ctx, "Observation?patient="+url.QueryEscape(pt.ID))
		if err != nil {
			return fmt.Errorf("bench: counting Observations: %w", err)
		}
		if n > most {
			best, most = i, n
		}
	}
	p.Patient, p.PatientIdentifier = sample[best].ID, identifier(sample[best])
	return nil
}

// discoverOrganization finds the name of the Organization most of a
// sample of Encounters name as serviceProvider. It tallies by name, not by
// reference: Synthea's Bundles each carry their own copy of an
// Organization, and the chain query matches by name.
func discoverOrganization(ctx context.Context, c *Client) (string, error) {
	var byRef tally
	var e struct {
		ServiceProvider struct {
			Reference string `json:"reference"`
		} `json:"serviceProvider"`
	}
	n := 0
	err := c.search(ctx, "Encounter?_count=1000&_elements=serviceProvider", discoverySample/1000, func(raw json.RawMessage) bool {
		e.ServiceProvider.Reference = ""
		if json.Unmarshal(raw, &e) == nil {
			byRef.add(refID(e.ServiceProvider.Reference, "Organization"), 1)
		}
		n++
		return n < discoverySample
	})
	if err != nil {
		return "", fmt.Errorf("bench: sampling Encounters: %w", err)
	}
	if len(byRef.order) == 0 {
		return "", errors.New("bench: no Encounter names a serviceProvider Organization (give --params with an organization)")
	}
	var byName tally
	for ids := range slices.Chunk(byRef.order, 50) {
		var o struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		err := c.search(ctx, "Organization?_id="+url.QueryEscape(strings.Join(ids, ","))+"&_count=50&_elements=name", 1, func(raw json.RawMessage) bool {
			o.ID, o.Name = "", ""
			if json.Unmarshal(raw, &o) == nil {
				byName.add(o.Name, byRef.n[o.ID])
			}
			return true
		})
		if err != nil {
			return "", fmt.Errorf("bench: reading Organizations: %w", err)
		}
	}
	if byName.top() == "" {
		return "", errors.New("bench: the Organizations Encounters name have no names")
	}
	return byName.top(), nil
}

// discoverDefaults keeps each default that matches something and
// replaces the others with the commonest value of a sample.
func discoverDefaults(ctx context.Context, c *Client, p *SearchParams) error {
	d := DefaultSearchParams
	// matches reports whether the default matches anything.
	matches := func(rel string) (bool, error) {
		n, err := c.count(ctx, rel)
		return n > 0, err
	}
	type field struct {
		name   string
		v      *string
		def    string
		check  string                 // the search the default must match
		sample func() (string, error) // the replacement
	}
	var obsSample struct {
		done           bool
		code, category tally
	}
	observations := func() error {
		if obsSample.done {
			return nil
		}
		obsSample.done = true
		var o struct {
			Code     codeableConcept   `json:"code"`
			Category []codeableConcept `json:"category"`
		}
		return c.search(ctx, "Observation?_count=1000&_elements=code,category", discoverySample/1000, func(raw json.RawMessage) bool {
			o.Code, o.Category = codeableConcept{}, nil
			if json.Unmarshal(raw, &o) == nil {
				obsSample.code.add(o.Code.token(), 1)
				for _, cat := range o.Category {
					obsSample.category.add(strings.TrimPrefix(cat.token(), "http://terminology.hl7.org/CodeSystem/observation-category|"), 1)
				}
			}
			return true
		})
	}
	var patients struct {
		done   bool
		family tally
		births []int
	}
	patientSample := func() error {
		if patients.done {
			return nil
		}
		patients.done = true
		var pt struct {
			Name []struct {
				Family string `json:"family"`
			} `json:"name"`
			BirthDate string `json:"birthDate"`
		}
		return c.search(ctx, "Patient?_count=1000&_elements=name,birthDate", discoverySample/1000, func(raw json.RawMessage) bool {
			pt.Name, pt.BirthDate = nil, ""
			if json.Unmarshal(raw, &pt) != nil {
				return true
			}
			if len(pt.Name) > 0 {
				if f := []rune(strings.ToLower(pt.Name[0].Family)); len(f) >= 3 {
					patients.family.add(string(f[:3]), 1)
				}
			}
			if y, err := strconv.Atoi(pt.BirthDate[:min(4, len(pt.BirthDate))]); err == nil {
				patients.births = append(patients.births, y)
			}
			return true
		})
	}
	fields := []field{
		{"code", &p.Code, d.Code, "Observation?code=" + url.QueryEscape(d.Code), func() (string, error) {
			err := observations()
			return obsSample.code.top(), err
		}},
		{"category", &p.Category, d.Category, "Observation?category=" + url.QueryEscape(d.Category), func() (string, error) {
			err := observations()
			return obsSample.category.top(), err
		}},
		{"family", &p.Family, d.Family, "Patient?family=" + escapeString(d.Family), func() (string, error) {
			err := patientSample()
			return patients.family.top(), err
		}},
		{"birthdate", &p.Birthdate, d.Birthdate, "Patient?birthdate=" + url.QueryEscape(d.Birthdate), func() (string, error) {
			if err := patientSample(); err != nil || len(patients.births) == 0 {
				return "", err
			}
			slices.Sort(patients.births)
			// The median year and all before it: about half the Patients.
			return "lt" + strconv.Itoa(patients.births[len(patients.births)/2]+1), nil
		}},
		{"condition code", &p.ConditionCode, d.ConditionCode, "Condition?code=" + url.QueryEscape(d.ConditionCode), func() (string, error) {
			var t tally
			var cond struct {
				Code codeableConcept `json:"code"`
			}
			err := c.search(ctx, "Condition?_count=1000&_elements=code", discoverySample/1000, func(raw json.RawMessage) bool {
				cond.Code = codeableConcept{}
				if json.Unmarshal(raw, &cond) == nil {
					t.add(cond.Code.token(), 1)
				}
				return true
			})
			return t.top(), err
		}},
	}
	for _, f := range fields {
		if *f.v != "" {
			continue
		}
		ok, err := matches(f.check)
		if err != nil {
			return fmt.Errorf("bench: checking the default %s: %w", f.name, err)
		}
		if ok {
			*f.v = f.def
			continue
		}
		v, err := f.sample()
		if err != nil {
			return fmt.Errorf("bench: discovering a %s: %w", f.name, err)
		}
		if v == "" {
			return fmt.Errorf("bench: the default %s %q matches nothing and none was found (give it with --params)", f.name, f.def)
		}
		*f.v = v
	}
	return nil
}

// Search runs each query of SearchMix(p) in turn, alone, and returns a
// Result per query, named "search/<query>". o bounds each query's run
// (duration, requests and warm-up are per query). Each query is first
// sent once, untimed: it must answer 200 and match something, or its
// Result is a failure ("empty") and it is not timed, since timing an
// empty page measures nothing.
func Search(ctx context.Context, c *Client, p SearchParams, o Options) ([]Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	var out []Result
	for _, q := range SearchMix(p) {
		r := newRunner(c, o)
		name := "search/" + q.Name
		if !preflight(ctx, r.workers[0], q) {
			res := r.result(name, 0)
			res.Query = q.Path
			out = append(out, res)
			continue
		}
		elapsed := r.run(ctx, 1, func(ctx context.Context, w *worker) {
			w.do(ctx, q.Name, http.MethodGet, q.Path, nil, false, http.StatusOK)
		})
		res := r.result(name, elapsed)
		res.Query = q.Path
		out = append(out, res)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// preflight sends q once, untimed, and reports whether it answered 200
// with at least one match.
func preflight(ctx context.Context, w *worker, q Query) bool {
	w.timing = false
	rp := w.do(ctx, q.Name, http.MethodGet, q.Path, nil, true, http.StatusOK)
	if !rp.ok {
		return false
	}
	var b searchBundle
	if err := json.Unmarshal(rp.body, &b); err != nil {
		w.fail(q.Name, "response", fmt.Sprintf("GET %s: not a Bundle: %v", q.Path, err))
		return false
	}
	if len(b.Entry) == 0 && (b.Total == nil || *b.Total == 0) {
		w.fail(q.Name, "empty", fmt.Sprintf("GET %s: no matches", q.Path))
		return false
	}
	return true
}
