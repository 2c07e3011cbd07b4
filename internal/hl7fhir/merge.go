package hl7fhir

import (
	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// merges reads an A40 (merge patient: patient identifier list): for each
// PID and the MRG that follows it, the identifiers of the surviving and
// of the non-surviving record. Nothing is written here: the master
// patient index owns merging, so that links, history and every
// organisation's view stay consistent.
func (b *builder) merges() ([]Merge, error) {
	pids := b.m.All("PID")
	if len(pids) == 0 {
		return nil, errAt(hl7v2.CodeSegmentSequence, "PID", "no PID segment")
	}
	var out []Merge
	for _, pid := range pids {
		mrg := b.following(pid, "MRG")
		if mrg == nil {
			return nil, errAt(hl7v2.CodeSegmentSequence, "MRG", "no MRG segment after the PID")
		}
		surviving, err := b.identifiers(pid)
		if err != nil {
			return nil, err
		}
		if surviving.nhs == "" && len(surviving.locals) == 0 {
			return nil, errAt(hl7v2.CodeRequiredFieldMissing, "PID-3", "no identifier of the surviving patient")
		}
		gone, err := b.mergeIdentifiers(mrg)
		if err != nil {
			return nil, err
		}
		if len(gone) == 0 {
			return nil, errAt(hl7v2.CodeRequiredFieldMissing, "MRG-1", "no identifier of the patient merged away")
		}
		out = append(out, Merge{Source: b.ods, Surviving: surviving.list(), NonSurviving: gone})
	}
	return out, nil
}

// list is every identifier, NHS number first.
func (ids patientIDs) list() []Identifier {
	var out []Identifier
	if ids.nhs != "" {
		out = append(out, Identifier{System: sysNHSNumber, Value: ids.nhs})
	}
	return append(out, ids.locals...)
}

// mergeIdentifiers reads MRG-1 (prior patient identifier list) as PID-3
// is read, checking NHS numbers the same way, and MRG-4 (prior patient
// id, the v2.3 external id).
func (b *builder) mergeIdentifiers(mrg *hl7v2.Segment) ([]Identifier, error) {
	// MRG-1 and MRG-4 have PID-3's and PID-2's layout: read them through
	// a PID-shaped view so the NHS number check and systems are the same.
	ids, err := b.identifiersOf(mrg, "MRG", []int{1, 4})
	if err != nil {
		return nil, err
	}
	return ids.list(), nil
}
