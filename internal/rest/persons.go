package rest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/person"
)

// The person index's operations (when Server.Persons is set):
//
//	POST [base]/Patient/$match        Parameters{resource, count, onlyCertainMatches} → scored persons
//	POST [base]/Patient/$merge        Parameters{source-patient, target-patient} (references)
//	POST [base]/Patient/$unmerge      Parameters{source-patient}: the merged person
//	POST [base]/Task/{id}/$mpi-accept and $mpi-reject, Parameters{note} optional
//
// Pending reviews are a search: Task?code=<person.ReviewSystem>|mpi-review&status=requested.

// parameters decodes a Parameters body into its parameters by name.
func parameters(b []byte) (map[string][]map[string]any, error) {
	if len(b) == 0 {
		return map[string][]map[string]any{}, nil
	}
	m, err := fhir.DecodeResource(b)
	if err != nil {
		return nil, err
	}
	if m["resourceType"] != "Parameters" {
		return nil, fhir.E(fhir.Invalid, "the body must be a Parameters resource")
	}
	out := map[string][]map[string]any{}
	ps, _ := m["parameter"].([]any)
	for _, p := range ps {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		name, _ := pm["name"].(string)
		out[name] = append(out[name], pm)
	}
	return out, nil
}

// patientRef returns the Patient id a reference parameter names.
func patientRef(ps map[string][]map[string]any, name string) (string, error) {
	p := ps[name]
	if len(p) != 1 {
		return "", fhir.E(fhir.Invalid, "parameter %s (a reference to a Patient) is required once", name)
	}
	ref, _ := p[0]["valueReference"].(map[string]any)
	s, _ := ref["reference"].(string)
	id, ok := strings.CutPrefix(s, "Patient/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fhir.E(fhir.Invalid, "parameter %s must be a reference like Patient/123", name)
	}
	return id, nil
}

// postedParameters reads an operation's POSTed Parameters; on a wrong
// method or body it answers the request itself and returns false.
func (s *Server) postedParameters(w http.ResponseWriter, r *http.Request) (map[string][]map[string]any, bool) {
	if r.Method != http.MethodPost {
		s.notAllowed(w, r, "POST")
		return nil, false
	}
	b, _, err := s.body(r, false)
	if err == nil {
		var ps map[string][]map[string]any
		if ps, err = parameters(b); err == nil {
			return ps, true
		}
	}
	s.fail(w, r, err)
	return nil, false
}

func (s *Server) personOperation(w http.ResponseWriter, r *http.Request, op string) bool {
	if s.Persons == nil {
		return false
	}
	ok := true
	switch op {
	case "$match", "$merge", "$unmerge":
	default:
		return false
	}
	if op == "$match" {
		if !s.matchesPersons(w, r) {
			return true
		}
	} else if r, ok = s.managesPersons(w, r); !ok {
		return true
	}
	ps, ok := s.postedParameters(w, r)
	if !ok {
		return true
	}
	switch op {
	case "$match":
		s.match(w, r, ps)
	case "$merge":
		src, err := patientRef(ps, "source-patient")
		if err == nil {
			var dst string
			if dst, err = patientRef(ps, "target-patient"); err == nil {
				err = s.Persons.Merge(r.Context(), dst, src)
			}
		}
		s.personDone(w, r, err, "merged")
	case "$unmerge":
		src, err := patientRef(ps, "source-patient")
		if err == nil {
			err = s.Persons.Unmerge(r.Context(), src)
		}
		s.personDone(w, r, err, "unmerged")
	}
	return true
}

func (s *Server) personDone(w http.ResponseWriter, r *http.Request, err error, what string) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "outcome", "resource": fhir.Info(what)},
	}})
}

// match serves Patient/$match: the persons a Patient may be, as a
// searchset Bundle with each entry's score (the match probability) and
// match grade.
func (s *Server) match(w http.ResponseWriter, r *http.Request, ps map[string][]map[string]any) {
	res := ps["resource"]
	if len(res) != 1 || res[0]["resource"] == nil {
		s.fail(w, r, fhir.E(fhir.Invalid, "$match needs one parameter named resource holding a Patient"))
		return
	}
	body, err := json.Marshal(res[0]["resource"])
	if err != nil {
		s.fail(w, r, fhir.Wrap(fhir.Invalid, err, "resource"))
		return
	}
	count := 10
	if c := ps["count"]; len(c) == 1 {
		if n, err := strconv.Atoi(jsonNumber(c[0]["valueInteger"])); err == nil && n > 0 {
			count = n
		}
	}
	onlyCertain := false
	if c := ps["onlyCertainMatches"]; len(c) == 1 {
		onlyCertain, _ = c[0]["valueBoolean"].(bool)
	}
	cands, err := s.Persons.Match(r.Context(), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b := bundle{ResourceType: "Bundle", Type: "searchset"}
	base := s.base(r)
	for _, c := range cands {
		if c.Grade == mpi.GradeCertainlyNot || onlyCertain && c.Grade != mpi.GradeCertain {
			continue
		}
		if len(b.Entry) == count {
			break
		}
		p, err := s.Svc.Read(r.Context(), "Patient", c.Person)
		if err != nil {
			continue
		}
		score := c.Score.Probability
		b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/Patient/" + c.Person, Resource: p.Body, Search: &entrySearch{
			Mode: "match", Score: &score,
			Extension: []any{map[string]any{"url": person.MatchGradeExtension, "valueCode": string(c.Grade)}},
		}})
	}
	total := int64(len(b.Entry))
	b.Total = &total
	s.writeJSON(w, r, http.StatusOK, b)
}

func jsonNumber(v any) string {
	switch n := v.(type) {
	case json.Number:
		return n.String()
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return ""
}

// reviewOperation serves Task/{id}/$mpi-accept and $mpi-reject.
func (s *Server) reviewOperation(w http.ResponseWriter, r *http.Request, id, op string) bool {
	if s.Persons == nil || (op != "$mpi-accept" && op != "$mpi-reject") {
		return false
	}
	r, ok := s.managesPersons(w, r)
	if !ok {
		return true
	}
	ps, ok := s.postedParameters(w, r)
	if !ok {
		return true
	}
	note := ""
	if n := ps["note"]; len(n) == 1 {
		note, _ = n[0]["valueString"].(string)
	}
	err := s.Persons.Decide(r.Context(), id, op == "$mpi-accept", note)
	s.personDone(w, r, err, strings.TrimPrefix(op, "$mpi-")+"ed")
	return true
}
