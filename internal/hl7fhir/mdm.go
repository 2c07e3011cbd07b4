package hl7fhir

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// documentTypes are table 0270's document types (TXA-2).
var documentTypes = map[string]string{
	"AR": "Autopsy report", "CD": "Cardiodiagnostics", "CN": "Consultation", "DI": "Diagnostic imaging",
	"DS": "Discharge summary", "ED": "Emergency department report", "HP": "History and physical examination",
	"OP": "Operative report", "PC": "Psychiatric consultation", "PH": "Psychiatric history and physical examination",
	"PN": "Procedure note", "PR": "Progress note", "SP": "Surgical pathology", "TS": "Transfer summary",
}

// availability maps TXA-19 (table 0273) to DocumentReference.status.
var availability = map[string]string{"AV": "current", "UN": "current", "OB": "superseded", "CA": "entered-in-error"}

// completion maps TXA-17 (table 0271) to DocumentReference.docStatus.
var completion = map[string]string{
	"AU": "final", "LA": "final", "DO": "final", "IP": "preliminary", "IN": "preliminary", "DI": "preliminary",
	"PA": "preliminary",
}

// confidentiality maps TXA-18 to the v3 confidentiality codes.
var confidentiality = map[string]string{
	"U": "unrestricted", "L": "low", "M": "moderate", "N": "normal", "R": "restricted", "V": "very restricted",
}

