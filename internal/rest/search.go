package rest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// maxSearchForm bounds a POST _search body.
const maxSearchForm = 1 << 20

func (s *Server) searchPost(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.notAllowed(w, r, "POST")
		return
	}
	form, err := searchForm(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.search(w, r, record.SearchRequest{Type: r.PathValue("type"), Params: form})
}

// searchForm reads the parameters of POST _search: the form body, and any
// in the URL too (both count, as the specification allows).
func searchForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, fhir.E(fhir.UnsupportedMedia, "POST _search takes application/x-www-form-urlencoded, not %s", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSearchForm)
	if err := r.ParseForm(); err != nil {
		return nil, fhir.E(fhir.Invalid, "cannot read the search form: %v", err)
	}
	return r.Form, nil
}

// compartment serves GET /Patient/{id}/{type} (and * for every type), and
// the instance operations named like a compartment (/Patient/{id}/$op).
func (s *Server) compartment(w http.ResponseWriter, r *http.Request) {
	typ, id, comp := r.PathValue("type"), r.PathValue("id"), r.PathValue("comp")
	if strings.HasPrefix(comp, "$") {
		s.instanceOperation(w, r, typ, id, comp)
		return
	}
	if typ != "Patient" {
		s.fail(w, r, fhir.E(fhir.NotFound, "compartment searches are supported for Patient, not %s", typ))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	if comp == "*" {
		comp = ""
	}
	s.search(w, r, record.SearchRequest{Type: comp, Compartment: id, Params: r.URL.Query()})
}

// strictHandling reads Prefer: handling=strict (lenient is the default).
func strictHandling(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "handling" {
				return strings.Trim(strings.TrimSpace(val), `"`) == "strict"
			}
		}
	}
	return false
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, req record.SearchRequest) {
	req.Strict = strictHandling(r)
	res, err := s.Svc.Search(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	path := s.base(r)
	switch {
	case req.Compartment != "":
		path += "/Patient/" + req.Compartment + "/"
		if req.Type == "" {
			path += "*"
		} else {
			path += req.Type
		}
	case req.Type != "":
		path += "/" + req.Type
	}
	s.searchBundle(w, r, path, res, req.Params)
}

// searchBundle writes a searchset Bundle: links from the applied query,
// matches, included resources and an outcome entry for warnings.
func (s *Server) searchBundle(w http.ResponseWriter, r *http.Request, path string, res *record.SearchResult, params url.Values) {
	base := s.base(r)
	var err error
	b := newBundle("searchset")
	b.Total = res.Total
	q := *res.Query
	link := func(rel, page string) {
		q.Page = page
		qs := q.String()
		if res.LinkParams != nil {
			lp := maps.Clone(res.LinkParams)
			if page != "" {
				lp.Set("_page", page)
			}
			qs = lp.Encode()
		}
		u := path
		if qs != "" {
			u += "?" + qs
		}
		b.Link = append(b.Link, bundleLink{rel, u})
	}
	link("self", q.Page)
	if res.Next != "" {
		link("next", res.Next)
	}
	if res.Prev != "" {
		link("previous", res.Prev)
	}
	shaped := q.Summary != "" || len(q.Elements) > 0
	add := func(rs []store.Resource, mode string) bool {
		for i := range rs {
			res := &rs[i]
			body := res.Body
			if shaped {
				if body, err = shape(body, res.Type, params); err != nil {
					s.fail(w, r, err)
					return false
				}
			}
			b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/" + res.Type + "/" + res.ID, Resource: body, Search: &entrySearch{Mode: mode}})
		}
		return true
	}
	if !add(res.Matches, "match") || !add(res.Included, "include") {
		return
	}
	if len(res.Warnings) > 0 {
		oo := fhir.Warnings(res.Warnings)
		body, err := json.Marshal(oo)
		if err == nil {
			b.Entry = append(b.Entry, bundleEntry{Resource: body, Search: &entrySearch{Mode: "outcome"}})
		}
	}
	s.writeJSON(w, r, http.StatusOK, b)
}

// instanceOperation serves /{type}/{id}/$op.
func (s *Server) instanceOperation(w http.ResponseWriter, r *http.Request, typ, id, op string) {
	if typ == "Task" && s.reviewOperation(w, r, id, op) {
		return
	}
	switch {
	case typ == "Patient" && op == "$everything":
		s.everything(w, r, id)
	case typ == "Patient" && op == "$break-glass":
		s.breakGlass(w, r, id)
	default:
		s.fail(w, r, fhir.E(fhir.NotSupported, "operation %s is not supported on %s/%s", op, typ, id))
	}
}

// everything serves Patient/{id}/$everything.
func (s *Server) everything(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	res, err := s.Svc.Everything(r.Context(), id, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.searchBundle(w, r, s.base(r)+"/Patient/"+id+"/$everything", res, r.URL.Query())
}
