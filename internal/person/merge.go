package person

import (
	"context"
	"encoding/json"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// personOf resolves a Patient id, person or source record, to the person
// that now holds it.
func (s *Service) personOf(ctx context.Context, id string) (string, error) {
	if pid, ok := s.idx.PersonOf(id); ok {
		return pid, nil
	}
	if pid, ok := s.idx.Resolve(id); ok {
		return pid, nil
	}
	if _, err := s.rec.Read(ctx, "Patient", id); err != nil {
		return "", err
	}
	return "", fhir.E(fhir.Conflict, "Patient/%s is not in the person index", id)
}

// Merge makes duplicate the same person as survivor. Either may be a
// person or a source record (then its person is meant). The duplicate
// person's records move to the survivor's person; the duplicate person is
// kept, inactive, with a replaced-by link and the list of what moved, so
// Unmerge can undo it. When both are source records, the duplicate record
// is also marked at its source (active false, replaced-by the survivor),
// as a hospital's own merge (HL7 v2 A40) does.
func (s *Service) Merge(ctx context.Context, survivor, duplicate string) error {
	s.Sync(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx = internal(ctx)
	sp, err := s.personOf(ctx, survivor)
	if err != nil {
		return err
	}
	dp, err := s.personOf(ctx, duplicate)
	if err != nil {
		return err
	}
	_, survivorIsRecord := s.idx.PersonOf(survivor)
	_, duplicateIsRecord := s.idx.PersonOf(duplicate)
	if survivorIsRecord && duplicateIsRecord && survivor != duplicate {
		if err := s.markReplaced(ctx, duplicate, survivor); err != nil {
			return err
		}
	}
	if sp == dp {
		return nil // already one person
	}
	return s.mergeLocked(ctx, sp, dp)
}

func (s *Service) mergeLocked(ctx context.Context, survivor, duplicate string) error {
	m, err := s.idx.Merge(survivor, duplicate)
	if err != nil {
		return err
	}
	if err := s.writePersonWith(ctx, survivor, personWrite{replaces: []string{duplicate}}); err != nil {
		return err
	}
	moved := m.Records
	if moved == nil {
		moved = []string{}
	}
	return s.writePersonWith(ctx, duplicate, personWrite{moved: moved})
}

// markReplaced marks a source Patient as replaced by another (FHIR's way
// of saying the source merged two of its records).
func (s *Service) markReplaced(ctx context.Context, id, by string) error {
	r, err := s.rec.Read(ctx, "Patient", id)
	if err != nil {
		return err
	}
	var p map[string]any
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return err
	}
	links, _ := p["link"].([]any)
	for _, l := range links {
		if lm, ok := l.(map[string]any); ok && lm["type"] == "replaced-by" {
			if o, _ := lm["other"].(map[string]any); o["reference"] == "Patient/"+by {
				return nil
			}
		}
	}
	p["active"] = false
	p["link"] = append(links, map[string]any{"other": ref(by), "type": "replaced-by"})
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	// Its commit queues it for placing: a known record, it stays put.
	_, err = s.rec.Update(ctx, "Patient", id, b, "")
	return err
}

// Unmerge undoes the merge of person duplicate: the records the merge
// moved go back to it, and it is active again.
func (s *Service) Unmerge(ctx context.Context, duplicate string) error {
	s.Sync(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx = internal(ctx)
	survivor, ok := s.idx.Resolve(duplicate)
	if !ok || survivor == duplicate {
		return fhir.E(fhir.Invalid, "Patient/%s is not a merged person", duplicate)
	}
	if _, err := s.idx.Unmerge(duplicate); err != nil {
		return err
	}
	if err := s.writePersonWith(ctx, duplicate, personWrite{}); err != nil {
		return err
	}
	return s.writePersonWith(ctx, survivor, personWrite{})
}
