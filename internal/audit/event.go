package audit

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one access to or change of the shared record, as the access
// layer sees it. Only Time and Interaction are needed; the rest is recorded
// when known.
type Event struct {
	// Time is when the access happened; zero means when Append was called.
	Time time.Time
	// Action is AuditEvent.action: C, R, U, D or E. Empty: derived from
	// Interaction.
	Action string
	// Interaction is what was done: a FHIR RESTful interaction (read,
	// vread, history, search, create, update, patch, delete, transaction,
	// batch, capabilities), "operation:$name", or a security event
	// (login, logout, break-glass, refused).
	Interaction string
	// Outcome is AuditEvent.outcome: "0" success (the default), "4" minor
	// failure (e.g. access refused), "8" serious failure, "12" major.
	Outcome     string
	OutcomeDesc string

	// The agent: the principal who asked (access.Principal).
	Who      string // stable id, access.Principal.ID()
	Name     string // for people to read
	Role     string
	Org      string // ODS code of the organisation acted for
	ClientID string // the OAuth client
	FHIRUser string // "Practitioner/…", "Patient/…", …
	Address  string // network address the request came from

	// Purpose is the HL7 v3 PurposeOfUse code (TREAT, ETREAT for break
	// glass, HOPERAT, …); Reason is free text, such as why the glass was
	// broken.
	Purpose string
	Reason  string

	// Patients are the ids of the Patients whose record was touched;
	// Entities the other resources, as references ("Observation/1/_history/2").
	Patients []string
	Entities []string
	// Query is a search's query string.
	Query     string
	RequestID string
}

// BreakGlass reports whether the event is emergency access outside the
// usual rules: what a privacy officer reviews first.
func (e *Event) BreakGlass() bool {
	return e.Purpose == "ETREAT" || e.Interaction == "break-glass"
}

// Code systems the AuditEvent uses.
const (
	sysEventType    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysRESTful      = "http://hl7.org/fhir/restful-interaction"
	sysDICOM        = "http://dicom.nema.org/resources/ontology/DCM"
	sysActReason    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysEntityType   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole   = "http://terminology.hl7.org/CodeSystem/object-role"
	sysSourceType   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysRoleClass    = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	sysODS          = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysOAuthClient  = "urn:ietf:params:oauth:client-id"
	sysRequestID    = "urn:sharedcare:request-id"
	sysRole         = "urn:sharedcare:role"
	sysInteractions = "urn:sharedcare:audit-interaction"
)

// restful are the codes of http://hl7.org/fhir/restful-interaction, with
// the action each implies.
var restful = map[string]string{
	"read": "R", "vread": "R", "update": "U", "patch": "U", "delete": "D",
	"history": "R", "history-instance": "R", "history-type": "R", "history-system": "R",
	"create": "C", "search": "E", "search-type": "E", "search-system": "E", "search-compartment": "E",
	"capabilities": "R", "transaction": "E", "batch": "E", "operation": "E",
}

