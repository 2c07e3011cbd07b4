package person

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/mpi"
	"github.com/sharedcare/sharedcare/internal/record"
)

// A review task is a FHIR Task (code ReviewSystem|ReviewCode, status
// requested) whose focus is the source record, whose "for" is the new
// person it was given meanwhile, and whose input names the candidate
// person with the score and reasons. Pending reviews are a search:
// Task?code=ReviewSystem|mpi-review&status=requested. Accepting merges the
// new person into the candidate; rejecting leaves them apart (a record
// is matched once, when it first arrives, so it is not queued again).

func (s *Service) queueReview(ctx context.Context, source, pid string, c mpi.Candidate) error {
	var reasons []string
	for _, r := range c.Score.Reasons() {
		reasons = append(reasons, r.String())
	}
	task := map[string]any{
		"resourceType": "Task",
		"meta":         map[string]any{"source": SourceURI},
		"status":       "requested",
		"intent":       "proposal",
		"priority":     "routine",
		"code":         map[string]any{"coding": []any{map[string]any{"system": ReviewSystem, "code": ReviewCode, "display": "Review a possible match"}}},
		"description":  fmt.Sprintf("Patient/%s may be the same person as Patient/%s (%s match, weight %.1f)", source, c.Person, c.Grade, c.Score.Weight),
		"focus":        ref(source),
		"for":          ref(pid),
		"authoredOn":   s.now().UTC().Format("2006-01-02T15:04:05Z"),
		"input": []any{
			map[string]any{"type": map[string]any{"text": "candidate"}, "valueReference": ref(c.Person)},
			map[string]any{"type": map[string]any{"text": "candidate-record"}, "valueReference": ref(c.Record)},
			map[string]any{"type": map[string]any{"text": "score"}, "valueDecimal": round(c.Score.Weight)},
			map[string]any{"type": map[string]any{"text": "probability"}, "valueDecimal": round(c.Score.Probability)},
			map[string]any{"type": map[string]any{"text": "grade"}, "valueCode": string(c.Grade)},
			map[string]any{"type": map[string]any{"text": "reasons"}, "valueString": strings.Join(reasons, "; ")},
		},
	}
	b, err := json.Marshal(task)
	if err != nil {
		return err
	}
	if s.pend != nil {
		s.pend.reviews = append(s.pend.reviews, b)
		return nil
	}
	_, err = s.rec.Create(ctx, "Task", b, "")
	return err
}

// review is a review task as the service reads it.
type review struct {
	id, status, source, person, candidate string
	version                               int64
	body                                  map[string]any
}

func (s *Service) readReview(ctx context.Context, id string) (*review, error) {
	r, err := s.rec.Read(ctx, "Task", id)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, err
	}
	isReview := false
	if cc, ok := m["code"].(map[string]any); ok {
		cs, _ := cc["coding"].([]any)
		for _, c := range cs {
			if cm, ok := c.(map[string]any); ok && cm["system"] == ReviewSystem && cm["code"] == ReviewCode {
				isReview = true
			}
		}
	}
	if !isReview {
		return nil, fhir.E(fhir.Invalid, "Task/%s is not a match review", id)
	}
	refOf := func(v any) string {
		rm, _ := v.(map[string]any)
		s, _ := rm["reference"].(string)
		return strings.TrimPrefix(s, "Patient/")
	}
	rv := &review{id: id, version: r.Version, body: m, source: refOf(m["focus"]), person: refOf(m["for"])}
	rv.status, _ = m["status"].(string)
	in, _ := m["input"].([]any)
	for _, x := range in {
		xm, _ := x.(map[string]any)
		if t, _ := xm["type"].(map[string]any); t["text"] == "candidate" {
			rv.candidate = refOf(xm["valueReference"])
		}
	}
	return rv, nil
}

// Decide settles a review: accept links the source record to the
// candidate person (merging the person it was given meanwhile into the
// candidate), reject keeps them apart. note is kept on the task.
func (s *Service) Decide(ctx context.Context, taskID string, accept bool, note string) error {
	s.Sync(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx = internal(ctx)
	rv, err := s.readReview(ctx, taskID)
	if err != nil {
		return err
	}
	if rv.status != "requested" {
		return fhir.E(fhir.Conflict, "Task/%s is already %s", taskID, rv.status)
	}
	status, outcome := "rejected", "not the same person"
	if accept {
		status, outcome = "completed", "the same person: linked"
		survivor, ok := s.idx.Resolve(rv.candidate)
		if !ok {
			return fhir.E(fhir.Conflict, "the candidate person Patient/%s is no longer in the index", rv.candidate)
		}
		current, ok := s.idx.PersonOf(rv.source)
		if !ok {
			return fhir.E(fhir.Conflict, "Patient/%s is no longer in the index", rv.source)
		}
		if current != survivor {
			if err := s.mergeLocked(ctx, survivor, current); err != nil {
				return err
			}
		}
	}
	rv.body["status"] = status
	rv.body["lastModified"] = s.now().UTC().Format("2006-01-02T15:04:05Z")
	rv.body["output"] = []any{map[string]any{"type": map[string]any{"text": "decision"}, "valueString": outcome}}
	if note != "" {
		rv.body["note"] = []any{map[string]any{"text": note}}
	}
	b, err := json.Marshal(rv.body)
	if err != nil {
		return err
	}
	_, err = s.rec.Update(ctx, "Task", taskID, b, fmt.Sprint(rv.version))
	return err
}

// Pending lists the ids of review tasks not yet decided.
func (s *Service) Pending(ctx context.Context) ([]string, error) {
	s.Sync(ctx)
	res, err := s.rec.Search(ctx, record.SearchRequest{Type: "Task", Params: map[string][]string{
		"code": {ReviewSystem + "|" + ReviewCode}, "status": {"requested"}, "_count": {"1000"}}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Matches {
		out = append(out, r.ID)
	}
	return out, nil
}
