package rest

import (
	"bytes"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/audit"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// AuditTo returns the AuditFunc that writes each request to log as an
// AuditEvent: who (the principal), on whose record, what (the resources
// or the search), why (the purpose of use, a break-glass reason) and how
// it ended. Reads are appended in the background; writes wait until their
// entry is stored.
func (s *Server) AuditTo(log *audit.Log) AuditFunc {
	return func(r *http.Request, status int, n access.NoteSummary, sync bool) {
		if strings.HasSuffix(r.URL.Path, "/metadata") || strings.Contains(r.URL.Path, "/.well-known/") {
			return // nobody's record
		}
		ev := Event(r, s.Prefix, status, n)
		var err error
		if sync {
			err = log.AppendSync(r.Context(), ev)
		} else {
			err = log.Append(ev)
		}
		if err != nil && s.Log != nil {
			s.Log.ErrorContext(r.Context(), "audit: an entry was not written", "err", err, "request_id", ev.RequestID)
		}
	}
}

// Event describes a request for the audit log.
func Event(r *http.Request, prefix string, status int, n access.NoteSummary) audit.Event {
	interaction := Interaction(r, prefix)
	switch {
	case strings.HasPrefix(interaction, "search"):
		interaction = "search"
	case strings.HasPrefix(interaction, "history"):
		interaction = "history"
	case interaction == "batch-transaction":
		interaction = "transaction"
	case interaction == "operation":
		p := r.URL.Path
		interaction = "operation:" + p[strings.LastIndex(p, "/")+1:]
	case strings.HasPrefix(interaction, "conditional-"):
		interaction = strings.TrimPrefix(interaction, "conditional-")
	}
	ev := audit.Event{
		Time:        time.Now().UTC(),
		Interaction: interaction,
		Outcome:     "0",
		Patients:    n.Patients,
		Entities:    n.Entities,
		Purpose:     n.Purpose,
		RequestID:   RequestID(r.Context()),
	}
	if interaction == "search" {
		ev.Query = r.URL.RawQuery
	}
	switch {
	case status >= 500:
		ev.Outcome, ev.OutcomeDesc = "8", http.StatusText(status)
	case status >= 400:
		ev.Outcome, ev.OutcomeDesc = "4", http.StatusText(status)
		if n.Refused != "" {
			ev.OutcomeDesc += ": " + n.Refused
		}
	}
	if n.Withheld > 0 {
		ev.OutcomeDesc = strings.TrimPrefix(ev.OutcomeDesc+"; "+strconv.Itoa(n.Withheld)+" items withheld", "; ")
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ev.Address = host
	}
	if pr := access.From(r.Context()); pr != nil {
		ev.Who, ev.Name, ev.Role, ev.Org, ev.ClientID, ev.FHIRUser = pr.ID(), pr.Name, string(pr.Role), pr.Org, pr.ClientID, pr.FHIRUser
		if ev.Purpose == "" {
			ev.Purpose = pr.Purpose
		}
	}
	if g := n.BreakGlass; g != nil {
		ev.Purpose = "ETREAT"
		ev.Reason = g.Reason + ": " + g.Text
	} else if n.Grounds != "" {
		// Why access was granted (a registered GP, a share the person
		// made with the organisation, a delegate): what an information
		// governance review asks of each entry.
		ev.Reason = n.Grounds
	}
	return ev
}

// auditSearch serves GET AuditEvent from the audit log: a patient sees
// the accesses to their own record ("who has looked at my record"); a
// privacy officer searches everyone's by patient, agent (the principal's
// id), organisation, date and purpose (purpose=ETREAT: break-glass);
// systems with AuditEvent scopes likewise. Pages go back in time with
// _page (the oldest entry's number on the page before).
func (s *Server) auditSearch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET")
		return
	}
	q := r.URL.Query()
	f := audit.Filter{Limit: 50}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "patient":
			for _, p := range strings.Split(v, ",") {
				f.Patients = append(f.Patients, strings.TrimPrefix(p, "Patient/"))
			}
		case "agent":
			f.Agent = v
		case "organization", "site":
			f.Org = strings.TrimPrefix(v, access.SysODS+"|")
		case "purpose":
			if v != "ETREAT" && v != access.SysPurposeOfUse+"|ETREAT" {
				s.fail(w, r, fhir.E(fhir.Invalid, "purpose=%q: only ETREAT (break-glass) is searchable", v))
				return
			}
			f.BreakGlass = true
		case "date":
			for _, d := range vs {
				t, err := record.ParseInstant(strings.TrimLeft(d, "gelt"))
				if err != nil || len(d) < 3 {
					s.fail(w, r, fhir.E(fhir.Invalid, "date=%q: want ge or le and a date", d))
					return
				}
				switch d[:2] {
				case "ge", "gt":
					f.Since = t
				case "le", "lt":
					f.Until = t
				default:
					s.fail(w, r, fhir.E(fhir.Invalid, "date=%q: want ge or le and a date", d))
					return
				}
			}
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				s.fail(w, r, fhir.E(fhir.Invalid, "_count=%q is not a positive number", v))
				return
			}
			f.Limit = min(n, record.MaxCount)
		case "_page":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				s.fail(w, r, fhir.E(fhir.Invalid, "_page=%q is not a page of this search", v))
				return
			}
			f.Before = n
		case "_format", "_pretty":
		default:
			s.fail(w, r, fhir.E(fhir.Invalid, "AuditEvent cannot be searched by %q (patient, agent, organization, date, purpose, _count)", k))
			return
		}
	}
	if err := s.auditScope(r, &f); err != nil {
		s.fail(w, r, err)
		return
	}
	// Reads are logged in batches (up to 50 ms apart): wait for what is
	// queued, so that a person sees the access they just made (a letter
	// they opened a moment ago is no longer new).
	if err := s.AuditLog.Flush(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := s.AuditLog.Query(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":`)
	self, _ := fhir.Marshal(s.base(r) + "/AuditEvent?" + r.URL.RawQuery)
	b.Write(self)
	b.WriteString("}")
	if len(entries) == f.Limit {
		nq := r.URL.Query()
		nq.Set("_page", strconv.FormatInt(entries[len(entries)-1].Seq, 10))
		next, _ := fhir.Marshal(s.base(r) + "/AuditEvent?" + nq.Encode())
		b.WriteString(`,{"relation":"next","url":`)
		b.Write(next)
		b.WriteString("}")
	}
	b.WriteString(`],"entry":[`)
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		id := strconv.FormatInt(e.Seq, 10)
		b.WriteString(`{"fullUrl":"` + s.base(r) + "/AuditEvent/" + id + `","resource":{"id":"` + id + `",`)
		b.Write(bytes.TrimPrefix(e.Event, []byte("{")))
		b.WriteString(`,"search":{"mode":"match"}}`)
	}
	b.WriteString("]}")
	s.writeRaw(w, r, http.StatusOK, b.Bytes())
}

