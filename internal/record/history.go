package record

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// Page sizes for history and search.
const (
	DefaultCount = 50
	MaxCount     = 1000
)

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions []store.Resource
	// Next is the opaque token for the following page, "" on the last.
	Next string
}

// History lists versions at system (typ ""), type (id "") or instance level.
// params may hold _count, _since, _at and _page (a token from a previous
// page). Pages are cut by keyset, so they stay correct while data is
// written: new versions sort before the first page and never shift later
// pages.
func (s *Service) History(ctx context.Context, typ, id string, params url.Values) (*HistoryPage, error) {
	if typ != "" {
		if err := s.CheckType(typ); err != nil {
			return nil, err
		}
	}
	p, pr, err := s.guardHistory(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	q := store.HistoryQuery{Type: typ, ID: id}
	n, err := Count(params)
	if err != nil {
		return nil, err
	}
	if v := params.Get("_since"); v != "" {
		if q.Since, err = ParseInstant(v); err != nil {
			return nil, fhir.E(fhir.Invalid, "_since %q is not a FHIR instant or dateTime", v)
		}
	}
	if v := params.Get("_at"); v != "" {
		if q.At, err = ParseInstant(v); err != nil {
			return nil, fhir.E(fhir.Invalid, "_at %q is not a FHIR dateTime", v)
		}
	}
	if v := params.Get("_page"); v != "" {
		c, err := decodeCursor(v)
		if err != nil {
			return nil, err
		}
		q.After = c
	}
	q.Limit = n + 1
	vs, err := s.Store.History(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &HistoryPage{Versions: vs}
	if len(vs) > n {
		page.Versions = vs[:n]
		last := vs[n-1]
		page.Next = encodeCursor(store.Cursor{LastUpdated: last.LastUpdated, Type: last.Type, ID: last.ID, Version: last.Version})
	}
	if p != nil {
		if page.Versions, err = s.filterVersions(ctx, p, pr, page.Versions); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// Count reads _count: DefaultCount when absent, at most MaxCount.
func Count(params url.Values) (int, error) {
	v := params.Get("_count")
	if v == "" {
		return DefaultCount, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fhir.E(fhir.Invalid, "_count %q is not a non-negative integer", v)
	}
	if n == 0 {
		n = 1 // a page must make progress; _summary=count is the way to ask for none
	}
	if n > MaxCount {
		n = MaxCount
	}
	return n, nil
}

func encodeCursor(c store.Cursor) string {
	s := strconv.FormatInt(c.LastUpdated.UnixMicro(), 10) + "|" + c.Type + "|" + c.ID + "|" + strconv.FormatInt(c.Version, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(tok string) (*store.Cursor, error) {
	bad := fhir.E(fhir.Invalid, "_page %q is not a page token this server issued", tok)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 4 {
		return nil, bad
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	v, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	return &store.Cursor{LastUpdated: time.UnixMicro(us).UTC(), Type: parts[1], ID: parts[2], Version: v}, nil
}

// ParseInstant reads a FHIR instant or dateTime ("2024", "2024-03",
// "2024-03-01", "2024-03-01T10:00:00+01:00", with fractions); partial dates
// mean their first moment, in UTC.
func ParseInstant(v string) (time.Time, error) {
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"}
	var err error
	for _, l := range layouts {
		var t time.Time
		if t, err = time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
