package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// The requests here find what the workloads need (ids to read, a patient
// to search) through the API, before any timing: cheap searches a server
// must answer anyway.

// searchBundle is what discovery reads of a searchset Bundle.
type searchBundle struct {
	Total *int64 `json:"total"`
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

// getJSON fetches rel and decodes it into v; any status but 200 is an
// error.
func (c *Client) getJSON(ctx context.Context, rel string, v any) error {
	defer c.cancelWith(ctx)()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	c.newRequest(req, http.MethodGet, rel, nil)
	u := c.url(rel)
	if err := c.fast.DoDeadline(req, resp, time.Now().Add(requestTimeout)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("GET %s: %v", u, err)
	}
	if resp.StatusCode() != http.StatusOK {
		return fmt.Errorf("%s", httpError("GET", u, resp.StatusCode(), resp.Body()))
	}
	if err := json.Unmarshal(resp.Body(), v); err != nil {
		return fmt.Errorf("GET %s: %v", u, err)
	}
	return nil
}

// search runs a search and follows its next links for up to maxPages
// pages, calling f with each matching resource; f returns false to stop.
func (c *Client) search(ctx context.Context, rel string, maxPages int, f func(json.RawMessage) bool) error {
	for page := 0; rel != "" && page < maxPages; page++ {
		var b searchBundle
		if err := c.getJSON(ctx, rel, &b); err != nil {
			return err
		}
		for _, e := range b.Entry {
			if (e.Search.Mode == "" || e.Search.Mode == "match") && len(e.Resource) > 0 && !f(e.Resource) {
				return nil
			}
		}
		rel = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				rel = l.URL
			}
		}
	}
	return nil
}

// count is the number of matches of a search (rel, without _summary).
func (c *Client) count(ctx context.Context, rel string) (int64, error) {
	sep := "?"
	if strings.Contains(rel, "?") {
		sep = "&"
	}
	var b searchBundle
	if err := c.getJSON(ctx, rel+sep+"_summary=count", &b); err != nil {
		return 0, err
	}
	if b.Total == nil {
		return 0, fmt.Errorf("GET %s%s_summary=count: no total", rel, sep)
	}
	return *b.Total, nil
}

// ids lists up to limit ids of resources of type typ, in the server's
// order.
func (c *Client) ids(ctx context.Context, typ string, limit int) ([]string, error) {
	var ids []string
	var r struct {
		ID string `json:"id"`
	}
	err := c.search(ctx, typ+"?_count="+strconv.Itoa(min(limit, 1000))+"&_elements=id", (limit+999)/1000+1, func(raw json.RawMessage) bool {
		r.ID = ""
		if json.Unmarshal(raw, &r) == nil && r.ID != "" {
			ids = append(ids, r.ID)
		}
		return len(ids) < limit
	})
	return ids, err
}

// tally counts strings and says which was counted most (the first to
// reach the highest count, so the answer does not depend on map order).
type tally struct {
	n     map[string]int
	order []string
}

func (t *tally) add(s string, k int) {
	if s == "" {
		return
	}
	if t.n == nil {
		t.n = map[string]int{}
	}
	if _, ok := t.n[s]; !ok {
		t.order = append(t.order, s)
	}
	t.n[s] += k
}

func (t *tally) top() string {
	best := ""
	for _, s := range t.order {
		if t.n[s] > t.n[best] {
			best = s
		}
	}
	return best
}

// coding is the system|code of a CodeableConcept's first coding with a
// code.
type codeableConcept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

func (cc codeableConcept) token() string {
	for _, c := range cc.Coding {
		if c.Code != "" {
			if c.System == "" {
				return c.Code
			}
			return c.System + "|" + c.Code
		}
	}
	return ""
}

// refID is the id a reference points at if it is to a resource of type
// typ ("Organization/1", "http://x/fhir/Organization/1/_history/2"), or
// "".
func refID(ref, typ string) string {
	i := strings.LastIndex(ref, typ+"/")
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return ""
	}
	id, _, _ := strings.Cut(ref[i+len(typ)+1:], "/")
	return id
}

// escapeString escapes a string search value (R4: \ , $ and | are
// special) and then for a URL query.
func escapeString(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `$`, `\$`, `|`, `\|`).Replace(s)
	return url.QueryEscape(s)
}

// Software reads the server's CapabilityStatement and returns the name
// and version of its software ("sharedcare dev"); it is also the first
// check that something answers at the base.
func (c *Client) Software(ctx context.Context) (string, error) {
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
		Software     struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"software"`
	}
	if err := c.getJSON(ctx, "metadata", &cs); err != nil {
		return "", fmt.Errorf("bench: reading the CapabilityStatement: %w", err)
	}
	if cs.ResourceType != "CapabilityStatement" {
		return "", fmt.Errorf("bench: GET %s/metadata is a %q, not a CapabilityStatement", c.Base, cs.ResourceType)
	}
	s := strings.TrimSpace(cs.Software.Name + " " + cs.Software.Version)
	if cs.FHIRVersion != "" {
		s += " (FHIR " + cs.FHIRVersion + ")"
	}
	return strings.TrimSpace(s), nil
}
