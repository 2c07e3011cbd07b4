package rest

import (
	"net/http"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

// metadata answers GET /metadata with a CapabilityStatement describing what
// this server really implements: keep it in step with the handlers.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET, HEAD")
		return
	}
	cs := s.capabilityStatement(s.base(r))
	s.writeJSON(w, r, http.StatusOK, cs)
}

type code struct {
	Code string `json:"code"`
}

func (s *Server) capabilityStatement(base string) map[string]any {
	interactions := []code{{"read"}, {"vread"}, {"update"}, {"patch"}, {"delete"}, {"history-instance"}, {"history-type"}, {"create"}, {"search-type"}}
	searchParams := []map[string]any{
		{"name": "_id", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"},
		{"name": "identifier", "type": "token", "documentation": "business identifier: system|value, value or |value"},
	}
	var resources []map[string]any
	for _, t := range fhirdef.ResourceTypes() {
		resources = append(resources, map[string]any{
			"type":              t,
			"profile":           "http://hl7.org/fhir/StructureDefinition/" + t,
			"interaction":       interactions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalRead":   "modified-since",
			"conditionalUpdate": true,
			"conditionalDelete": "single",
			"searchParam":       searchParams,
			"operation": []map[string]any{
				{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
			},
		})
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         fhir.FormatInstant(fhir.Now()),
		"publisher":    "sharedcare",
		"kind":         "instance",
		"software":     map[string]any{"name": "sharedcare", "version": s.Version},
		"implementation": map[string]any{
			"description": "sharedcare shared care record: FHIR R4 data layer",
			"url":         base,
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"application/fhir+json", "json"},
		"patchFormat": []string{"application/json-patch+json"},
		"rest": []map[string]any{{
			"mode":     "server",
			"resource": resources,
			"interaction": []code{
				{"transaction"}, {"batch"}, {"history-system"},
			},
		}},
	}
}
