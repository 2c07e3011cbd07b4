// Package feed connects the feeds that arrive in other formats to the
// record: an HL7 v2 message received over MLLP is mapped to FHIR
// (internal/hl7fhir) and written through the record service as one
// transaction, attributed to the sending organisation, before the
// receiver acknowledges it; an A40 merge goes to the person index.
package feed

import (
	"context"
	"errors"
	"net/url"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/hl7fhir"
	"github.com/sharedcare/sharedcare/internal/hl7v2"
	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/record"
)

// HL7 is an hl7v2.Handler writing each message to the record.
type HL7 struct {
	Record  *record.Service
	Persons *person.Service // nil: A40 merges are refused
	Mapper  *hl7fhir.Mapper
	// Base is the FHIR base URL the transaction's links are relative to.
	Base string
}

// HandleHL7 maps and commits one message; the MLLP server sends AA only
// after it returns nil, so an acknowledged message is durable.
func (h *HL7) HandleHL7(ctx context.Context, m *hl7v2.Message) error {
	return h.SubmitHL7(ctx, m)()
}

// merge carries out an A40: the non-surviving record becomes the same
// person as the surviving one, and is marked replaced-by it.
func (h *HL7) merge(ctx context.Context, mg hl7fhir.Merge) error {
	if h.Persons == nil {
		return &hl7v2.Error{Code: hl7v2.CodeUnsupportedEvent, Msg: "merges need the person index", Reject: true}
	}
	survivor, err := h.find(ctx, mg.Surviving, "PID-3")
	if err != nil {
		return err
	}
	dup, err := h.find(ctx, mg.NonSurviving, "MRG-1")
	if err != nil {
		return err
	}
	if survivor == dup {
		return nil
	}
	if err := h.Persons.Merge(ctx, survivor, dup); err != nil {
		return ackError(err)
	}
	return nil
}

// find returns the Patient one of ids names.
func (h *HL7) find(ctx context.Context, ids []hl7fhir.Identifier, field string) (string, error) {
	for _, id := range ids {
		c, err := h.Record.ParseCriteria(ctx, "Patient", url.Values{"identifier": {id.System + "|" + id.Value}}.Encode())
		if err != nil {
			return "", ackError(err)
		}
		found, err := h.Record.Store.Find(ctx, c, 2)
		if err != nil {
			return "", ackError(err)
		}
		if len(found) == 1 {
			return found[0], nil
		}
	}
	return "", &hl7v2.Error{Code: hl7v2.CodeUnknownKey, Location: field, Msg: "no one Patient has this identifier"}
}

// ackError turns a record error into what the ACK says: the content's
// fault (AE) for what a resend cannot fix, a rejection (AR) for what it
// may (a busy or failing store).
func ackError(err error) error {
	var he *hl7v2.Error
	if errors.As(err, &he) {
		return he
	}
	switch fhir.KindOf(err) {
	case fhir.Invalid, fhir.Unprocessable, fhir.NotFound, fhir.PreconditionFail, fhir.NotSupported:
		return &hl7v2.Error{Code: hl7v2.CodeInternal, Msg: err.Error(), Err: err}
	}
	return &hl7v2.Error{Code: hl7v2.CodeInternal, Msg: "the record could not store the message; send it again", Reject: true, Err: err}
}

// Sequential implements hl7v2.Sequencer: a merge (A40) finds its two
// Patients when waited for, so the messages after it wait for it.
func (h *HL7) Sequential(m *hl7v2.Message) bool {
	t := m.Type()
	return t.Code == "ADT" && t.Trigger == "A40"
}

// SubmitHL7 is HandleHL7 in two steps (hl7v2.Submitter): the message is
// mapped and its transaction submitted now, and wait reports once it is
// durable, so messages a sender pipelines share commits.
func (h *HL7) SubmitHL7(ctx context.Context, m *hl7v2.Message) (wait func() error) {
	res, err := h.Mapper.Map(m)
	if err != nil {
		return func() error { return err }
	}
	ctx = record.WithSource(ctx, record.Source{ODS: res.Source})
	var stored func() (*record.BundleResult, error)
	if res.Bundle != nil {
		stored = h.Record.SubmitBundle(ctx, res.Bundle, h.Base)
	}
	return func() error {
		if stored != nil {
			if _, err := stored(); err != nil {
				return ackError(err)
			}
		}
		for _, mg := range res.Merges {
			if err := h.merge(ctx, mg); err != nil {
				return err
			}
		}
		return nil
	}
}