// AuditEvent returns e as a FHIR R4 AuditEvent in RFC 8785 canonical JSON,
// the bytes that are stored and hashed. observer names the node that
// recorded it.
//
// The bytes are hashed into the chain, so they must stay, for every Event,
// those encoding/json followed by jcs wrote when the chain began:
// referenceAuditEvent, in the tests, keeps that code, and
// TestAuditEventEncoding and FuzzAuditEventEncoding hold the two equal.
// They are written by hand, straight from e, because reflection and the
// structs it needed cost 8–10 µs an event, most of the writer's time, on
// cores the requests share. Members are written in RFC 8785's order (by
// name; all are ASCII), and only when encoding/json wrote them: its
// omitempty left out empty strings and lists and absent elements.
func (e *Event) AuditEvent(observer string) ([]byte, error) {
	if e.Interaction == "" {
		return nil, fmt.Errorf("audit: event without an interaction")
	}
	if e.Time.IsZero() {
		return nil, fmt.Errorf("audit: event without a time")
	}
	b := make([]byte, 0, e.sizeHint(observer))

	act := e.Action
	if act == "" {
		act = action(e.Interaction)
	}
	b = appendString(append(b, `{"action":`...), act)

	// The requestor: the person or system who asked.
	b = append(b, `,"agent":[{`...)
	if e.Address != "" {
		b = appendString(append(b, `"network":{"address":`...), e.Address)
		if _, err := netip.ParseAddr(e.Address); err == nil {
			b = append(b, `,"type":"2"},`...) // IP address
		} else {
			b = append(b, `,"type":"1"},`...) // machine name
		}
	}
	b = append(b, `"requestor":true`...)
	if e.Role != "" {
		b = appendCoding(append(b, `,"role":[{"coding":[`...), e.Role, "", sysRole)
		b = append(b, `]}]`...)
	}
	b = append(b, `,"who":`...)
	who := len(b)
	if e.Name != "" {
		b = appendString(append(b, `,"display":`...), e.Name)
	}
	if e.Who != "" {
		b = appendString(append(b, `,"identifier":{"value":`...), e.Who)
		b = append(b, '}')
	}
	if e.FHIRUser != "" {
		b = appendString(append(b, `,"reference":`...), e.FHIRUser)
	}
	b = append(closeObject(b, who), '}')
	// IHE BALP records the organisation and the client application as
	// agents of their own, neither the requestor.
	if e.Org != "" {
		b = append(appendString(append(b, jsonOrgAgent...), e.Org), `}}}`...)
	}
	if e.ClientID != "" {
		b = append(appendString(append(b, jsonClientAgent...), e.ClientID), `}}}`...)
	}
	b = append(b, ']')

	// Each entity is written with a comma after it, the last one's then
	// closing the list.
	if len(e.Patients) > 0 || len(e.Entities) > 0 || e.Query != "" || e.RequestID != "" {
		b = append(b, `,"entity":[`...)
		for _, p := range e.Patients {
			// "Patient/" is ASCII: escaping the rest after it is escaping
			// the whole reference.
			b = appendEscaped(append(b, jsonPatientEntity...), strings.TrimPrefix(p, "Patient/"))
			b = append(b, `"}},`...)
		}
		for _, r := range e.Entities {
			b = append(b, jsonResourceEntity...)
			if r == "" {
				b = append(b, `{}},`...)
			} else {
				b = appendString(append(b, `{"reference":`...), r)
				b = append(b, `}},`...)
			}
		}
		if e.Query != "" {
			b = appendBase64(append(b, `{"query":"`...), e.Query)
			b = append(b, jsonQueryEntity...)
		}
		if e.RequestID != "" {
			b = appendString(append(b, jsonRequestEntity...), e.RequestID)
			b = append(b, `}}},`...)
		}
		b[len(b)-1] = ']'
	}

	b = append(b, `,"outcome":`...)
	if e.Outcome == "" {
		b = append(b, `"0"`...)
	} else {
		b = appendString(b, e.Outcome)
	}
	if e.OutcomeDesc != "" {
		b = appendString(append(b, `,"outcomeDesc":`...), e.OutcomeDesc)
	}
	if e.Purpose != "" || e.Reason != "" {
		b = append(b, `,"purposeOfEvent":[`...)
		purpose := len(b)
		if e.Purpose != "" {
			b = appendCoding(append(b, `,"coding":[`...), e.Purpose, "", sysActReason)
			b = append(b, ']')
		}
		if e.Reason != "" {
			b = appendString(append(b, `,"text":`...), e.Reason)
		}
		b = append(closeObject(b, purpose), ']')
	}
	// RFC 3339 is digits and punctuation that need no escaping.
	b = e.Time.UTC().AppendFormat(append(b, `,"recorded":"`...), time.RFC3339Nano)
	b = append(b, `","resourceType":"AuditEvent","source":{"observer":`...)
	if observer == "" {
		b = append(b, `{}`...)
	} else {
		b = append(appendString(append(b, `{"display":`...), observer), '}')
	}
	b = append(b, jsonSourceType...)
	b = appendEventType(b, e.Interaction)
	return append(b, '}'), nil
}

// sizeHint is a little more than the length of e's AuditEvent, unless its
// strings need escaping: the buffer is then allocated once, and that is
// the only allocation. TestAuditEventEncoding checks it is enough.
func (e *Event) sizeHint(observer string) int {
	const (
		skeleton = 400 // action, requestor, outcome, recorded, resourceType, type, …
		member   = 100 // the most any optional member of the requestor or purpose adds
	)
	n := skeleton + len(jsonSourceType) + len(jsonTypeAuthentication) + 2*len(e.Interaction) + len(observer) +
		len(e.Action) + len(e.Outcome) + len(e.OutcomeDesc) + len(e.Who) + len(e.Name) + len(e.FHIRUser)
	for _, s := range []string{e.Address, e.Role, e.Purpose, e.Reason} {
		if s != "" {
			n += member + len(s)
		}
	}
	if e.Org != "" {
		n += len(jsonOrgAgent) + 5 + len(e.Org)
	}
	if e.ClientID != "" {
		n += len(jsonClientAgent) + 5 + len(e.ClientID)
	}
	for _, p := range e.Patients {
		n += len(jsonPatientEntity) + 5 + len(p)
	}
	for _, r := range e.Entities {
		n += len(jsonResourceEntity) + 20 + len(r)
	}
	if e.Query != "" {
		n += len(jsonQueryEntity) + 12 + base64.StdEncoding.EncodedLen(len(e.Query))
	}
	if e.RequestID != "" {
		n += len(jsonRequestEntity) + 8 + len(e.RequestID)
	}
	return n
}

