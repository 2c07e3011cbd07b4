package patient

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/web"
	"github.com/sharedcare/sharedcare/internal/web/recordview"
)

type letterRow struct {
	recordview.Document
	ID     string
	Unread bool
}

// letters lists the person's letters and summaries, newest first, those
// not yet opened here marked new. What was opened is read from the audit
// log: every letter opened is a read of that DocumentReference by this
// user, recorded there anyway, so the portal keeps no state of its own.
func (a *App) letters(w http.ResponseWriter, r *http.Request, s *web.Session) {
	rec, _, ok := a.load(w, r, s, url.Values{"_type": {"DocumentReference"}})
	if !ok {
		return
	}
	read := a.opened(r, s)
	var rows []letterRow
	unread := 0
	for _, d := range rec.Documents {
		id := docID(d.Refs)
		if id == "" {
			continue
		}
		row := letterRow{Document: d, ID: id, Unread: true}
		for _, ref := range d.Refs {
			if read[ref] {
				row.Unread = false
			}
		}
		if row.Unread {
			unread++
		}
		rows = append(rows, row)
	}
	a.RD.Render(w, r, http.StatusOK, "letters", web.Page{Title: "Letters", Session: s, Data: struct {
		Rows   []letterRow
		Unread int
	}{rows, unread}})
}

// opened is the set of DocumentReferences ("DocumentReference/id") this
// user has read by id: the letters they opened.
func (a *App) opened(r *http.Request, s *web.Session) map[string]bool {
	out := map[string]bool{}
	tok, err := s.Token()
	if err != nil {
		return out
	}
	// No patient= : the API keeps a person to their own log, across all
	// their records (each organisation's Patient).
	b, err := a.FHIR.Search(r.Context(), tok, "AuditEvent", url.Values{"agent": {s.User.ID()}, "_count": {"1000"}})
	if err != nil {
		a.Log.Warn("patient portal: the access log could not be read for unread letters", "err", err)
		return out
	}
	for _, raw := range b.Entries {
		var e struct {
			Subtype []struct{ Code string }
			Entity  []struct{ What struct{ Reference string } }
		}
		if json.Unmarshal(raw, &e) != nil || len(e.Subtype) == 0 || e.Subtype[0].Code != "read" {
			continue
		}
		for _, en := range e.Entity {
			if ref := en.What.Reference; strings.HasPrefix(ref, "DocumentReference/") {
				ref, _, _ = strings.Cut(ref, "/_history")
				out[ref] = true
			}
		}
	}
	return out
}

// letter shows one letter: read by id, so that opening it is recorded.
func (a *App) letter(w http.ResponseWriter, r *http.Request, s *web.Session) {
	id := r.PathValue("doc")
	if !web.ValidID(id) {
		a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such letter.", nil)
		return
	}
	tok, ok := a.Token(w, r, s)
	if !ok {
		return
	}
	var raw json.RawMessage
	if err := a.FHIR.Do(r.Context(), tok, http.MethodGet, "DocumentReference/"+id, nil, nil, &raw); err != nil {
		a.APIError(w, r, s, err)
		return
	}
	// Arranged with the record's organisations, for the names of who
	// wrote it.
	rec, _, ok := a.load(w, r, s, url.Values{"_type": {"DocumentReference"}})
	if !ok {
		return
	}
	for _, d := range rec.Documents {
		for _, ref := range d.Refs {
			if ref == "DocumentReference/"+id {
				a.RD.Render(w, r, http.StatusOK, "letter", web.Page{Title: d.Title, Session: s, Data: d})
				return
			}
		}
	}
	// Read by id but not in the person's record: someone else's.
	a.RD.Error(w, r, s, http.StatusNotFound, "Not found", "There is no such letter in your record.", nil)
}

func docID(refs []string) string {
	for _, r := range refs {
		if id, ok := strings.CutPrefix(r, "DocumentReference/"); ok {
			return id
		}
	}
	return ""
}
