package rest

import (
	"net/url"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// shape applies _summary and _elements to a stored resource. A shaped
// resource is marked with the SUBSETTED security tag, as the spec asks, so
// nobody mistakes it for the whole record.
func shape(body []byte, typ string, q url.Values) ([]byte, error) {
	summary := q.Get("_summary")
	elements := q.Get("_elements")
	if summary == "false" && elements == "" {
		return body, nil
	}
	keep := map[string]bool{"resourceType": true, "id": true, "meta": true}
	drop := map[string]bool{}
	switch summary {
	case "", "false":
	case "true":
		for _, e := range fhirdef.SummaryElements(typ) {
			keep[e] = true
		}
		for _, e := range fhirdef.MandatoryElements(typ) {
			keep[e] = true
		}
	case "text":
		keep["text"] = true
		for _, e := range fhirdef.MandatoryElements(typ) {
			keep[e] = true
		}
	case "data":
		drop["text"] = true
	case "count":
		return nil, fhir.E(fhir.Invalid, "_summary=count applies to searches only")
	default:
		return nil, fhir.E(fhir.Invalid, "_summary must be true, text, data, count or false, not %q", summary)
	}
	if elements != "" && (summary == "" || summary == "false") {
		for _, e := range strings.Split(elements, ",") {
			e = strings.TrimSpace(e)
			if i := strings.IndexByte(e, '.'); i >= 0 {
				// Type.element form: keep the element of this type only.
				if e[:i] != typ {
					continue
				}
				e = e[i+1:]
			}
			if e != "" {
				keep[e] = true
			}
		}
		for _, e := range fhirdef.MandatoryElements(typ) {
			keep[e] = true
		}
	}
	m, err := fhir.DecodeResource(body)
	if err != nil {
		return nil, err
	}
	onlyDrop := summary == "data"
	for k := range m {
		if drop[k] || (!onlyDrop && !keep[k] && !keep[strings.TrimPrefix(k, "_")]) {
			delete(m, k)
		}
	}
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, map[string]any{
		"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
		"code":   "SUBSETTED",
	})
	m["meta"] = meta
	return fhir.MarshalResource(m)
}
