package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// bundle is the subset of Bundle the server writes.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Meta         *bundleMeta   `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int64        `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode      string   `json:"mode"`
	Score     *float64 `json:"score,omitempty"`
	Extension []any    `json:"extension,omitempty"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string                 `json:"status"`
	Location     string                 `json:"location,omitempty"`
	Etag         string                 `json:"etag,omitempty"`
	LastModified string                 `json:"lastModified,omitempty"`
	Outcome      *fhir.OperationOutcome `json:"outcome,omitempty"`
}

func newBundle(typ string) *bundle {
	return &bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: typ, Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(fhir.Now())}}
}

func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// bundleResponse renders a batch-response or transaction-response.
func (s *Server) bundleResponse(r *http.Request, res *record.BundleResult) *bundle {
	base := s.base(r)
	pref := preferReturn(r)
	b := newBundle(res.Type)
	b.Entry = make([]bundleEntry, len(res.Entries))
	for i, er := range res.Entries {
		e := &b.Entry[i]
		if er.Err != nil {
			e.Response = &entryResponse{Status: statusText(er.Status), Outcome: fhir.Outcome(er.Err)}
			continue
		}
		rsc := er.Result.Resource
		if er.Read != nil {
			rsc = er.Read
		}
		e.Response = &entryResponse{Status: statusText(er.Status)}
		if rsc == nil {
			continue
		}
		e.Response.Etag = record.ETag(rsc.Version)
		e.Response.LastModified = fhir.FormatInstant(rsc.LastUpdated)
		if er.Method == "GET" || er.Method == "HEAD" {
			e.FullURL = base + "/" + rsc.Type + "/" + rsc.ID
			if er.Method == "GET" {
				e.Resource = rsc.Body
			}
			continue
		}
		if rsc.Deleted {
			continue
		}
		e.FullURL = base + "/" + rsc.Type + "/" + rsc.ID
		e.Response.Location = rsc.Type + "/" + rsc.ID + "/_history/" + strconv.FormatInt(rsc.Version, 10)
		switch pref {
		case "representation":
			if res.Type == "batch-response" || r.Header.Get("Prefer") != "" {
				e.Resource = rsc.Body
			}
		case "OperationOutcome":
			e.Response.Outcome = fhir.Info("stored " + e.Response.Location)
		}
	}
	return b
}

func (s *Server) systemHistory(w http.ResponseWriter, r *http.Request) {
	s.history(w, r, "", "")
}

func (s *Server) typeHistory(w http.ResponseWriter, r *http.Request) {
	s.history(w, r, r.PathValue("type"), "")
}

func (s *Server) instanceHistory(w http.ResponseWriter, r *http.Request) {
	s.history(w, r, r.PathValue("type"), r.PathValue("id"))
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, typ, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	if id != "" && !record.ValidID(id) {
		s.fail(w, r, fhir.E(fhir.NotFound, "%s/%s not found", typ, id))
		return
	}
	q := r.URL.Query()
	page, err := s.Svc.History(r.Context(), typ, id, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id != "" && len(page.Versions) == 0 && q.Get("_page") == "" && q.Get("_since") == "" && q.Get("_at") == "" {
		if _, err := s.Svc.Store.Read(r.Context(), typ, id); err != nil {
			s.fail(w, r, fhir.E(fhir.NotFound, "%s/%s not found", typ, id))
			return
		}
	}
	base := s.base(r)
	path := base
	if typ != "" {
		path += "/" + typ
	}
	if id != "" {
		path += "/" + id
	}
	path += "/_history"
	b := newBundle("history")
	b.pageLinks(path, q, page.Next)
	for i := range page.Versions {
		v := &page.Versions[i]
		e := bundleEntry{FullURL: base + "/" + v.Type + "/" + v.ID}
		if !v.Deleted {
			e.Resource = v.Body
		}
		status := http.StatusOK
		switch {
		case v.Deleted:
			status = http.StatusNoContent
		case v.Version == 1:
			status = http.StatusCreated
		}
		e.Request = &entryRequest{Method: v.Method, URL: v.Type + "/" + v.ID}
		if v.Method == "POST" {
			e.Request.URL = v.Type
		}
		e.Response = &entryResponse{Status: statusText(status), Etag: record.ETag(v.Version), LastModified: fhir.FormatInstant(v.LastUpdated)}
		b.Entry = append(b.Entry, e)
	}
	s.writeJSON(w, r, http.StatusOK, b)
}

// pageLinks adds the self link and, if there is a next page, the next link.
func (b *bundle) pageLinks(path string, q url.Values, next string) {
	b.Link = append(b.Link, bundleLink{"self", path + encodeQuery(q)})
	if next != "" {
		nq := queryWithout(q, "_page")
		nq.Set("_page", next)
		b.Link = append(b.Link, bundleLink{"next", path + encodeQuery(nq)})
	}
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
