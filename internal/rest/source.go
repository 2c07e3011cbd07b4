package rest

import (
	"net/http"

	"github.com/sharedcare/sharedcare/internal/record"
)

// SourceHeader names the organisation (ODS code) a client writes for,
// until sign-in says it: every resource written under it is attributed to
// that organisation (meta.source and an ODS meta.tag).
const SourceHeader = "X-Source-Organization"

// attribute puts the request's contributing organisation in its context:
// the SourceHeader, or else the server's configured Source.
func (s *Server) attribute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := s.Source
		if h := r.Header.Get(SourceHeader); h != "" {
			ods, err := record.ParseODS(h)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			src = record.Source{ODS: ods}
		}
		if src.ODS != "" {
			r = r.WithContext(record.WithSource(r.Context(), src))
		}
		next.ServeHTTP(w, r)
	})
}
