package rest

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// Bulk Data (https://hl7.org/fhir/uv/bulkdata/, v2), over Server.Bulk:
//
//	GET    [base]/$export                  every resource (of _type)
//	GET    [base]/Patient/$export          every Patient's compartment
//	GET    [base]/Group/{id}/$export       each member Patient's compartment
//	POST   [base]/$import                  a Parameters of inputs to fetch, or an NDJSON upload
//	GET    [base]/$bulk-status/{job}       202 with X-Progress while running; 200 and the manifest when done
//	DELETE [base]/$bulk-status/{job}       cancel, and remove the job's files
//	GET    [base]/$bulk-file/{job}/{file}  one NDJSON file of a finished job
//
// Kick-offs need Prefer: respond-async and answer 202 with the status URL
// in Content-Location. These routes are matched before the rest of the API
// (bulkRoutes), because the files are NDJSON, which the API's JSON-only
// negotiation would refuse, and because their paths would otherwise meet
// the {type}/{id}/... patterns.

// ndjsonTypes are the media types accepted for NDJSON (_outputFormat,
// inputFormat, an upload's Content-Type).
var ndjsonTypes = map[string]bool{
	"application/fhir+ndjson": true,
	"application/ndjson":      true,
	"ndjson":                  true,
	"application/x-ndjson":    true,
}

// retryAfter is what a running job's status says about polling again.
const retryAfter = "2"

// bulkRoutes serves the Bulk Data endpoints and passes every other request
// to next.
func (s *Server) bulkRoutes(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	p := s.Prefix
	mux.Handle(p+"/$export", s.negotiate(s.exportKickoff(bulk.System)))
	mux.Handle(p+"/Patient/$export", s.negotiate(s.exportKickoff(bulk.Patients)))
	mux.Handle(p+"/Group/{id}/$export", s.negotiate(s.exportKickoff(bulk.Group)))
	mux.Handle(p+"/$import", s.negotiate(http.HandlerFunc(s.importKickoff)))
	mux.Handle(p+"/$bulk-status/{job}", s.negotiate(http.HandlerFunc(s.bulkStatus)))
	mux.HandleFunc(p+"/$bulk-file/{job}/{file}", s.bulkFile)
	mux.Handle("/", next)
	return mux
}

// bulkReady fails the request unless bulk jobs are configured.
func (s *Server) bulkReady(w http.ResponseWriter, r *http.Request) bool {
	if s.Bulk == nil {
		s.fail(w, r, fhir.E(fhir.NotSupported, "bulk data is not enabled on this server"))
		return false
	}
	return true
}

// preferAsync reports Prefer: respond-async.
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ';' }) {
			if strings.EqualFold(strings.TrimSpace(part), "respond-async") {
				return true
			}
		}
	}
	return false
}

// requestURL is the absolute URL of r, for manifests.
func (s *Server) requestURL(r *http.Request) string {
	u := s.base(r) + strings.TrimPrefix(r.URL.Path, s.Prefix)
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

func (s *Server) exportKickoff(level bulk.Level) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			s.notAllowed(w, r, "GET")
			return
		}
		if !s.bulkReady(w, r) {
			return
		}
		if !preferAsync(r) {
			s.fail(w, r, fhir.E(fhir.Invalid, "$export runs asynchronously: send the header Prefer: respond-async"))
			return
		}
		req, err := exportRequest(r, level)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		owner := jobOwner(r)
		r, ok := s.bulkAllowed(w, r, true)
		if !ok {
			return
		}
		job, err := s.Bulk.StartExport(r.Context(), req, s.requestURL(r), s.base(r))
		if job != nil {
			s.jobOwners.Store(job.ID, owner)
		}
		s.accepted(w, r, job, err)
	})
}

// exportRequest reads an export kick-off's parameters.
func exportRequest(r *http.Request, level bulk.Level) (bulk.ExportRequest, error) {
	req := bulk.ExportRequest{Level: level, GroupID: r.PathValue("id")}
	seen := map[string]bool{}
	for k, vs := range r.URL.Query() {
		switch k {
		case "_outputFormat":
			for _, v := range vs {
				if !ndjsonTypes[strings.TrimSpace(v)] {
					return req, fhir.E(fhir.Invalid, "_outputFormat %q is not supported: exports are application/fhir+ndjson", v)
				}
			}
		case "_type":
			for _, v := range vs {
				for _, t := range strings.Split(v, ",") {
					t = strings.TrimSpace(t)
					if t == "" {
						return req, fhir.E(fhir.Invalid, "_type has an empty entry")
					}
					if !seen[t] {
						seen[t] = true
						req.Types = append(req.Types, t)
					}
				}
			}
		case "_since":
			if len(vs) != 1 {
				return req, fhir.E(fhir.Invalid, "_since may be given once")
			}
			t, err := record.ParseInstant(vs[0])
			if err != nil {
				return req, fhir.E(fhir.Invalid, "_since %q is not a FHIR instant", vs[0])
			}
			req.Since = t
		case "_format", "_pretty":
		case "_typeFilter", "_elements", "patient", "includeAssociatedData", "_until", "organizeOutputBy", "allowPartialManifests":
			return req, fhir.E(fhir.Invalid, "$export parameter %s is not supported by this server", k)
		default:
			return req, fhir.E(fhir.Invalid, "$export does not take the parameter %q", k)
		}
	}
	return req, nil
}

