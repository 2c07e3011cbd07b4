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
	common := []map[string]any{
		{"name": "_id", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"},
		{"name": "_lastUpdated", "type": "date", "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"},
		{"name": "_tag", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-tag"},
		{"name": "_profile", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-profile"},
		{"name": "_security", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-security"},
		{"name": "_source", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-source"},
		{"name": "_text", "type": "string", "documentation": "words of the narrative, each matched as the start of a word"},
		{"name": "_content", "type": "string", "documentation": "words anywhere in the resource's text, each matched as the start of a word"},
		{"name": "_list", "type": "special", "documentation": "members of the List with this id"},
	}
	var resources []map[string]any
	params := s.Svc.Definitions().Params() // R4's and the custom ones in force
	for _, t := range fhirdef.ResourceTypes() {
		searchParams := append([]map[string]any(nil), common...)
		var includes []string
		for _, sp := range params.SearchParams(t) {
			if sp.Code[0] == '_' {
				continue
			}
			p := map[string]any{"name": sp.Code, "type": sp.Type}
			if sp.URL != "" {
				p["definition"] = sp.URL
			}
			if sp.Custom {
				p["documentation"] = "custom: from a SearchParameter resource on this server"
			}
			searchParams = append(searchParams, p)
			if sp.Type == "reference" {
				includes = append(includes, t+":"+sp.Code)
			}
		}
		includes = append(includes, "*")
		ops := []map[string]any{
			{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
		}
		if t == "Patient" {
			ops = append(ops, map[string]any{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"})
			if s.Persons != nil {
				ops = append(ops,
					map[string]any{"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"},
					map[string]any{"name": "merge", "definition": "http://hl7.org/fhir/5.0/OperationDefinition/Patient-merge", "documentation": "in the spirit of R5's: source-patient and target-patient references"},
					map[string]any{"name": "unmerge", "definition": "https://sharedcare.example/OperationDefinition/Patient-unmerge", "documentation": "undoes a $merge: source-patient is the merged person"})
			}
			if s.Bulk != nil {
				ops = append(ops, map[string]any{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"})
			}
		}
		if t == "Group" && s.Bulk != nil {
			ops = append(ops, map[string]any{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"})
		}
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
			"searchInclude":     includes,
			"searchParam":       searchParams,
			"operation":         ops,
		})
	}
	cs := map[string]any{
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
				{"transaction"}, {"batch"}, {"history-system"}, {"search-system"},
			},
			"searchParam": common,
		}},
	}
	if ops := s.systemOperations(); len(ops) > 0 {
		cs["rest"].([]map[string]any)[0]["operation"] = ops
	}
	if s.OAuth != nil {
		// SMART App Launch: where apps get their tokens.
		cs["rest"].([]map[string]any)[0]["security"] = map[string]any{
			"service": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
			"extension": []any{map[string]any{
				"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
				"extension": []any{
					map[string]any{"url": "authorize", "valueUri": s.OAuth.Authorize},
					map[string]any{"url": "token", "valueUri": s.OAuth.Token},
				},
			}},
			"description": "OAuth 2.0 bearer tokens (SMART on FHIR v2 scopes); see .well-known/smart-configuration",
		}
	}
	return cs
}

// systemOperations are the operations on the base.
func (s *Server) systemOperations() []map[string]any {
	var ops []map[string]any
	if s.Bulk != nil {
		ops = append(ops,
			map[string]any{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"},
			map[string]any{"name": "import", "definition": "https://sharedcare.example/OperationDefinition/import", "documentation": "Bulk Data import: NDJSON uploaded, or a Parameters of input URLs on the server's allow-list"})
	}
	return ops
}
