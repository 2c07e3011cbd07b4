package bulk

import (
	"context"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// Bundles on the command line (ImportOptions.Bundles).
//
// A collection Bundle is a container: each entry's resource is imported as
// if it were a line of its own. A transaction or batch Bundle whose every
// entry is a plain PUT of Type/id (the resource carrying that id, no
// conditions, no urn: fullUrls to rewrite), as the generator writes them,
// is taken apart the same way: the result is what the Bundle would have
// stored, only not all-or-nothing. Any other transaction or batch (POSTs,
// conditional creates, urn:uuid references, deletes) runs as it is through
// record.Service.Bundle, with its own semantics, in its place in the order.
// Bundles of other types (document, message, searchset...) are resources
// and stored as such.

// takeApart handles a Bundle line; ok false means it is a resource to
// store.
func (im *importer) takeApart(ctx context.Context, it item, m fhir.Object) (out []staged, ok bool) {
	typ, _ := m["type"].(string)
	entries, _ := m["entry"].([]any)
	switch typ {
	case "collection":
	case "transaction", "batch":
		if !plainPuts(entries) {
			for j, e := range entries {
				em, _ := e.(map[string]any)
				res, _ := em["resource"].(map[string]any)
				if res == nil {
					continue
				}
				rt, _ := res["resourceType"].(string)
				id, _ := res["id"].(string)
				if err := check(ctx, im.o.Access, Write, Subject{Type: rt, ID: id, Object: res}); err != nil {
					return []staged{{reject: &Reject{Input: it.input, Line: it.line, Entry: j + 1, Type: rt, ID: id, Err: err}}}, true
				}
			}
			return []staged{{input: it.input, line: it.line, bundle: it.data}}, true
		}
	default:
		return nil, false
	}
	for j, e := range entries {
		em, _ := e.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			out = append(out, staged{reject: &Reject{Input: it.input, Line: it.line, Entry: j + 1, Err: fhir.E(fhir.Invalid, "the entry has no resource")}})
			continue
		}
		out = append(out, im.stage(ctx, it.input, it.line, j+1, res))
	}
	return out, true
}

// plainPuts reports whether every entry is a PUT of Type/id carrying a
// resource of that type and id, with nothing else to it.
func plainPuts(entries []any) bool {
	for _, e := range entries {
		em, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if fu, _ := em["fullUrl"].(string); strings.HasPrefix(fu, "urn:") {
			return false
		}
		req, _ := em["request"].(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if req == nil || res == nil || len(req) != 2 || req["method"] != "PUT" {
			return false
		}
		url, _ := req["url"].(string)
		typ, id, found := strings.Cut(url, "/")
		if !found || strings.ContainsAny(id, "/?") || res["resourceType"] != typ || res["id"] != id {
			return false
		}
	}
	return true
}

// runBundle runs a transaction or batch Bundle through the record service
// and counts its entries.
func (im *importer) runBundle(ctx context.Context, s staged) error {
	res, err := im.svc.Bundle(ctx, s.bundle, "")
	if err != nil {
		if ctx.Err() != nil || fhir.KindOf(err) == fhir.Internal {
			return err
		}
		im.reject(Reject{Input: s.input, Line: s.line, Type: "Bundle", Err: err})
		return nil
	}
	im.mu.Lock()
	for j, e := range res.Entries {
		switch {
		case e.Err != nil:
			im.rejectLocked(Reject{Input: s.input, Line: s.line, Entry: j + 1, Err: e.Err})
		case e.Result.Resource != nil && !e.Result.Unchanged && e.Method != "DELETE":
			im.res.Inputs[s.input].Loaded[e.Result.Resource.Type]++
		}
	}
	im.mu.Unlock()
	im.progress()
	return nil
}