// accepted answers a kick-off: 202 and the status URL, or the error.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, job *bulk.Job, err error) {
	if errors.Is(err, bulk.ErrBusy) {
		w.Header().Set("Retry-After", "10")
		oo := fhir.Outcome(err)
		oo.Issue[0].Code = "throttled"
		s.writeJSON(w, r, http.StatusTooManyRequests, oo)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Location", s.base(r)+bulk.StatusPath(job.ID))
	s.writeJSON(w, r, http.StatusAccepted, fhir.Info("bulk "+string(job.Kind)+" "+job.ID+" started; poll the URL in Content-Location"))
}

func (s *Server) importKickoff(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.notAllowed(w, r, "POST")
		return
	}
	if !s.bulkReady(w, r) {
		return
	}
	if !preferAsync(r) {
		s.fail(w, r, fhir.E(fhir.Invalid, "$import runs asynchronously: send the header Prefer: respond-async"))
		return
	}
	if _, ok := s.bulkAllowed(w, r, false); !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		s.fail(w, r, fhir.E(fhir.UnsupportedMedia, "Content-Type %q cannot be read", ct))
		return
	}
	var req bulk.ImportRequest
	switch {
	case ndjsonTypes[mt]:
		for k := range r.URL.Query() {
			if k != "_format" && k != "_pretty" {
				s.fail(w, r, fhir.E(fhir.Invalid, "$import does not take the parameter %q", k))
				return
			}
		}
		req.Upload = http.MaxBytesReader(w, r.Body, s.Bulk.Options().MaxUpload)
	case ct == "" || mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir":
		b, _, err := s.body(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if req.Inputs, err = importParameters(b); err != nil {
			s.fail(w, r, err)
			return
		}
	default:
		s.fail(w, r, fhir.E(fhir.UnsupportedMedia, "$import takes a Parameters resource (application/fhir+json) or NDJSON (application/fhir+ndjson), not %q", ct))
		return
	}
	job, err := s.Bulk.StartImport(r.Context(), req, s.requestURL(r), s.base(r))
	if job != nil {
		s.jobOwners.Store(job.ID, jobOwner(r))
	}
	s.accepted(w, r, job, err)
}

// importParameters reads the Parameters of an import kick-off, in the
// shape of the Bulk Data import proposal:
//
//	inputFormat  valueCode  application/fhir+ndjson
//	inputSource  valueUri   where the data comes from (recorded, not used)
//	input        part: type (valueCode), url (valueUrl); repeated
func importParameters(b []byte) ([]bulk.ImportSource, error) {
	m, err := fhir.DecodeResource(b)
	if err != nil {
		return nil, err
	}
	if rt, _ := m["resourceType"].(string); rt != "Parameters" {
		return nil, fhir.E(fhir.Invalid, "$import takes a Parameters resource, not %q", rt)
	}
	value := func(p map[string]any, keys ...string) (string, bool) {
		for _, k := range keys {
			if v, ok := p[k].(string); ok {
				return v, true
			}
		}
		return "", false
	}
	var inputs []bulk.ImportSource
	params, _ := m["parameter"].([]any)
	for i, pv := range params {
		p, _ := pv.(map[string]any)
		name, _ := p["name"].(string)
		switch name {
		case "inputFormat":
			v, ok := value(p, "valueCode", "valueString")
			if !ok || !ndjsonTypes[v] {
				return nil, fhir.E(fhir.Invalid, "inputFormat %q is not supported: send application/fhir+ndjson", v)
			}
		case "inputSource", "storageDetail", "mode":
		case "input":
			var in bulk.ImportSource
			parts, _ := p["part"].([]any)
			for _, qv := range parts {
				q, _ := qv.(map[string]any)
				switch q["name"] {
				case "type":
					in.Type, _ = value(q, "valueCode", "valueString")
				case "url":
					in.URL, _ = value(q, "valueUrl", "valueUri", "valueString")
				}
			}
			if in.URL == "" {
				return nil, fhir.E(fhir.Invalid, "Parameters.parameter[%d]: an input needs a url part", i)
			}
			inputs = append(inputs, in)
		default:
			return nil, fhir.E(fhir.Invalid, "$import does not take the parameter %q", name)
		}
	}
	if len(inputs) == 0 {
		return nil, fhir.E(fhir.Invalid, "$import needs at least one input parameter (or an NDJSON upload)")
	}
	return inputs, nil
}

func (s *Server) bulkStatus(w http.ResponseWriter, r *http.Request) {
	if !s.bulkReady(w, r) {
		return
	}
	id := r.PathValue("job")
	if !s.ownsJob(w, r, id) {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		job, ok := s.Bulk.Job(id)
		if !ok {
			s.fail(w, r, fhir.E(fhir.NotFound, "no bulk job %s: it finished long ago, was cancelled, or the server restarted since", id))
			return
		}
		st := job.Status()
		switch {
		case !st.Done:
			w.Header().Set("X-Progress", st.Progress)
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(http.StatusAccepted)
		case st.Err != nil:
			s.fail(w, r, st.Err)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				w.Write(st.Manifest)
			}
		}
	case http.MethodDelete:
		if err := s.Bulk.Cancel(id); err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, r, http.StatusAccepted, fhir.Info("bulk job "+id+" cancelled and its files removed"))
	default:
		s.notAllowed(w, r, "GET, HEAD, DELETE")
	}
}

func (s *Server) bulkFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	if !s.bulkReady(w, r) {
		return
	}
	if !s.ownsJob(w, r, r.PathValue("job")) {
		return
	}
	f, err := s.Bulk.File(r.PathValue("job"), r.PathValue("file"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	http.ServeContent(w, r, "", time.Time{}, f)
}
