package record

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
)

// PatientExpander returns, for Patient ids, the ids of every Patient that
// is the same person (the ids themselves included): the person index's
// answer to "whose record is this?". Set by the person service.
type PatientExpander func(ids []string) []string

// maxChainPatients bounds the Patients a chained search is widened over;
// past it the chain is run as written.
const maxChainPatients = 1000

type expanderSlot struct {
	f           atomic.Pointer[PatientExpander]
	sync        atomic.Pointer[func(context.Context)]
	conditional atomic.Pointer[criterion]
}

type criterion struct{ typ, param, value string }

// SetConditionalFilter adds param=value to every conditional criterion on
// typ (conditional create, update, patch, delete and references). The
// person index keeps its persons out this way: a person carries every
// identifier of its sources, and a feed's "update the Patient with my
// MRN" must find the feed's own record, not also the person.
func (s *Service) SetConditionalFilter(typ, param, value string) {
	s.expander.conditional.Store(&criterion{typ, param, value})
}

// SetPatientExpander makes chained searches through a reference to
// Patient find the items of the whole person (see expandPersons), and
// $everything the whole person's record. sync, which the person index
// gives with it, waits until the Patients committed so far are linked:
// searches that depend on persons call it first, so that a client reads
// what it wrote.
func (s *Service) SetPatientExpander(f PatientExpander, sync func(context.Context)) {
	s.expander.f.Store(&f)
	s.expander.sync.Store(&sync)
}

// syncPersons waits for the person index to catch up, if there is one.
func (s *Service) syncPersons(ctx context.Context) {
	if ctx.Value(noSyncKey{}) != nil {
		return
	}
	if f := s.expander.sync.Load(); f != nil {
		(*f)(ctx)
	}
}

// expandPersons rewrites each chained parameter through a reference to
// Patient (Observation?patient.identifier=X, subject:Patient.name=Y): the
// chain is run on Patients first, the Patients found are widened to
// every record of the same persons, and the parameter becomes a plain
// reference to those. So an NHS number finds a person's items from every
// organisation, even those whose own Patient record lacks it (a hospital
// that knows the person by its MRN). Without a person index, or when the
// chain finds nothing or too much, the parameter is left as written.
func (s *Service) expandPersons(ctx context.Context, typ string, params url.Values) (url.Values, error) {
	fp := s.expander.f.Load()
	if fp == nil || typ == "" {
		return params, nil
	}
	var out url.Values
	for key, vals := range params {
		head, rest, chained := strings.Cut(key, ".")
		if !chained || strings.HasPrefix(key, "_") {
			continue
		}
		name, mod, _ := strings.Cut(head, ":")
		sp, ok := s.Definitions().Params().SearchParam(typ, name)
		if !ok || sp.Type != "reference" {
			continue
		}
		if mod != "Patient" && (mod != "" || len(sp.Target) != 1 || sp.Target[0] != "Patient") {
			continue
		}
		s.syncPersons(ctx)
		var widened []string
		for _, v := range vals {
			// Persons included: one may carry a number its sources no
			// longer do (a superseded NHS number).
			c, err := s.parseCriteria(ctx, "Patient", url.Values{rest: {v}}.Encode(), false)
			if err != nil {
				return nil, err
			}
			ids, err := s.Store.Find(ctx, c, maxChainPatients+1)
			if err != nil {
				return nil, err
			}
			if len(ids) == 0 || len(ids) > maxChainPatients {
				widened = nil
				break
			}
			all := (*fp)(ids)
			refs := make([]string, len(all))
			for i, id := range all {
				refs[i] = "Patient/" + id
			}
			widened = append(widened, strings.Join(refs, ","))
		}
		if widened == nil {
			continue
		}
		if out == nil {
			out = make(url.Values, len(params))
			for k, v := range params {
				out[k] = v
			}
		}
		delete(out, key)
		out[name] = append(out[name], widened...)
	}
	if out == nil {
		return params, nil
	}
	return out, nil
}