// mimeTypes maps ED data subtypes (table 0291) to media types.
var mimeTypes = map[string]string{
	"PDF": "application/pdf", "RTF": "application/rtf", "HTML": "text/html", "XML": "application/xml",
	"JPEG": "image/jpeg", "JPG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "TIFF": "image/tiff",
	"PLAIN": "text/plain", "TEXT": "text/plain", "OCTET-STREAM": "application/octet-stream",
	"MSWORD": "application/msword", "DOCX": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

// attachment is one content of a document.
type attachment struct {
	contentType string
	data        []byte
	title       string
}

// mdm maps an MDM event that carries the document (T02 original, T04
// status change, T06 addendum, T08 edit, T10 replacement) to a
// DocumentReference: TXA gives the metadata, the OBX segments the
// content.
func (b *builder) mdm(event string) error {
	pid := b.m.Segment("PID")
	patient, err := b.patient(pid, false)
	if err != nil {
		return err
	}
	encounter := ""
	if pv1 := b.m.Segment("PV1"); pv1 != nil {
		if encounter, err = b.encounter(pv1, patient, "", false); err != nil {
			return err
		}
	}
	txa := b.m.Segment("TXA")
	if txa == nil {
		return errAt(hl7v2.CodeSegmentSequence, "TXA", "no TXA segment")
	}
	docID, ok := b.documentID(txa.Field(12).Rep(1))
	if !ok {
		return errAt(hl7v2.CodeRequiredFieldMissing, "TXA-12", "no unique document number")
	}
	parent, hasParent := b.documentID(txa.Field(13).Rep(1))

	// The content: text lines together, each encapsulated document on
	// its own.
	var lines []string
	var files []attachment
	title := ""
	var firstCode hl7v2.Rep
	for i, obx := range b.m.All("OBX") {
		if i == 0 {
			firstCode = obx.Field(3).Rep(1)
			title = firstCode.Comp(2).String()
		}
		switch strings.ToUpper(obx.Field(2).String()) {
		case "ED":
			if a, ok := encapsulated(obx.Field(5).Rep(1)); ok {
				a.title = obx.Field(3).Rep(1).Comp(2).String()
				files = append(files, a)
			}
		default:
			for _, r := range obx.Field(5).Reps() {
				lines = append(lines, r.Text())
			}
		}
	}
	if title == "" {
		title = documentTypes[strings.ToUpper(txa.Field(2).String())]
	}

	var authors []string
	for _, f := range []int{9, 5} {
		for _, r := range txa.Field(f).Reps() {
			if u, _ := b.practitioner(r); u != "" && !containsString(authors, u) {
				authors = append(authors, u)
			}
		}
		if len(authors) > 0 {
			break
		}
	}
	authenticator, _ := b.practitioner(txa.Field(22).Rep(1))
	org := b.organization(b.ods)
	created := txa.Field(6).String()
	if created == "" {
		created = txa.Field(4).String()
	}
	status := availability[strings.ToUpper(txa.Field(19).String())]
	if status == "" {
		status = "current"
	}

	b.add("DocumentReference|"+docID.System+"|"+docID.Value, "DocumentReference", request{method: "PUT", url: conditional("DocumentReference", docID)}, func(w *jw) {
		w.obj("masterIdentifier")
		w.str("system", docID.System)
		w.str("value", docID.Value)
		w.end()
		w.arr("identifier")
		w.obj("")
		w.str("system", docID.System)
		w.str("value", docID.Value)
		w.end()
		w.end()
		w.str("status", status)
		w.str("docStatus", completion[strings.ToUpper(txa.Field(17).String())])
		typ := strings.ToUpper(txa.Field(2).String())
		var cs []coding
		if typ != "" {
			cs = append(cs, coding{sysV2Prefix + "0270", typ, documentTypes[typ]})
		}
		// The OBX code names the document when it is a standard code
		// (as the SNOMED CT record artifact codes are); a local code there
		// names the content's format.
		if c := b.codingOf(firstCode); c.code != "" && (c.system == sysSNOMED || c.system == sysLOINC) {
			cs = append(cs, c)
		}
		w.concept("type", "", cs...)
		w.ref("subject", patient)
		if v, ok := b.instant(created); ok {
			w.str("date", v)
		}
		w.arr("author")
		for _, u := range authors {
			w.ref("", u)
		}
		w.ref("", org)
		w.end()
		w.ref("authenticator", authenticator)
		w.ref("custodian", org)
		if hasParent {
			code := ""
			switch event {
			case "T10":
				code = "replaces"
			case "T06":
				code = "appends"
			case "T08", "T04":
				code = "transforms"
			}
			if code != "" {
				w.arr("relatesTo")
				w.obj("")
				w.str("code", code)
				// A logical reference: the earlier document may not be
				// here (or may be under another id), and a conditional
				// reference that matched nothing would fail the whole
				// transaction.
				w.obj("target")
				w.str("type", "DocumentReference")
				w.obj("identifier")
				w.str("system", parent.System)
				w.str("value", parent.Value)
				w.end()
				w.end()
				w.end()
				w.end()
			}
		}
		w.str("description", title)
		if label, ok := confidentiality[strings.ToUpper(txa.Field(18).String())]; ok {
			w.arr("securityLabel")
			w.concept("", "", coding{"http://terminology.hl7.org/CodeSystem/v3-Confidentiality", strings.ToUpper(txa.Field(18).String()), label})
			w.end()
		}
		w.arr("content")
		text := strings.TrimSpace(strings.Join(lines, "\n"))
		if text != "" || len(files) == 0 {
			w.obj("")
			w.obj("attachment")
			w.str("contentType", "text/plain")
			w.base64("data", []byte(text))
			w.str("title", title)
			b.writeDateTime(w, "creation", created)
			w.end()
			w.end()
		}
		for _, f := range files {
			w.obj("")
			w.obj("attachment")
			w.str("contentType", f.contentType)
			w.base64("data", f.data)
			w.str("title", f.title)
			b.writeDateTime(w, "creation", created)
			w.end()
			w.end()
		}
		w.end()
		w.obj("context")
		w.arr("encounter")
		w.ref("", encounter)
		w.end()
		w.end()
	})
	return nil
}

// documentID reads an EI (TXA-12, TXA-13) as an identifier.
func (b *builder) documentID(r hl7v2.Rep) (Identifier, bool) {
	v := clean(r.Comp(1).String())
	if v == "" {
		return Identifier{}, false
	}
	auth := hl7v2.HD{Namespace: r.Comp(2).String(), UniversalID: r.Comp(3).String(), UniversalIDType: r.Comp(4).String()}
	return Identifier{System: b.localSystem(auth, "", "document"), Value: v}, true
}

// encapsulated reads an ED value: source^type^subtype^encoding^data.
func encapsulated(r hl7v2.Rep) (attachment, bool) {
	subtype := strings.ToUpper(r.Comp(3).String())
	a := attachment{contentType: mimeTypes[subtype]}
	if a.contentType == "" && strings.Contains(subtype, "/") && validURI(subtype) {
		a.contentType = strings.ToLower(subtype)
	}
	if a.contentType == "" {
		a.contentType = "application/octet-stream"
	}
	data := r.Comp(5).Text()
	var err error
	switch strings.ToUpper(r.Comp(4).String()) {
	case "BASE64":
		a.data, err = base64.StdEncoding.DecodeString(strings.Map(dropSpace, data))
	case "HEX":
		a.data, err = hex.DecodeString(strings.Map(dropSpace, data))
	default: // A: ASCII text
		a.data = []byte(data)
	}
	return a, err == nil && len(a.data) > 0
}

func dropSpace(r rune) rune {
	if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
		return -1
	}
	return r
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
