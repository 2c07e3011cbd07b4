package rest

import (
	"net/http"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/record"
)

// SourceHeader names the organisation (ODS code) a system writes for: an
// integration engine relaying several organisations' feeds says which
// one each request comes from. Every resource written under it is
// attributed to that organisation (meta.source and an ODS meta.tag).
// A signed-in person's writes are always their own organisation's.
const SourceHeader = "X-Source-Organization"

// attribute puts the request's contributing organisation in its context:
// a signed-in professional's organisation; for a system, the SourceHeader
// or its own organisation; else the server's configured Source.
func (s *Server) attribute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := s.Source
		pr := access.From(r.Context())
		h := r.Header.Get(SourceHeader)
		switch {
		case pr != nil && pr.Kind != access.System && s.Svc.Policy() != nil:
			if h != "" && h != pr.Org {
				s.fail(w, r, fhir.E(fhir.Forbidden, "%s %q: you write for your own organisation (%s) only", SourceHeader, h, pr.Org))
				return
			}
			src = record.Source{ODS: pr.Org}
		case h != "":
			ods, err := record.ParseODS(h)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			src = record.Source{ODS: ods}
		case pr != nil && pr.Org != "":
			src = record.Source{ODS: pr.Org}
		}
		if src.ODS != "" {
			r = r.WithContext(record.WithSource(r.Context(), src))
		}
		next.ServeHTTP(w, r)
	})
}
