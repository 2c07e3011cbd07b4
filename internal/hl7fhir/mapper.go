package hl7fhir

import (
	"crypto/sha1"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/London wherever the binary runs

	"github.com/sharedcare/sharedcare/internal/hl7v2"
)

// Options configure a Mapper. The zero value works.
type Options struct {
	// Facilities maps a sending facility as it appears in MSH-4 (its
	// namespace id, MSH-4.1, or universal id, MSH-4.2) to the ODS code of
	// the organisation. Without an entry, MSH-4.1 and then MSH-4.2 are
	// used when they look like an ODS code; a message from a facility
	// with no ODS code is rejected.
	Facilities map[string]string
	// TimeZone is where times without a UTC offset were written; nil
	// means Europe/London, where the senders are.
	TimeZone *time.Location
	// IDBase prefixes the identifier systems of organisations' own
	// numbers (MRNs, visit numbers, order numbers), followed by the ODS
	// code and the kind of number. Empty means
	// "https://sharedcare.example/Id/", as the synthetic generator uses.
	IDBase string
	// CodeBase prefixes the code systems of local codes, followed by the
	// ODS code and the sender's name for its code system. Empty means
	// "https://sharedcare.example/CodeSystem/".
	CodeBase string
}

// Identifier is a business identifier: system and value.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Merge is an A40 merge: the records named by NonSurviving are to be
// merged into the one named by Surviving. Both lists hold every identifier
// the message gave (PID-3 and MRG-1), NHS numbers included; the master
// patient index decides how to find and link the records.
type Merge struct {
	Source       string       `json:"source"` // ODS code of the sending organisation
	Surviving    []Identifier `json:"surviving"`
	NonSurviving []Identifier `json:"nonSurviving"`
}

// Result is what a message maps to: a transaction Bundle, or merges.
type Result struct {
	// Bundle is a FHIR R4 transaction Bundle as JSON, nil for a merge.
	Bundle []byte
	// Entries is the number of entries in Bundle.
	Entries int
	// Merges are the merge instructions of an A40.
	Merges []Merge
	// Source is the ODS code of the sending organisation.
	Source string
}

// Mapper maps messages with one set of Options. It is safe for concurrent
// use.
type Mapper struct {
	opts     Options
	tz       *time.Location
	idBase   string
	codeBase string
}

var london = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC // unreachable with time/tzdata linked in
	}
	return loc
})

// New returns a Mapper for opts.
func New(opts Options) *Mapper {
	mp := &Mapper{opts: opts, tz: opts.TimeZone, idBase: opts.IDBase, codeBase: opts.CodeBase}
	if mp.tz == nil {
		mp.tz = london()
	}
	if mp.idBase == "" {
		mp.idBase = "https://sharedcare.example/Id/"
	}
	if mp.codeBase == "" {
		mp.codeBase = "https://sharedcare.example/CodeSystem/"
	}
	return mp
}

// Map maps m with opts; see Mapper.Map.
func Map(m *hl7v2.Message, opts Options) (*Result, error) { return New(opts).Map(m) }

// Map maps one message. Errors are *hl7v2.Error.
func (mp *Mapper) Map(m *hl7v2.Message) (*Result, error) {
	ods, err := mp.sourceODS(m)
	if err != nil {
		return nil, err
	}
	b := newBuilder(mp, m, ods)
	typ := m.Type()
	switch typ.Code {
	case "ADT":
		switch typ.Trigger {
		case "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A13", "A28", "A31":
			err = b.adt(typ.Trigger)
		case "A40":
			merges, err := b.merges()
			if err != nil {
				return nil, err
			}
			return &Result{Merges: merges, Source: ods}, nil
		default:
			return nil, unsupported(hl7v2.CodeUnsupportedEvent, "ADT^"+typ.Trigger)
		}
	case "ORU":
		if typ.Trigger != "R01" {
			return nil, unsupported(hl7v2.CodeUnsupportedEvent, "ORU^"+typ.Trigger)
		}
		err = b.oru()
	case "MDM":
		switch typ.Trigger {
		case "T02", "T04", "T06", "T08", "T10":
			err = b.mdm(typ.Trigger)
		default:
			return nil, &hl7v2.Error{Code: hl7v2.CodeUnsupportedEvent, Location: "MSH-9",
				Msg: "MDM^" + typ.Trigger + " is not supported: only the events that carry the document (T02, T04, T06, T08, T10) are"}
		}
	default:
		return nil, unsupported(hl7v2.CodeUnsupportedMessageType, typ.Code)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Bundle: b.bundle(), Entries: b.entries, Source: ods}, nil
}

func unsupported(code hl7v2.ErrorCode, what string) error {
	return &hl7v2.Error{Code: code, Location: "MSH-9", Msg: what + " is not supported"}
}

// sourceODS finds the ODS code of the sending facility.
func (mp *Mapper) sourceODS(m *hl7v2.Message) (string, error) {
	f := m.SendingFacility()
	for _, k := range []string{f.Namespace, f.UniversalID} {
		if ods, ok := mp.opts.Facilities[k]; ok && k != "" {
			return ods, nil
		}
	}
	for _, k := range []string{f.Namespace, f.UniversalID} {
		if looksLikeODS(k) {
			return k, nil
		}
	}
	return "", &hl7v2.Error{Code: hl7v2.CodeTableValue, Location: "MSH-4", Reject: true,
		Msg: "the sending facility has no ODS code configured"}
}

