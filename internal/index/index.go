// Package index turns a resource into the rows the store indexes it by:
// its patient-compartment key (the person it belongs to, which is also the
// key the database can later shard by) and its search index values.
//
// Today it extracts what the conditional interactions need (identifier
// tokens); the search engine extends Extract to every R4 search parameter.
package index

import (
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// MaxTokenLen is the longest code or identifier value indexed. Longer ones
// are stored with the resource but not indexed: nothing real is that long,
// and PostgreSQL's btree refuses entries past about 2.7 KB.
const MaxTokenLen = 1024

// Extract returns the index rows for resource m.
func Extract(m fhir.Object) store.Index {
	var ix store.Index
	if ids, ok := m["identifier"].([]any); ok {
		for _, v := range ids {
			id, ok := v.(map[string]any)
			if !ok {
				continue
			}
			value, _ := id["value"].(string)
			if value == "" || len(value) > MaxTokenLen {
				continue
			}
			system, _ := id["system"].(string)
			ix.Tokens = append(ix.Tokens, store.Token{Param: "identifier", System: system, Code: value})
		}
	}
	return ix
}

// patientRefs are the elements through which a resource names the patient
// it is about, in the order they are tried.
var patientRefs = []string{"subject", "patient", "beneficiary", "individual", "who"}

// PatientKey returns the id of the Patient whose compartment m is in, or "".
// A Patient is its own key. Only local references ("Patient/123") count: a
// reference to another server's Patient is not a person in this record.
func PatientKey(m fhir.Object, id string) string {
	rt, _ := m["resourceType"].(string)
	if rt == "Patient" {
		return id
	}
	for _, name := range patientRefs {
		ref, ok := m[name].(map[string]any)
		if !ok {
			continue
		}
		s, _ := ref["reference"].(string)
		if pid, ok := strings.CutPrefix(s, "Patient/"); ok && pid != "" && !strings.Contains(pid, "/") {
			return pid
		}
	}
	return ""
}
