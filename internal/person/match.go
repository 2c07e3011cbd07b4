package person

import (
	"context"

	"github.com/sharedcare/sharedcare/internal/mpi"
)

// Expand is the record's PatientExpander: the given Patients, persons or
// source records, and every record of their persons (and the persons).
func (s *Service) Expand(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range ids {
		add(id)
		pid, ok := s.idx.PersonOf(id)
		if !ok {
			pid, ok = s.idx.Resolve(id)
		}
		if !ok {
			continue
		}
		add(pid)
		for _, r := range s.idx.Records(pid) {
			add(r)
		}
	}
	return out
}

// Match scores a Patient (FHIR JSON, not stored) against the index and
// returns the candidate persons, best first: what $match answers.
func (s *Service) Match(ctx context.Context, patient []byte) ([]mpi.Candidate, error) {
	s.Sync(ctx)
	rec, err := mpi.FromPatient(patient)
	if err != nil {
		return nil, err
	}
	rec.ID = ""
	cands := s.idx.Match(rec)
	for i := range cands {
		if sv, ok := s.idx.Resolve(cands[i].Person); ok {
			cands[i].Person = sv
		}
	}
	return cands, nil
}
