package record

import (
	"context"
	"strings"

	"github.com/sharedcare/sharedcare/internal/access"
	"github.com/sharedcare/sharedcare/internal/fhir"
)

// ODSSystem is the identifier system of NHS organisation (ODS) codes.
const ODSSystem = "https://fhir.nhs.uk/Id/ods-organization-code"

// Source is who contributed a write: the organisation, by ODS code, and
// optionally the system that sent it. Every feed says it: an HL7 v2
// message its sending facility, a bulk load its configuration, a REST
// client its signed-in organisation (or, until sign-in exists, a header).
type Source struct {
	ODS string
	// System is recorded as meta.source; empty means ODSSystem|ODS.
	System string
}

// URI is what the write records as meta.source.
func (src Source) URI() string {
	if src.System != "" {
		return src.System
	}
	return ODSSystem + "|" + src.ODS
}

type sourceKey struct{}

// WithSource returns ctx carrying src: writes under it are attributed to
// src, whatever the resources say of themselves.
func WithSource(ctx context.Context, src Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

// SourceFrom returns the Source ctx carries, if any.
func SourceFrom(ctx context.Context) (Source, bool) {
	src, ok := ctx.Value(sourceKey{}).(Source)
	return src, ok && src.ODS != ""
}

// ParseODS checks an ODS organisation code (three to ten letters and
// digits: trusts are three, GP practices six, sites five) and returns it
// in upper case.
func ParseODS(s string) (string, error) {
	if len(s) < 3 || len(s) > 10 {
		return "", fhir.E(fhir.Invalid, "%q is not an ODS organisation code (3 to 10 letters and digits)", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return "", fhir.E(fhir.Invalid, "%q is not an ODS organisation code (3 to 10 letters and digits)", s)
		}
	}
	return strings.ToUpper(s), nil
}

// attribute records on m the organisation that contributed it: meta.source
// and one meta.tag with the ODS code, which `_source` and `_tag` search.
// A known source (src set) overrides what the resource claims; without
// one, a meta.source in the ODSSystem|code form (what our own feeds and
// generator write) is taken at its word, and anything else is left as it
// came, unattributed.
func attribute(m fhir.Object, src Source, known bool) {
	meta, _ := m["meta"].(map[string]any)
	org := src.ODS
	if !known {
		org = ""
		if ms, _ := meta["source"].(string); strings.HasPrefix(ms, ODSSystem+"|") {
			org, _ = ParseODS(ms[len(ODSSystem)+1:])
		}
		if org == "" {
			return
		}
	}
	if meta == nil {
		if _, present := m["meta"]; present {
			return // not an object: validation reports it
		}
		meta = map[string]any{}
		m["meta"] = meta
	}
	if known {
		meta["source"] = src.URI()
	}
	old, _ := meta["tag"].([]any)
	tags := make([]any, 0, len(old)+1)
	for _, t := range old {
		if tm, ok := t.(map[string]any); ok && tm["system"] == ODSSystem {
			continue // one contributing organisation: ours replaces any claimed
		}
		tags = append(tags, t)
	}
	meta["tag"] = append(tags, map[string]any{"system": ODSSystem, "code": org})
}

// enteredBy returns who a write is entered by when the principal is a
// member of the public (the person, or a delegate acting for them): their
// own resource ("Patient/…", "RelatedPerson/…"); "" for anyone else.
func enteredBy(ctx context.Context) string {
	pr := access.From(ctx)
	if pr == nil || pr.Kind != access.PatientUser {
		return ""
	}
	switch {
	case pr.FHIRUser != "":
		return pr.FHIRUser
	case pr.Patient != "":
		return "Patient/" + pr.Patient
	}
	return "Patient"
}

// markEntered puts the platform's mark on what a person entered
// themselves (by is who, from enteredBy): meta.tag
// access.SysProvenance|PatientEntered, meta.source their own resource,
// and no organisation's ODS tag (a person writes for no organisation,
// whatever the resource claims). From anyone else's write (by "") it
// removes the mark, so it can be neither forged nor stripped.
func markEntered(m fhir.Object, by string) {
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		if _, present := m["meta"]; present || by == "" {
			return // absent with nothing to add, or not an object (validation reports it)
		}
		meta = map[string]any{}
		m["meta"] = meta
	}
	old, _ := meta["tag"].([]any)
	tags := make([]any, 0, len(old)+1)
	for _, t := range old {
		if tm, ok := t.(map[string]any); ok && (tm["system"] == access.SysProvenance && tm["code"] == access.PatientEntered || by != "" && tm["system"] == ODSSystem) {
			continue
		}
		tags = append(tags, t)
	}
	if by != "" {
		meta["source"] = by
		tags = append(tags, map[string]any{"system": access.SysProvenance, "code": access.PatientEntered, "display": "Entered by the person or their delegate"})
	}
	if len(tags) == 0 {
		delete(meta, "tag")
	} else {
		meta["tag"] = tags
	}
}
