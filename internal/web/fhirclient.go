package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// FHIR calls the platform's FHIR API as the signed-in user. With
// Transport set to Local(handler) a call never leaves the process but
// still passes through the server's own token check, access decision and
// audit, exactly as an outside client's would.
type FHIR struct {
	Base      string // e.g. http://127.0.0.1:8080/fhir
	Transport http.RoundTripper
}

// Local serves requests with h in-process: no socket, the same handlers.
func Local(h http.Handler) http.RoundTripper { return localTransport{h} }

type localTransport struct{ h http.Handler }

func (t localTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := &recorder{header: http.Header{}}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RequestURI = r.URL.RequestURI()
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:0" // the portal, in this process
	}
	t.h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{Status: http.StatusText(rec.status), StatusCode: rec.status, Header: rec.header,
		Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// Error is a FHIR API refusal: its status and the OperationOutcome's
// diagnostics, for the page to explain.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

// StatusOf returns the HTTP status of a FHIR API error (0 for others).
func StatusOf(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	return 0
}

// Bundle is a search or operation result.
type Bundle struct {
	Total    int
	Entries  []json.RawMessage
	Next     string   // the next page's URL, "" on the last
	Warnings []string // what the server said about the result (withheld items…)
}

// Do makes one request with the user's token: body (JSON) may be nil. The
// response body is decoded into out when out is not nil.
func (c *FHIR) Do(ctx context.Context, token, method, path string, query url.Values, body any, out any) error {
	u := strings.TrimSuffix(c.Base, "/") + "/" + strings.TrimPrefix(path, "/")
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		u = path // a next-page link the server made
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := (&http.Client{Transport: c.Transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return &Error{Status: resp.StatusCode, Msg: outcomeText(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("fhir: %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Search runs a search (or a GET operation answering a Bundle) and
// returns one page.
func (c *FHIR) Search(ctx context.Context, token, path string, query url.Values) (*Bundle, error) {
	var b struct {
		Total *int `json:"total"`
		Link  []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Search   struct {
				Mode string `json:"mode"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := c.Do(ctx, token, http.MethodGet, path, query, nil, &b); err != nil {
		return nil, err
	}
	out := &Bundle{}
	if b.Total != nil {
		out.Total = *b.Total
	}
	for _, l := range b.Link {
		if l.Relation == "next" {
			out.Next = l.URL
		}
	}
	for _, e := range b.Entry {
		if e.Search.Mode == "outcome" {
			out.Warnings = append(out.Warnings, outcomeText(e.Resource))
			continue
		}
		out.Entries = append(out.Entries, e.Resource)
	}
	return out, nil
}

// SearchAll follows next links up to max entries.
func (c *FHIR) SearchAll(ctx context.Context, token, path string, query url.Values, max int) (*Bundle, error) {
	b, err := c.Search(ctx, token, path, query)
	if err != nil {
		return nil, err
	}
	for b.Next != "" && len(b.Entries) < max {
		nb, err := c.Search(ctx, token, b.Next, nil)
		if err != nil {
			return nil, err
		}
		b.Entries = append(b.Entries, nb.Entries...)
		b.Warnings = append(b.Warnings, nb.Warnings...)
		b.Next = nb.Next
	}
	return b, nil
}

// outcomeText is an OperationOutcome's diagnostics, one line.
func outcomeText(raw []byte) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Diagnostics string `json:"diagnostics"`
			Details     struct {
				Text string `json:"text"`
			} `json:"details"`
		} `json:"issue"`
	}
	if json.Unmarshal(raw, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	var parts []string
	for _, is := range oo.Issue {
		t := is.Diagnostics
		if t == "" {
			t = is.Details.Text
		}
		if t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "; ")
}
