package rest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/bulk"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// AuditFunc records one request for the audit log: what the access
// decisions noted while it ran, and how it ended. It returns once the
// entry is durable when sync is set (writes are not acknowledged before
// their audit entry is).
type AuditFunc func(r *http.Request, status int, n access.NoteSummary, sync bool)

// audited gives each request an access note and, at its end, hands the
// note to s.Audit. A write's response is held back until its audit entry
// is stored, so nothing acknowledged goes unaudited.
func (s *Server) audited(next http.Handler) http.Handler {
	if s.Audit == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, note := access.WithNote(r.Context())
		r = r.WithContext(ctx)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			s.Audit(r, rec.status, note.Summary(), false)
			return
		}
		bw := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(bw, r)
		if bw.status == 0 {
			bw.status = http.StatusOK
		}
		s.Audit(r, bw.status, note.Summary(), true)
		for k, v := range bw.header {
			w.Header()[k] = v
		}
		w.WriteHeader(bw.status)
		w.Write(bw.body.Bytes())
	})
}

// bufferedWriter holds a response until it may be sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// breakGlass serves Patient/{id}/$break-glass: a professional without a
// legitimate relationship opens the record by stating a reason (Parameters
// reason, a code: emergency, safeguarding or direct-care; and text). The
// answer says until when; the privacy officer reviews it.
func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request, id string) {
	ps, ok := s.postedParameters(w, r)
	if !ok {
		return
	}
	reason, text := "", ""
	if v := ps["reason"]; len(v) == 1 {
		reason, _ = v[0]["valueCode"].(string)
		if reason == "" {
			if c, _ := v[0]["valueCoding"].(map[string]any); c != nil {
				reason, _ = c["code"].(string)
			}
		}
	}
	if v := ps["text"]; len(v) == 1 {
		text, _ = v[0]["valueString"].(string)
	}
	g, err := s.Svc.BreakGlass(r.Context(), id, reason, text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "until", "valueInstant": fhir.FormatInstant(g.Until)},
		map[string]any{"name": "review", "valueReference": map[string]any{"reference": g.TaskRef}},
		map[string]any{"name": "outcome", "resource": fhir.Info("the record is open to you until " + fhir.FormatInstant(g.Until) + "; this access is reviewed by a privacy officer and shown to the patient")},
	}})
}

// managesPersons refuses the person index's operations (merge, unmerge,
// review decisions) to all but systems and administrators, and returns
// the context to run them in: as the person index itself, since the
// records they rewrite are not the caller's to read.
func (s *Server) managesPersons(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if s.Svc.Policy() == nil {
		return r, true
	}
	pr := access.From(r.Context())
	if pr == nil {
		s.fail(w, r, fhir.E(fhir.Unauthorized, "sign in to use the shared record"))
		return nil, false
	}
	if pr.Kind != access.System && !(pr.Kind == access.User && pr.Role == access.RoleAdmin) {
		s.fail(w, r, fhir.E(fhir.Forbidden, "merging and linking records is for administrators and systems"))
		return nil, false
	}
	if !pr.Unscoped && pr.Kind == access.System && pr.Scopes.Grants(access.CtxSystem, "Patient")&access.Update == 0 {
		s.fail(w, r, fhir.E(fhir.Forbidden, "the token's scopes do not allow changing Patient records"))
		return nil, false
	}
	sys := access.SystemPrincipal("person-index", pr.Org)
	return r.WithContext(access.WithPrincipal(r.Context(), sys)), true
}

// matchesPersons refuses Patient/$match to those who may not search
// Patients across people (patients may not look for others).
func (s *Server) matchesPersons(w http.ResponseWriter, r *http.Request) bool {
	p := s.Svc.Policy()
	if p == nil {
		return true
	}
	pr := access.From(r.Context())
	if pr == nil {
		s.fail(w, r, fhir.E(fhir.Unauthorized, "sign in to use the shared record"))
		return false
	}
	if pr.Kind == access.PatientUser || p.TypePerms(pr, "Patient")&access.Search == 0 {
		s.fail(w, r, fhir.E(fhir.Forbidden, "$match is for professionals and systems that may search for people"))
		return false
	}
	return true
}

// bulkAllowed decides a bulk kick-off: systems export and import within
// their scopes (the record service applies them to every resource); an
// analyst exports for secondary use, run as the analytics service, whose
// exports leave out the people who opted out and sealed items (see the
// bulk Access function serve installs); nobody else runs bulk jobs. It
// remembers who started the job, who alone may then poll and fetch it.
func (s *Server) bulkAllowed(w http.ResponseWriter, r *http.Request, export bool) (*http.Request, bool) {
	if s.Svc.Policy() == nil {
		return r, true
	}
	pr := access.From(r.Context())
	switch {
	case pr == nil:
		s.fail(w, r, fhir.E(fhir.Unauthorized, "sign in to use the shared record"))
		return nil, false
	case pr.Kind == access.System:
		return r, true
	case export && pr.Kind == access.User && pr.Role == access.RoleAnalyst:
		svc := access.SystemPrincipal("analytics-export", pr.Org)
		svc.Subject, svc.Name, svc.Purpose = pr.ID(), pr.Name, PurposeSecondaryUse
		return r.WithContext(access.WithPrincipal(r.Context(), svc)), true
	}
	s.fail(w, r, fhir.E(fhir.Forbidden, "bulk data is for systems (and, for export, analysts): not for %s", pr.Role))
	return nil, false
}

// PurposeSecondaryUse is the purpose of use of an analyst's export (HL7 v3
// HOPERAT, healthcare operations): the bulk Access function leaves out
// opted-out people and sealed items for it.
const PurposeSecondaryUse = "HOPERAT"

// jobOwner returns who may see a bulk job: the ID of the principal that
// started it ("" with access control off).
func jobOwner(r *http.Request) string {
	if pr := access.From(r.Context()); pr != nil {
		return pr.Kind.String() + ":" + pr.ID()
	}
	return ""
}

// ownsJob fails the request unless its principal started job id.
func (s *Server) ownsJob(w http.ResponseWriter, r *http.Request, id string) bool {
	if s.Svc.Policy() == nil {
		return true
	}
	if owner, ok := s.jobOwners.Load(id); ok && owner == jobOwner(r) {
		return true
	}
	s.fail(w, r, fhir.E(fhir.NotFound, "no bulk job %s of yours", id))
	return false
}

// SecondaryUse is the bulk jobs' access rule beyond the record's own: an
// export for secondary use (an analyst's) leaves out everyone who opted
// out (the national data opt-out, type 1) and every sealed item, without
// naming them.
func SecondaryUse(svc *record.Service) bulk.Access {
	return func(ctx context.Context, op bulk.Op, s bulk.Subject) error {
		pr := access.From(ctx)
		if pr == nil || pr.Purpose != PurposeSecondaryUse {
			return nil
		}
		if op != bulk.Read {
			return fmt.Errorf("%w: an export for secondary use writes nothing", bulk.ErrLeftOut)
		}
		if bytes.Contains(s.Body, []byte(access.SysConfidentiality)) {
			if obj, err := fhir.DecodeResource(s.Body); err != nil || access.Sealed(obj) {
				return fmt.Errorf("%w: sealed", bulk.ErrLeftOut)
			}
		}
		if s.PatientKey == "" {
			return nil
		}
		f, err := svc.Facts(ctx, s.PatientKey)
		if err != nil {
			return err
		}
		if !access.SecondaryUse(f) {
			return fmt.Errorf("%w: opted out of secondary use", bulk.ErrLeftOut)
		}
		return nil
	}
}