// auditScope narrows an audit search to what the principal may read.
func (s *Server) auditScope(r *http.Request, f *audit.Filter) error {
	p := s.Svc.Policy()
	if p == nil {
		return nil
	}
	pr := access.From(r.Context())
	switch {
	case pr == nil:
		return fhir.E(fhir.Unauthorized, "sign in to use the shared record")
	case pr.Kind == access.PatientUser:
		own := strings.TrimPrefix(pr.FHIRUser, "Patient/")
		if !strings.HasPrefix(pr.FHIRUser, "Patient/") {
			own = pr.Patient
		}
		if own == "" {
			return fhir.E(fhir.Forbidden, "only people signed in as themselves see who has looked at their record")
		}
		facts, err := s.Svc.Facts(r.Context(), own)
		if err != nil {
			return err
		}
		for _, want := range f.Patients {
			if !slices.Contains(facts.Patients, want) {
				return fhir.E(fhir.Forbidden, "you may see who has looked at your own record only")
			}
		}
		if len(f.Patients) == 0 {
			f.Patients = facts.Patients
		}
		if p.TypePerms(pr, "AuditEvent")&access.Search == 0 && !pr.Unscoped {
			return fhir.E(fhir.Forbidden, "the token's scopes do not allow reading the access log")
		}
		return nil
	case p.TypePerms(pr, "AuditEvent")&access.Search != 0:
		return nil // the privacy officer, and systems with AuditEvent scopes
	}
	return fhir.E(fhir.Forbidden, "the access log is for privacy officers and, for their own record, patients")
}
