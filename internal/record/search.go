package record

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// MaxIncluded caps the resources _include and _revinclude add to one page;
// past it the page says so in an OperationOutcome rather than growing
// without bound.
const MaxIncluded = 1000

// maxIterate caps the rounds of :iterate includes.
const maxIterate = 4

// SearchRequest is a search at system (Type "", types from _type), type or
// Patient compartment level.
type SearchRequest struct {
	Type string
	// Compartment is the id of the Patient whose compartment is searched
	// (GET /Patient/{id}/{type}); Type "" then means every type in it.
	Compartment string
	Params      url.Values
	// Strict is Prefer: handling=strict.
	Strict bool
	// care is $everything's start and end.
	care *[2]int64
	// linked are the Patients searched with Compartment (see store.SearchQuery.Linked).
	linked []string
}

// SearchResult is one page of a search.
type SearchResult struct {
	// Query is what was applied; its String is the self link's query.
	Query    *search.Query
	Matches  []store.Resource
	Included []store.Resource
	// Total is the number of matches, when asked for (_total, _summary=
	// count) or known for free (a first page that holds every match).
	Total *int64
	// Next and Prev are page tokens ("_page"), "" when there is no such
	// page.
	Next, Prev string
	// Warnings are issues to report in the Bundle (ignored parameters,
	// capped includes).
	Warnings []string
	// LinkParams, when set, are the links' query in place of Query's:
	// an operation's own parameters (Patient/$everything's _since, start,
	// end), which its links must repeat for the next page to be the same
	// operation's. _page is added to them.
	LinkParams url.Values
}

