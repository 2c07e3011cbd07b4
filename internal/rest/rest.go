// Package rest is the FHIR R4 REST API (http://hl7.org/fhir/R4/http.html)
// over the record service: routing, content negotiation, the Prefer,
// If-Match and If-None-Exist headers, ETag/Location/Last-Modified,
// _summary and _elements, Bundles for history and search, and the
// CapabilityStatement. Every error leaves as an OperationOutcome with the
// status its fhir.Kind decides; nothing here decides what is stored.
package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/person"
	"github.com/sharedcare/sharedcare/internal/record"
	"github.com/sharedcare/sharedcare/internal/store"
)

// DefaultMaxBody bounds a request body. The largest Bundles real feeds send
// are a few megabytes.
const DefaultMaxBody = 16 << 20

// Server serves the FHIR API under Prefix.
type Server struct {
	Svc *record.Service
	// Prefix is the path of the FHIR base ("/fhir").
	Prefix string
	// BaseURL, if set, is the absolute base used in Location, fullUrl and
	// links; otherwise it is taken from the request.
	BaseURL string
	MaxBody int64
	Log     *slog.Logger
	// Validate checks a resource for $validate, as writes do.
	Validate record.Validator
	// Software is reported in the CapabilityStatement.
	Version string
	// Source, if set, is the organisation writes are attributed to when a
	// request does not name one (see SourceHeader).
	Source record.Source
	// Persons, if set, serves the person index's operations (persons.go).
	Persons *person.Service
	// Bulk runs Bulk Data export and import jobs (bulk.go); nil: not offered.
	Bulk *bulk.Manager
	// Audit, if set, records every request (access.go); AuditLog, if set,
	// serves AuditEvent searches from the audit log (audit.go).
	Audit    AuditFunc
	AuditLog *audit.Log
	// OAuth, if set, is where apps sign in (the CapabilityStatement's
	// security section).
	OAuth *OAuthEndpoints

	capability []byte
	jobOwners  sync.Map // bulk job id → who started it (access.go)
}

// OAuthEndpoints are the authorization server's endpoints.
type OAuthEndpoints struct{ Authorize, Token string }

// New returns a Server for svc at prefix.
func New(svc *record.Service, prefix string, log *slog.Logger) *Server {
	return &Server{Svc: svc, Prefix: strings.TrimSuffix(prefix, "/"), MaxBody: DefaultMaxBody, Log: log, Validate: svc.Validate, Version: "dev"}
}

// Handler returns the FHIR API handler. Mount it at Prefix and at Prefix+"/".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := s.Prefix
	mux.HandleFunc(p, s.root)
	mux.HandleFunc(p+"/{$}", s.root)
	mux.HandleFunc(p+"/metadata", s.metadata)
	mux.HandleFunc(p+"/_history", s.systemHistory)
	mux.HandleFunc(p+"/"+ReindexStatusOp, s.reindexStatus) // a literal: wins over {type}
	mux.HandleFunc(p+"/{type}", s.typeLevel)
	mux.HandleFunc(p+"/{type}/_history", s.typeHistory)
	mux.HandleFunc(p+"/{type}/_search", s.searchPost)
	mux.HandleFunc(p+"/{type}/{id}", s.instance)
	mux.HandleFunc(p+"/{type}/{id}/_history", s.instanceHistory)
	mux.HandleFunc(p+"/{type}/{id}/{comp}", s.compartment)
	mux.HandleFunc(p+"/{type}/{id}/_history/{vid}", s.vread)
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fhir.E(fhir.NotFound, "no FHIR endpoint at %s", r.URL.Path))
	})
	return s.audited(s.attribute(s.bulkRoutes(s.negotiate(mux))))
}