// The parts of the AuditEvent that never vary, written once.
var (
	jsonOrgAgent = `,{"requestor":false,"type":{"coding":[` + codingJSON("PROV", "healthcare provider", sysRoleClass) +
		`]},"who":{"identifier":{"system":` + stringJSON(sysODS) + `,"value":`
	jsonClientAgent = `,{"requestor":false,"type":{"coding":[` + codingJSON("110150", "Application", sysDICOM) +
		`]},"who":{"identifier":{"system":` + stringJSON(sysOAuthClient) + `,"value":`
	jsonPatientEntity = `{"role":` + codingJSON("1", "Patient", sysObjectRole) +
		`,"type":` + codingJSON("1", "Person", sysEntityType) + `,"what":{"reference":"Patient/`
	jsonResourceEntity = `{"role":` + codingJSON("4", "Domain Resource", sysObjectRole) +
		`,"type":` + codingJSON("2", "System Object", sysEntityType) + `,"what":`
	jsonQueryEntity = `","role":` + codingJSON("24", "Query", sysObjectRole) +
		`,"type":` + codingJSON("2", "System Object", sysEntityType) + `},`
	jsonRequestEntity = `{"description":"X-Request-Id","type":` + codingJSON("4", "Other", sysEntityType) +
		`,"what":{"identifier":{"system":` + stringJSON(sysRequestID) + `,"value":`
	jsonSourceType = `,"type":[` + codingJSON("4", "Application Server", sysSourceType) + `]}`

	jsonTypeREST           = codingJSON("rest", "RESTful Operation", sysEventType)
	jsonTypeAuthentication = codingJSON("110114", "User Authentication", sysDICOM)
	jsonTypeSecurityAlert  = codingJSON("110113", "Security Alert", sysDICOM)
)

func codingJSON(code, display, system string) string {
	return string(appendCoding(nil, code, display, system))
}

func stringJSON(s string) string { return string(appendString(nil, s)) }

// appendEventType writes AuditEvent.subtype and type for an interaction:
// RESTful interactions as IHE BALP does, sign-in and emergency access as
// DICOM security events, anything else under a code system of our own.
func appendEventType(b []byte, interaction string) []byte {
	typ := jsonTypeREST
	b = append(b, `,"subtype":[`...)
	if op, ok := strings.CutPrefix(interaction, "operation:"); ok {
		b = appendCoding(b, "operation", "", sysRESTful)
		b = appendCoding(append(b, ','), op, "", sysInteractions)
	} else if _, ok := restful[interaction]; ok {
		b = appendCoding(b, interaction, "", sysRESTful)
	} else {
		switch interaction {
		case "login":
			typ = jsonTypeAuthentication
			b = appendCoding(b, "110122", "Login", sysDICOM)
		case "logout":
			typ = jsonTypeAuthentication
			b = appendCoding(b, "110123", "Logout", sysDICOM)
		case "break-glass", "refused":
			typ = jsonTypeSecurityAlert
			b = appendCoding(b, interaction, "", sysInteractions)
		default:
			b = appendCoding(b, interaction, "", sysInteractions)
		}
	}
	b = append(b, `],"type":`...)
	return append(b, typ...)
}

func action(interaction string) string {
	if a, ok := restful[interaction]; ok {
		return a
	}
	return "E" // operations, security events
}

// appendCoding writes a Coding, leaving out its empty members.
func appendCoding(b []byte, code, display, system string) []byte {
	start := len(b)
	if code != "" {
		b = appendString(append(b, `,"code":`...), code)
	}
	if display != "" {
		b = appendString(append(b, `,"display":`...), display)
	}
	if system != "" {
		b = appendString(append(b, `,"system":`...), system)
	}
	return closeObject(b, start)
}

// closeObject finishes an object whose members, from start, were each
// written after a comma: with members left out when empty, which is first
// is only known once written, so its comma becomes the opening brace.
func closeObject(b []byte, start int) []byte {
	if len(b) == start {
		return append(b, "{}"...)
	}
	b[start] = '{'
	return append(b, '}')
}

// appendBase64 writes s in standard base64 without first copying all of
// it to a []byte. Chunks of a multiple of three bytes encode to the
// encoding of the whole.
func appendBase64(b []byte, s string) []byte {
	var chunk [3 * 64]byte
	for s != "" {
		n := copy(chunk[:], s)
		b = base64.StdEncoding.AppendEncode(b, chunk[:n])
		s = s[n:]
	}
	return b
}

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	return append(appendEscaped(append(b, '"'), s), '"')
}

// appendEscaped writes s escaped for a JSON string as RFC 8785 does,
// which is ECMAScript's JSON.stringify: '"', '\' and the C0 controls
// escaped, the controls with the short escape where JSON has one and
// \u00xx (lower case hex) where not; everything else, U+007F, U+2028 and
// U+2029 too, as it is. Each byte that is not part of valid UTF-8 becomes
// U+FFFD, as encoding/json wrote it (jcs then turned its \ufffd into the
// character).
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if literal[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

// literal are the bytes appendEscaped copies as they are without looking
// further: ASCII but '"', '\' and the controls. A table, as the loop over
// them is most of the encoder's time.
var literal = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