// authorityODS is the ODS code an assigning authority's namespace stands
// for, or "" when it names something else (an application, a numbering
// scheme). Namespaces are often application names (ICE, WINPATH) that
// have the shape of ODS codes too, so only the shapes of NHS trust and
// trust site codes (R or T and two or four more) and GP practice codes (a
// letter and five digits) are taken, besides the sender's own code and
// the configured facilities.
func (mp *Mapper) authorityODS(ns, sender string) string {
	if ods, ok := mp.opts.Facilities[ns]; ok && ns != "" {
		return ods
	}
	if ns == sender {
		return ns
	}
	switch len(ns) {
	case 3, 5:
		if (ns[0] == 'R' || ns[0] == 'T') && looksLikeODS(ns) {
			return ns
		}
	case 6:
		if ns[0] >= 'A' && ns[0] <= 'Z' && isDigits(ns[1:]) {
			return ns
		}
	}
	return ""
}

// looksLikeODS reports whether s has the form of an ODS code: three to
// seven upper-case letters and digits, at least one a letter (RHQ, RHQNG,
// C88922). Purely numeric strings are local numbers, not ODS codes.
func looksLikeODS(s string) bool {
	if len(s) < 3 || len(s) > 7 {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return letter
}

// builder assembles the Bundle of one message.
// Entries are written one after the other straight into the Bundle:
// everything an entry refers to is added before the entry is begun, so
// that no entry is written inside another.
type builder struct {
	mp      *Mapper
	m       *hl7v2.Message
	ods     string
	seed    string
	w       jw     // the Bundle, its entry array open
	meta    []byte // every resource's "meta" member
	entries int
	urls    map[string]string // entry key -> fullUrl
	added   map[string]bool
}

func newBuilder(mp *Mapper, m *hl7v2.Message, ods string) *builder {
	b := &builder{
		mp: mp, m: m, ods: ods,
		seed: m.SendingApplication().String() + "|" + m.SendingFacility().String() + "|" + m.ControlID() + "|",
		urls: make(map[string]string, 16), added: make(map[string]bool, 16),
		w: jw{b: make([]byte, 0, 8<<10), stack: make([]frame, 0, 16)},
	}
	b.w.obj("")
	b.w.str("resourceType", "Bundle")
	b.w.str("type", "transaction")
	b.w.arr("entry")
	return b
}

// fullURL is the urn:uuid of the entry with key: a name-based UUID (v5
// layout over SHA-1) of the message and the key.
func (b *builder) fullURL(key string) string {
	if u, ok := b.urls[key]; ok {
		return u
	}
	var buf [256]byte
	h := sha1.Sum(append(append(buf[:0], b.seed...), key...))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 45)
	out = append(out, "urn:uuid:"...)
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[h[i]>>4], hexd[h[i]&0xf])
	}
	u := string(out)
	b.urls[key] = u
	return u
}

// request is an entry's request.
type request struct {
	method, url, ifNoneExist string
}

// conditional builds "Type?identifier=system|value", escaped for FHIR
// search and the URL.
func conditional(typ string, id Identifier) string {
	return typ + "?identifier=" + searchValue(id.System) + "|" + searchValue(id.Value)
}

// criteria is the query part of conditional.
func criteria(id Identifier) string {
	return "identifier=" + searchValue(id.System) + "|" + searchValue(id.Value)
}

// searchValue escapes s for a FHIR search token (\ , | $) and then for a
// URL query, leaving URI punctuation readable.
func searchValue(s string) string {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/@!*'()", c) >= 0
	}
	if plain {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == ',' || c == '|' || c == '$' {
			b.WriteString("%5C")
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~:/@!*'()", c) >= 0:
			b.WriteByte(c)
		default:
			const hexd = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&0xf])
		}
	}
	return b.String()
}

// add writes an entry once per key and returns its fullUrl. body writes
// the resource's members after resourceType and meta.
func (b *builder) add(key, typ string, req request, body func(w *jw)) string {
	u := b.fullURL(key)
	if b.added[key] {
		return u
	}
	b.added[key] = true
	w := &b.w
	w.obj("")
	w.str("fullUrl", u)
	w.obj("resource")
	w.str("resourceType", typ)
	if b.meta == nil {
		var m jw
		m.obj("")
		m.obj("meta")
		m.str("source", sysODS+"|"+b.ods)
		m.arr("tag")
		m.obj("")
		m.str("system", sysODS)
		m.str("code", b.ods)
		m.end()
		m.end()
		m.end()
		b.meta = m.b[1:] // "meta":{...}, the same in every entry
	}
	w.key("")
	w.b = append(w.b, b.meta...)
	body(w)
	w.end()
	w.obj("request")
	w.str("method", req.method)
	w.str("url", req.url)
	w.str("ifNoneExist", req.ifNoneExist)
	w.end()
	w.end()
	b.entries++
	return u
}

// bundle closes the entry array and the Bundle, and returns it.
func (b *builder) bundle() []byte {
	b.w.end()
	b.w.end()
	return b.w.b
}

// errAt is a data error at a place in the message.
func errAt(code hl7v2.ErrorCode, loc, msg string) error {
	return &hl7v2.Error{Code: code, Location: loc, Msg: msg}
}
