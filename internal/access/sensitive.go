package access

import "github.com/sharedcare/sharedcare/internal/fhir"

// The RCGP sensitive set: what GP systems withhold from other
// organisations unless the patient agrees. Production sites load the full
// reference set; these are the concepts the synthetic population uses and
// their closest relatives, each with the HL7 sensitivity it falls under.
var sensitiveSNOMED = map[string]string{
	// assisted conception
	"52637005": "SEX", // in vitro fertilization
	// termination of pregnancy
	"386639001": "SEX", // termination of pregnancy
	// sexually transmitted infection
	"105629000": "STD", // chlamydial infection
	"15628003":  "STD", // gonorrhea
	"76272004":  "STD", // syphilis
	"33839006":  "STD", // genital herpes simplex
	"86406008":  "HIV", // human immunodeficiency virus infection
	// gender reassignment
	"93461009": "SEX", // gender dysphoria
}

// Sealed reports whether a resource's meta.security marks it restricted
// or very restricted: withheld from everyone but the organisation that
// contributed it.
func Sealed(r fhir.Object) bool {
	meta, _ := r["meta"].(map[string]any)
	for _, s := range arr(meta, "security") {
		c := codingOf(s)
		if c.system == SysConfidentiality && (c.code == "R" || c.code == "V") {
			return true
		}
	}
	return false
}

// Label seals a resource coded in the sensitive set that its sender did
// not label: it adds meta.security R and the sensitivity, so the store's
// index (and so every search) withholds it without reading codes again.
// It reports whether it added anything.
func Label(r fhir.Object) bool {
	if Sealed(r) {
		return false
	}
	sens := ""
	for _, k := range []string{"code", "reasonCode", "valueCodeableConcept", "type"} {
		v := r[k]
		vs, ok := v.([]any)
		if !ok {
			vs = []any{v}
		}
		for _, cc := range vs {
			for _, c := range codings(cc) {
				if c.system == SysSNOMED {
					if s, ok := sensitiveSNOMED[c.code]; ok {
						sens = s
					}
				}
			}
		}
	}
	if sens == "" {
		return false
	}
	meta, _ := r["meta"].(map[string]any)
	if meta == nil {
		meta = fhir.Object{}
		r["meta"] = meta
	}
	sec := arr(meta, "security")
	sec = append(sec,
		fhir.Object{"system": SysConfidentiality, "code": "R", "display": "restricted"},
		fhir.Object{"system": SysActCode, "code": sens})
	meta["security"] = sec
	return true
}