// Search runs a search through the planner.
func (s *Service) Search(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	if req.Type != "" {
		if err := s.CheckType(req.Type); err != nil {
			return nil, err
		}
	}
	if req.Compartment != "" && !ValidID(req.Compartment) {
		return nil, fhir.E(fhir.Invalid, "%q is not a valid Patient id", req.Compartment)
	}
	if req.Type == "Patient" || req.Compartment != "" {
		s.syncPersons(ctx)
	}
	params, err := s.expandPersons(ctx, req.Type, req.Params)
	if err != nil {
		return nil, err
	}
	q, err := search.Parse(req.Type, params, search.Options{Strict: req.Strict, MaxCount: MaxCount, Params: s.Definitions().Params()})
	if err != nil {
		return nil, err
	}
	clauses, err := s.expandValueSets(ctx, q.Clauses)
	if err != nil {
		return nil, err
	}
	res := &SearchResult{Query: q}
	for _, ig := range q.Ignored {
		res.Warnings = append(res.Warnings, "parameter "+ig.Param+" was ignored: "+ig.Reason)
	}
	sq := store.SearchQuery{Clauses: clauses, Sort: q.Sort, Compartment: req.Compartment, Linked: req.linked, Care: req.care}
	switch {
	case req.Type != "":
		sq.Types = []string{req.Type}
	case len(q.Types) > 0:
		sq.Types = q.Types
	}
	if err := s.checkIndexed(ctx, q, sq.Types); err != nil {
		return nil, err
	}
	if _, err := s.guardSearch(ctx, &req, q, &sq, res); err != nil {
		return nil, err
	}
	if req.Compartment != "" && len(sq.Types) > 0 {
		for _, t := range sq.Types {
			if len(fhirdef.PatientCompartmentParams(t)) == 0 && t != "Patient" {
				return nil, fhir.E(fhir.Invalid, "%s is not in the Patient compartment", t)
			}
		}
	}
	if q.Summary == "count" || q.Total == "accurate" || q.Total == "estimate" {
		n, err := s.Store.SearchCount(ctx, sq)
		if err != nil {
			return nil, err
		}
		res.Total = &n
		if q.Summary == "count" {
			return res, nil
		}
	}
	n := DefaultCount
	if q.Count != nil {
		n = max(*q.Count, 1)
	}
	if q.Page != "" {
		c, back, err := decodeSearchCursor(q.Page, len(q.Sort))
		if err != nil {
			return nil, err
		}
		sq.Cursor, sq.Backward = c, back
	}
	sq.Limit = n + 1
	hits, err := s.Store.Search(ctx, sq)
	if err != nil {
		return nil, err
	}
	more := len(hits) > n
	if more {
		hits = hits[:n]
	}
	if sq.Backward {
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}
	for _, h := range hits {
		res.Matches = append(res.Matches, h.Resource)
	}
	// Links: going forward, a next page exists when more came back; a
	// previous one whenever this page started from a cursor. Going back,
	// the reverse.
	if len(hits) > 0 {
		first, last := hits[0], hits[len(hits)-1]
		hasNext, hasPrev := more, sq.Cursor != nil
		if sq.Backward {
			hasNext, hasPrev = true, more
		}
		if hasNext {
			res.Next = encodeSearchCursor(last, false)
		}
		if hasPrev {
			res.Prev = encodeSearchCursor(first, true)
		}
	}
	if res.Total == nil && sq.Cursor == nil && !more && q.Total != "none" {
		t := int64(len(hits))
		res.Total = &t
	}
	if err := s.include(ctx, q, res); err != nil {
		return nil, err
	}
	if err := s.filterIncluded(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// include adds the _include and _revinclude resources of the page: first
// from the matches, then, for :iterate, from what was added, until nothing
// new comes or the caps are reached.
func (s *Service) include(ctx context.Context, q *search.Query, res *SearchResult) error {
	if len(q.Include) == 0 && len(q.RevInclude) == 0 {
		return nil
	}
	seen := map[store.Key]bool{}
	for _, r := range res.Matches {
		seen[store.Key{Type: r.Type, ID: r.ID}] = true
	}
	from := res.Matches
	for round := 0; len(from) > 0 && round <= maxIterate; round++ {
		keys := make([]store.Key, len(from))
		for i, r := range from {
			keys[i] = store.Key{Type: r.Type, ID: r.ID}
		}
		var added []store.Resource
		add := func(rs []store.Resource) {
			for _, r := range rs {
				k := store.Key{Type: r.Type, ID: r.ID}
				if !seen[k] && len(res.Included) < MaxIncluded {
					seen[k] = true
					res.Included = append(res.Included, r)
					added = append(added, r)
				}
			}
		}
		for _, in := range q.Include {
			if round > 0 && !in.Iterate {
				continue
			}
			var of []store.Key
			for _, k := range keys {
				if in.Source == k.Type || in.Source == "*" {
					of = append(of, k)
				}
			}
			if len(of) == 0 {
				continue
			}
			iq := store.IncludeQuery{Of: of, TargetType: in.Target, Limit: MaxIncluded + 1}
			if !in.Wildcard {
				iq.Params = []string{in.Code}
			}
			rs, err := s.Store.Include(ctx, iq)
			if err != nil {
				return err
			}
			add(rs)
		}
		for _, in := range q.RevInclude {
			if round > 0 && !in.Iterate {
				continue
			}
			iq := store.IncludeQuery{Reverse: true, Of: keys, SourceType: in.Source, Limit: MaxIncluded + 1}
			if !in.Wildcard {
				iq.Params = []string{in.Code}
			}
			rs, err := s.Store.Include(ctx, iq)
			if err != nil {
				return err
			}
			add(rs)
		}
		if len(res.Included) >= MaxIncluded {
			res.Warnings = append(res.Warnings, "included resources were capped at "+strconv.Itoa(MaxIncluded)+"; use a smaller _count")
			break
		}
		from = added
	}
	return nil
}

// A search cursor is the sort key values, type and id of the hit a page
// continues from, and the direction: base64url of a small JSON array.
// Key values are tagged with their type so they round-trip exactly.
func encodeSearchCursor(h store.SearchHit, back bool) string {
	keys := make([]string, len(h.Keys))
	for i, k := range h.Keys {
		switch v := k.(type) {
		case int64:
			keys[i] = "i" + strconv.FormatInt(v, 10)
		case float64:
			keys[i] = "f" + strconv.FormatFloat(v, 'g', -1, 64)
		case string:
			keys[i] = "s" + v
		case nil:
			keys[i] = "n"
		default:
			keys[i] = "s" + fmtAny(v)
		}
	}
	dir := "n"
	if back {
		dir = "p"
	}
	b, _ := json.Marshal([]any{dir, h.Type, h.ID, keys})
	return base64.RawURLEncoding.EncodeToString(b)
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeSearchCursor(tok string, nkeys int) (*store.SearchCursor, bool, error) {
	bad := fhir.E(fhir.Invalid, "_page %q is not a page token of this search", tok)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, false, bad
	}
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil || len(raw) != 4 {
		return nil, false, bad
	}
	var dir string
	c := &store.SearchCursor{}
	var keys []string
	if json.Unmarshal(raw[0], &dir) != nil || json.Unmarshal(raw[1], &c.Type) != nil ||
		json.Unmarshal(raw[2], &c.ID) != nil || json.Unmarshal(raw[3], &keys) != nil ||
		(dir != "n" && dir != "p") || len(keys) != nkeys || !ValidID(c.ID) {
		return nil, false, bad
	}
	for _, k := range keys {
		if k == "" {
			return nil, false, bad
		}
		switch k[0] {
		case 'i':
			n, err := strconv.ParseInt(k[1:], 10, 64)
			if err != nil {
				return nil, false, bad
			}
			c.Keys = append(c.Keys, n)
		case 'f':
			f, err := strconv.ParseFloat(k[1:], 64)
			if err != nil {
				return nil, false, bad
			}
			c.Keys = append(c.Keys, f)
		case 's':
			c.Keys = append(c.Keys, strings.Clone(k[1:]))
		case 'n':
			c.Keys = append(c.Keys, nil)
		default:
			return nil, false, bad
		}
	}
	return c, dir == "p", nil
}
