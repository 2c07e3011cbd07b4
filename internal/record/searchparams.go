package record

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Custom search parameters.
//
// A SearchParameter resource with status active that this server can
// index (a FHIRPath expression from a resource type, a parameter type
// other than special) is put in force when it is written: searches parse
// it, writes index it, and the types it applies to are reindexed in the
// background (reindex.go). Until a type's rebuild is done, searches that
// use the new parameter are refused with a message saying how far it is,
// while the type's other parameters go on answering. Draft and retired
// SearchParameters are stored like any resource and do nothing; making
// one active, changing its expression, or deleting it changes the
// definitions again.
//
// A SearchParameter that cannot be put in force is refused on write, so
// the server never holds an active definition it ignores: one whose
// expression does not compile or selects nothing, and one whose code a
// type it applies to already has.
//
// The definitions in force are read from the store when the service
// starts (StartReindex, Reindex) and after each write of a
// SearchParameter by this process. Another process sharing the database
// learns of a change when it restarts; until then it indexes the new
// parameter's type without it, which its next start's reindex mends.

// Definitions returns the search parameter definitions in force.
func (s *Service) Definitions() *index.Definitions {
	if d := s.defs.Load(); d != nil {
		return d
	}
	return index.R4()
}

// codePattern is what a custom parameter's code may look like: the
// names of R4's own, with "_" reserved for the standard's.
var codePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// searchParameter reads a SearchParameter resource as a definition, and
// whether it is to be in force (status active).
func searchParameter(m fhir.Object) (fhirdef.SearchParameter, bool, error) {
	str := func(k string) string { v, _ := m[k].(string); return v }
	strs := func(k string) []string {
		var out []string
		if l, ok := m[k].([]any); ok {
			for _, v := range l {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	boolean := func(k string) bool { v, ok := m[k].(bool); return !ok || v }
	sp := fhirdef.SearchParameter{
		Code: str("code"), URL: str("url"), Base: strs("base"), Type: str("type"), Expression: str("expression"),
		Target: strs("target"), MultipleOr: boolean("multipleOr"), MultipleAnd: boolean("multipleAnd"),
		Modifiers: strs("modifier"), Comparators: strs("comparator"),
	}
	if cs, ok := m["component"].([]any); ok {
		for _, c := range cs {
			if c, ok := c.(map[string]any); ok {
				def, _ := c["definition"].(string)
				expr, _ := c["expression"].(string)
				sp.Components = append(sp.Components, fhirdef.SearchParamComponent{Definition: def, Expression: expr})
			}
		}
	}
	if str("status") != "active" {
		return sp, false, nil
	}
	switch {
	case !codePattern.MatchString(sp.Code):
		return sp, true, fmt.Errorf("code %q is not a search parameter name (a letter, then letters, digits, '-', '_' or '.'; names starting with '_' are the standard's)", sp.Code)
	case len(sp.Base) == 0:
		return sp, true, fmt.Errorf("base names no resource type")
	}
	for _, b := range sp.Base {
		if b != "Resource" && b != "DomainResource" && !fhirdef.IsResourceType(b) {
			return sp, true, fmt.Errorf("base %q is not a resource type", b)
		}
	}
	for _, t := range sp.Target {
		if !fhirdef.IsResourceType(t) {
			return sp, true, fmt.Errorf("target %q is not a resource type", t)
		}
	}
	return sp, true, nil
}

// customParam is an active SearchParameter resource.
type customParam struct {
	id      string
	updated time.Time
	sp      fhirdef.SearchParameter
}

// checkSearchParameter refuses a SearchParameter this server would not
// put in force as written.
func (s *Service) checkSearchParameter(m fhir.Object) error {
	sp, active, err := searchParameter(m)
	if err == nil && active {
		id, _ := m["id"].(string)
		var others []fhirdef.SearchParameter
		for _, c := range s.customs() {
			if c.id != id {
				others = append(others, c.sp)
			}
		}
		// Ones already refused stay out, as when loaded.
		ps, _ := fhirdef.R4Params().With(others)
		if _, rej := ps.With([]fhirdef.SearchParameter{sp}); len(rej) > 0 {
			err = errors.New(rej[0].Reason)
		} else {
			err = index.CheckParam(sp, ps)
		}
	}
	if err != nil {
		return &fhir.Error{Kind: fhir.Unprocessable, Msg: "this SearchParameter cannot be put in force: " + err.Error(),
			Issues: []fhir.Issue{{Diagnostics: err.Error(), Expression: []string{"SearchParameter"}}}}
	}
	return nil
}

// customs returns the active custom parameters as last loaded.
func (s *Service) customs() []customParam {
	s.params.mu.Lock()
	defer s.params.mu.Unlock()
	return s.params.list
}

// paramState is the custom parameters last loaded. load serialises
// LoadSearchParameters; mu guards list, briefly (writes read it while
// validating, and a load waits for writes in flight).
type paramState struct {
	load sync.Mutex
	mu   sync.Mutex
	list []customParam
}

// LoadSearchParameters reads the SearchParameter resources in the store
// and puts the active ones in force; types whose generation changes are
// rebuilt by the background reindex, if started. It runs at start and
// after this process writes a SearchParameter.
func (s *Service) LoadSearchParameters(ctx context.Context) error {
	rx, ok := s.Store.(store.Reindexer)
	if !ok {
		return nil
	}
	s.params.load.Lock()
	defer s.params.load.Unlock()
	var list []customParam
	for cursor := ""; ; {
		rs, err := rx.Current(ctx, "SearchParameter", cursor, 500)
		if err != nil {
			return err
		}
		for _, r := range rs {
			obj, err := fhir.DecodeResource(r.Body)
			if err != nil {
				continue
			}
			sp, active, err := searchParameter(obj)
			if !active {
				continue
			}
			if err != nil {
				s.log().Warn("a stored SearchParameter is not put in force", "id", r.ID, "code", sp.Code, "err", err)
				continue
			}
			list = append(list, customParam{id: r.ID, updated: r.LastUpdated, sp: sp})
		}
		if len(rs) < 500 {
			break
		}
		cursor = rs[len(rs)-1].ID
	}
	// The first written wins a clash, whichever process wrote it.
	slices.SortFunc(list, func(a, b customParam) int {
		return cmp.Or(a.updated.Compare(b.updated), strings.Compare(a.id, b.id))
	})
	var sps []fhirdef.SearchParameter
	for _, c := range list {
		sps = append(sps, c.sp)
	}
	ps, rejected := fhirdef.R4Params().With(sps)
	for _, r := range rejected {
		s.log().Warn("a stored SearchParameter is not put in force", "code", r.Param.Code, "url", r.Param.URL, "reason", r.Reason)
	}
	var keep []customParam
	for _, c := range list {
		if err := index.CheckParam(c.sp, ps); err != nil {
			s.log().Warn("a stored SearchParameter is not put in force", "id", c.id, "code", c.sp.Code, "err", err)
			continue
		}
		keep = append(keep, c)
	}
	if len(keep) < len(list) {
		sps = sps[:0]
		for _, c := range keep {
			sps = append(sps, c.sp)
		}
		ps, _ = fhirdef.R4Params().With(sps)
	}
	s.params.mu.Lock()
	s.params.list = keep
	s.params.mu.Unlock()
	old := s.Definitions()
	if sameParams(old.Params(), ps) {
		return nil
	}
	defs := index.New(ps)
	// Writes in flight computed their rows with the old definitions; once
	// they have committed, every later write uses the new ones, and the
	// rebuild that follows walks every resource written before.
	s.writing.Lock()
	s.defs.Store(defs)
	s.writing.Unlock()
	s.log().Info("search parameters changed", "custom", len(keep), "generation", defs.Generation(s.IndexScope))
	s.kickReindex()
	return nil
}

// sameParams reports whether a and b hold the same custom parameters.
func sameParams(a, b *fhirdef.Params) bool {
	ca, cb := a.Custom(), b.Custom()
	return slices.EqualFunc(ca, cb, func(x, y fhirdef.SearchParameter) bool {
		return x.Code == y.Code && x.URL == y.URL && x.Type == y.Type && x.Expression == y.Expression &&
			slices.Equal(x.Base, y.Base) && slices.Equal(x.Target, y.Target) && slices.Equal(x.Components, y.Components) &&
			x.MultipleOr == y.MultipleOr && x.MultipleAnd == y.MultipleAnd &&
			slices.Equal(x.Modifiers, y.Modifiers) && slices.Equal(x.Comparators, y.Comparators)
	})
}