// negotiate refuses formats other than JSON before any handler runs.
func (s *Server) negotiate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.URL.Query().Get("_format"); f != "" && !jsonFormat(f) {
			s.fail(w, r, fhir.E(fhir.NotAcceptable, "_format %q is not supported; this server speaks FHIR JSON only", f))
			return
		}
		if a := r.Header.Get("Accept"); a != "" && !acceptsJSON(a) {
			s.fail(w, r, fhir.E(fhir.NotAcceptable, "Accept %q is not supported; this server speaks FHIR JSON (application/fhir+json)", a))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func jsonFormat(f string) bool {
	switch strings.ToLower(strings.TrimSpace(strings.Split(f, ";")[0])) {
	case "json", "application/json", "application/fhir+json", "application/json+fhir":
		return true
	}
	return false
}

// acceptsJSON reports whether an Accept header admits JSON.
func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir", "text/json", "text/*", "text/html":
			return true
		}
	}
	return false
}

// body reads a request body of an accepted JSON media type.
func (s *Server) body(r *http.Request, allowPatch bool) ([]byte, bool, error) {
	isPatch := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, false, fhir.E(fhir.UnsupportedMedia, "Content-Type %q cannot be read", ct)
		}
		switch mt {
		case "application/fhir+json", "application/json", "application/json+fhir", "text/json":
		case "application/json-patch+json":
			if !allowPatch {
				return nil, false, fhir.E(fhir.UnsupportedMedia, "a JSON Patch is only accepted by PATCH")
			}
			isPatch = true
		case "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir":
			return nil, false, fhir.E(fhir.UnsupportedMedia, "Content-Type %q is not supported; send FHIR JSON (application/fhir+json)", ct)
		default:
			return nil, false, fhir.E(fhir.UnsupportedMedia, "Content-Type %q is not supported; send application/fhir+json", ct)
		}
	}
	max := s.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, false, fhir.E(fhir.TooLarge, "request body is larger than %d bytes", max)
		}
		return nil, false, fhir.E(fhir.Invalid, "cannot read request body: %v", err)
	}
	return b, isPatch, nil
}

// base returns the absolute FHIR base URL for links.
func (s *Server) base(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + s.Prefix
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		b, _, err := s.body(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.Svc.Bundle(r.Context(), b, s.base(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, r, http.StatusOK, s.bundleResponse(r, res))
	case http.MethodGet:
		s.search(w, r, record.SearchRequest{Params: r.URL.Query()})
	default:
		s.notAllowed(w, r, "GET, POST")
	}
}

func (s *Server) notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	s.fail(w, r, fhir.E(fhir.MethodNotAllowed, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
}

func (s *Server) typeLevel(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if typ == "AuditEvent" && s.AuditLog != nil {
		s.auditSearch(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.search(w, r, record.SearchRequest{Type: typ, Params: r.URL.Query()})
	case http.MethodPost:
		b, _, err := s.body(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.Svc.Create(r.Context(), typ, b, r.Header.Get("If-None-Exist"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		status := http.StatusCreated
		if res.Unchanged {
			status = http.StatusOK
		}
		s.writeResult(w, r, status, res)
	case http.MethodPut:
		b, _, err := s.body(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.URL.RawQuery == "" {
			s.fail(w, r, fhir.E(fhir.Invalid, "PUT on a type needs search criteria (conditional update) or an id in the URL"))
			return
		}
		res, err := s.Svc.ConditionalUpdate(r.Context(), typ, r.URL.RawQuery, b, r.Header.Get("If-Match"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeResult(w, r, writeStatus(res), res)
	case http.MethodPatch:
		b, _, err := s.body(r, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.URL.RawQuery == "" {
			s.fail(w, r, fhir.E(fhir.Invalid, "PATCH on a type needs search criteria (conditional patch)"))
			return
		}
		res, err := s.Svc.ConditionalPatch(r.Context(), typ, r.URL.RawQuery, b, r.Header.Get("If-Match"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeResult(w, r, http.StatusOK, res)
	case http.MethodDelete:
		if r.URL.RawQuery == "" {
			s.fail(w, r, fhir.E(fhir.Invalid, "DELETE on a type needs search criteria (conditional delete)"))
			return
		}
		if _, err := s.Svc.ConditionalDelete(r.Context(), typ, r.URL.RawQuery); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.notAllowed(w, r, "GET, POST, PUT, PATCH, DELETE")
	}
}

func writeStatus(res record.Result) int {
	if res.Created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) instance(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if strings.HasPrefix(id, "$") {
		s.operation(w, r, typ, id)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		res, err := s.Svc.Read(r.Context(), typ, id)
		if err != nil {
			if fhir.Is(err, fhir.Gone) && res != nil {
				setVersionHeaders(w, res)
			}
			s.fail(w, r, err)
			return
		}
		if notModified(w, r, res) {
			return
		}
		s.writeResource(w, r, http.StatusOK, res)
	case http.MethodPut:
		b, _, err := s.body(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.Svc.Update(r.Context(), typ, id, b, r.Header.Get("If-Match"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeResult(w, r, writeStatus(res), res)
	case http.MethodPatch:
		b, isPatch, err := s.body(r, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !isPatch {
			s.fail(w, r, fhir.E(fhir.UnsupportedMedia, "PATCH needs Content-Type application/json-patch+json"))
			return
		}
		res, err := s.Svc.Patch(r.Context(), typ, id, b, r.Header.Get("If-Match"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeResult(w, r, http.StatusOK, res)
	case http.MethodDelete:
		res, err := s.Svc.Delete(r.Context(), typ, id, r.Header.Get("If-Match"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if res.Resource != nil {
			w.Header().Set("ETag", record.ETag(res.Resource.Version))
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.notAllowed(w, r, "GET, HEAD, PUT, PATCH, DELETE")
	}
}

// notModified answers a conditional read (If-None-Match, If-Modified-Since)
// with 304 when the client's copy is current.
func notModified(w http.ResponseWriter, r *http.Request, res *store.Resource) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if v, ok := record.ParseETag(inm); ok && v == res.Version {
			setVersionHeaders(w, res)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !res.LastUpdated.Truncate(time.Second).After(t) {
			setVersionHeaders(w, res)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

func (s *Server) vread(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	res, err := s.Svc.VRead(r.Context(), r.PathValue("type"), r.PathValue("id"), r.PathValue("vid"))
	if err != nil {
		if fhir.Is(err, fhir.Gone) && res != nil {
			setVersionHeaders(w, res)
		}
		s.fail(w, r, err)
		return
	}
	s.writeResource(w, r, http.StatusOK, res)
}

func (s *Server) operation(w http.ResponseWriter, r *http.Request, typ, op string) {
	if typ == "Patient" && s.personOperation(w, r, op) {
		return
	}
	if typ == "Patient" && op == "$break-glass" {
		s.fail(w, r, fhir.E(fhir.Invalid, "$break-glass is asked on one Patient: POST Patient/[id]/$break-glass"))
		return
	}
	switch op {
	case "$validate":
		if r.Method != http.MethodPost {
			s.notAllowed(w, r, "POST")
			return
		}
		s.validate(w, r, typ)
	default:
		s.fail(w, r, fhir.E(fhir.NotSupported, "operation %s is not supported on %s", op, typ))
	}
}

// validate runs the write-time checks without storing. The body is the
// resource, or a Parameters with a "resource" parameter.
func (s *Server) validate(w http.ResponseWriter, r *http.Request, typ string) {
	if err := s.Svc.CheckType(typ); err != nil {
		s.fail(w, r, err)
		return
	}
	b, _, err := s.body(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := fhir.DecodeResource(b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if m["resourceType"] == "Parameters" && typ != "Parameters" {
		var found fhir.Object
		if ps, ok := m["parameter"].([]any); ok {
			for _, p := range ps {
				if pm, ok := p.(map[string]any); ok && pm["name"] == "resource" {
					found, _ = pm["resource"].(map[string]any)
				}
			}
		}
		if found == nil {
			s.fail(w, r, fhir.E(fhir.Invalid, "$validate with Parameters needs a parameter named resource"))
			return
		}
		m = found
	}
	if rt, _ := m["resourceType"].(string); rt != typ {
		s.fail(w, r, fhir.E(fhir.Invalid, "the resource is a %q, not a %q", rt, typ))
		return
	}
	var issues []fhir.Issue
	if s.Validate != nil {
		issues = s.Validate(m)
	}
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome"}
	failed := false
	for _, is := range issues {
		sev := is.Severity
		if sev == "" {
			sev = "error"
		}
		if sev == "error" || sev == "fatal" {
			failed = true
		}
		code := is.Code
		if code == "" {
			code = "invalid"
		}
		oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: sev, Code: code, Diagnostics: is.Diagnostics, Expression: is.Expression})
	}
	if len(oo.Issue) == 0 {
		oo.Issue = []fhir.OutcomeIssue{{Severity: "information", Code: "informational", Diagnostics: "the resource is valid"}}
	}
	status := http.StatusOK
	if failed {
		status = http.StatusUnprocessableEntity
	}
	s.writeJSON(w, r, status, oo)
}

// writeResult answers a write per the Prefer header.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, status int, res record.Result) {
	if res.Resource == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Location", s.base(r)+"/"+res.Resource.Type+"/"+res.Resource.ID+"/_history/"+strconv.FormatInt(res.Resource.Version, 10))
	switch preferReturn(r) {
	case "minimal":
		setVersionHeaders(w, res.Resource)
		w.WriteHeader(status)
	case "OperationOutcome":
		setVersionHeaders(w, res.Resource)
		msg := "stored " + res.Resource.Type + "/" + res.Resource.ID + " version " + strconv.FormatInt(res.Resource.Version, 10)
		if res.Unchanged {
			msg = "matched existing " + res.Resource.Type + "/" + res.Resource.ID + "; nothing was stored"
		}
		s.writeJSON(w, r, status, fhir.Info(msg))
	default:
		s.writeResource(w, r, status, res.Resource)
	}
}

// preferReturn reads the return preference: representation (default),
// minimal or OperationOutcome.
func preferReturn(r *http.Request) string {
	for _, v := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(v, ";") {
			part = strings.TrimSpace(part)
			if val, ok := strings.CutPrefix(part, "return="); ok {
				val = strings.Trim(val, `"`)
				switch val {
				case "minimal", "representation", "OperationOutcome":
					return val
				}
			}
		}
	}
	return "representation"
}

func setVersionHeaders(w http.ResponseWriter, res *store.Resource) {
	w.Header().Set("ETag", record.ETag(res.Version))
	w.Header().Set("Last-Modified", res.LastUpdated.UTC().Format(http.TimeFormat))
}

// writeResource sends a stored resource, shaped by _summary and _elements.
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, res *store.Resource) {
	setVersionHeaders(w, res)
	body := res.Body
	q := r.URL.Query()
	if q.Get("_summary") != "" || q.Get("_elements") != "" {
		shaped, err := shape(body, res.Type, q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body = shaped
	}
	s.writeRaw(w, r, status, body)
}

// writeJSON marshals v and sends it.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	var err error
	if m, ok := v.(map[string]any); ok {
		b, err = fhir.MarshalResource(m) // resourceType first
	} else {
		b, err = fhir.Marshal(v)
	}
	if err != nil {
		s.Log.Error("encode response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeRaw(w, r, status, b)
}

// writeRaw sends JSON bytes, indented if _pretty=true.
func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	if r.URL.Query().Get("_pretty") == "true" {
		var buf bytes.Buffer
		if json.Indent(&buf, b, "", "  ") == nil {
			b = buf.Bytes()
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// fail sends err as an OperationOutcome. Internal errors are logged with
// their cause; the client sees only that the server failed.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	k := fhir.KindOf(err)
	if k == fhir.Internal {
		s.Log.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path)
	} else if errors.Is(err, r.Context().Err()) {
		k = fhir.Unavailable
	}
	s.writeJSON(w, r, k.Status(), fhir.Outcome(err))
}

func queryWithout(q url.Values, drop ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	for _, d := range drop {
		delete(out, d)
	}
	return out
}
