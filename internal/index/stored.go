package index

import (
	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/store"
)

// The rows of a resource as stored. A write computes them before the
// transaction decides the version and time, from the body the client sent;
// a rebuild computes them from the stored body. Both must give the same
// rows, or a rebuilt resource would be found differently from a freshly
// written one. So neither reads what the server owns and sets on storing
// (the id, meta.versionId, meta.lastUpdated): ComputeStored takes the id
// from its caller and ignores the meta times, and LastUpdated gives the
// _lastUpdated row from the time the version is written.

// ComputeStored is Compute for a resource stored under id, with R4's
// parameters.
func ComputeStored(m fhir.Object, id string, scope Scope) (store.Index, string) {
	return R4().ComputeStored(m, id, scope)
}

// ComputeStored is Compute for a resource stored under id: the resource's
// own id (a client's, ignored on create) and meta.versionId and
// meta.lastUpdated (a client's, or an earlier version's after a patch) are
// not read. Add LastUpdated's rows once the time is known. m is not
// modified.
func (d *Definitions) ComputeStored(m fhir.Object, id string, scope Scope) (store.Index, string) {
	c := make(fhir.Object, len(m))
	for k, v := range m {
		c[k] = v
	}
	c["id"] = id
	if meta, ok := m["meta"].(map[string]any); ok {
		_, version := meta["versionId"]
		_, updated := meta["lastUpdated"]
		if version || updated {
			rest := make(map[string]any, len(meta))
			for k, v := range meta {
				if k != "versionId" && k != "lastUpdated" {
					rest[k] = v
				}
			}
			c["meta"] = rest
		}
	}
	return d.Compute(c, id, scope)
}
